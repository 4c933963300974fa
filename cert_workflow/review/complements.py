"""Complements: what an agent may ask for, the applicant's deadline, and the answer that queues
the dossier again."""

import calendar
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.models import ComplementRequest
from dossiers import states
from dossiers.models import DocumentKind, Dossier, State
from dossiers.transitions import dossier_transition
from portal.models import User

# A dossier whose applicant answered a complement request comes back ahead of new work.
COMPLEMENT_PRIORITY = 10

# French labels of the docs/domain/FIELDS.md names an agent may ask to be corrected, with the certificate code.
_VEHICLE_FIELD_LABELS = {
    "vin": gettext_lazy("E — VIN"),
    "plate": gettext_lazy("A — Immatriculation"),
    "first_registration_date": gettext_lazy("B — Date de première immatriculation"),
    "make": gettext_lazy("D.1 — Marque"),
    "type_variant_version": gettext_lazy("D.2 — Type variante version"),
    "cnit": gettext_lazy("D.2.1 — CNIT"),
    "commercial_name": gettext_lazy("D.3 — Dénomination commerciale"),
    "max_mass_kg": gettext_lazy("F.1 — Masse max techniquement admissible"),
    "ptac_kg": gettext_lazy("F.2 — PTAC"),
    "ptra_kg": gettext_lazy("F.3 — PTRA"),
    "mass_kg": gettext_lazy("G — Masse en service"),
    "empty_mass_kg": gettext_lazy("G.1 — Poids à vide national"),
    "eu_category": gettext_lazy("J — Catégorie CE"),
    "genre": gettext_lazy("J.1 — Genre national"),
    "eu_body": gettext_lazy("J.2 — Carrosserie CE"),
    "body": gettext_lazy("J.3 — Carrosserie nationale"),
    "approval_number": gettext_lazy("K — Numéro de réception"),
    "displacement_cm3": gettext_lazy("P.1 — Cylindrée"),
    "power_kw": gettext_lazy("P.2 — Puissance nette max"),
    "energy": gettext_lazy("P.3 — Énergie"),
    "fiscal_power": gettext_lazy("P.6 — Puissance administrative"),
    "seats": gettext_lazy("S.1 — Places assises"),
    "standing_places": gettext_lazy("S.2 — Places debout"),
    "co2_g_km": gettext_lazy("V.7 — CO2"),
    "euro_class": gettext_lazy("V.9 — Classe environnementale"),
}
_HOLDER_FIELD_LABELS = {
    "holder_kind": gettext_lazy("Type de titulaire"),
    "last_name": gettext_lazy("C.1 — Nom"),
    "first_names": gettext_lazy("C.1 — Prénoms"),
    "birth_date": gettext_lazy("Date de naissance"),
    "company_name": gettext_lazy("C.1 — Raison sociale"),
    "siret": gettext_lazy("SIRET"),
    "email": gettext_lazy("Courriel"),
    "address_line": gettext_lazy("C.3 — Adresse"),
    "postcode": gettext_lazy("C.3 — Code postal"),
    "city": gettext_lazy("C.3 — Commune"),
    "department": gettext_lazy("Département"),
}


VEHICLE_FIELDS = tuple(_VEHICLE_FIELD_LABELS)
HOLDER_FIELDS = tuple(_HOLDER_FIELD_LABELS)


def document_items() -> list[tuple[str, str]]:
    """The document kinds a complement request may ask for, with their French labels."""
    return [(value, str(label)) for value, label in DocumentKind.choices]


def field_items() -> list[tuple[str, str]]:
    """The vehicle and holder fields (docs/domain/FIELDS.md names) an agent may ask to be corrected."""
    return [(name, str(label)) for name, label in {**_VEHICLE_FIELD_LABELS, **_HOLDER_FIELD_LABELS}.items()]


def complement_items() -> list[tuple[str, str]]:
    """What a complement request may ask for: document kinds, then vehicle and holder fields."""
    return document_items() + field_items()


def complement_deadline(*, now: datetime) -> datetime:
    """The end (local time) of the same day one month after `now`, clamped to the month's last day."""
    local = timezone.localtime(now)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return timezone.make_aware(datetime(year, month, day, 23, 59, 59))


def complement_answer(*, dossier: Dossier, actor: User) -> Dossier:
    """The applicant answered the open complement request: the dossier is queued again in the
    centre that asked, ahead of new work (priority at least COMPLEMENT_PRIORITY)."""
    if actor.role not in states.OWNER_ROLES:
        raise PermissionDenied(_("Seul le demandeur répond à une demande de complément."))
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        request = (
            ComplementRequest.objects.select_for_update()
            .select_related("cert")
            .filter(dossier=locked, answered_at__isnull=True, expired_at__isnull=True)
            .first()
        )
        if locked.state != State.AWAITING_COMPLEMENT or request is None:
            raise states.TransitionNotAllowed(locked.state, State.QUEUED, states.role_of(actor))
        now = timezone.now()
        request.answered_at = now
        request.save(update_fields=["answered_at"])
        return dossier_transition(
            dossier=dossier,
            to=State.QUEUED,
            actor=actor,
            data={"complement_request": request.pk},
            changes={"cert": request.cert, "priority": max(locked.priority, COMPLEMENT_PRIORITY)},
        )
