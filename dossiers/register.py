"""The register of titles: who holds which vehicle under which numéro de formule.

The register decides, not the applicant (DESIGN.md "Who decides what is true"). A procedure on a
registered vehicle proves the title: plate + numéro de formule of the current title, and the
applicant's identity as typed in `holder` must be the recorded holder's (a person: last name and
birth date; a company: SIRET). A citizen files for themselves; a dealer files under the holder's
mandate, which an agent checks (the checks never send it straight through). A change of owner
proves the seller's code de cession instead (or the old title's formule number, with the signed
cerfa 15776 that an agent reads). Every failure is the one TITLE_REFUSED error: it never says
whether the plate exists, the formule is wrong or the holder differs (a vehicle of the caller's own
unfinished dossier excepted: dossier_open names that dossier, theirs).

The register changes in one place: `titles_record_issued`, when a dossier's certificate is issued.
"""

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers.cleaning import holder_clean, merge_errors, vehicle_clean
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    HOLDER_FIELDS,
    OPEN_STATES,
    Dossier,
    Holder,
    HolderKind,
    Procedure,
    RegisteredTitle,
    Sale,
    State,
    TitleProofFailure,
    Vehicle,
)
from portal.models import User

# Procedures on a registered vehicle made by its holder: they prove the title.
TITLE_PROCEDURES = frozenset(
    {Procedure.CHANGE_OF_ADDRESS, Procedure.DUPLICATE, Procedure.CORRECTION, Procedure.SALE_DECLARATION}
)
# The fields of the holder a change of address may change; the identity stays the register's.
ADDRESS_FIELDS = ("address_line", "postcode", "city", "department")
# REFERENCE.md §8: the code de cession is kept 3 months after the declared sale.
CODE_VALIDITY = timedelta(days=92)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: read aloud and typed again
CODE_LENGTH = 12


def title_refused() -> InvalidInput:
    """The one refusal of a title proof: the same field, rule and text whatever failed."""
    return InvalidInput(
        [
            FieldError(
                "title",
                "title_not_proved",
                _(
                    "Nous ne pouvons pas établir que vous êtes titulaire de ce véhicule : vérifiez "
                    "l'immatriculation, le numéro de formule (ou le code de cession) et l'identité "
                    "du titulaire, telles qu'elles figurent sur le certificat."
                ),
                _("l'immatriculation et le numéro de formule du certificat en cours"),
            )
        ]
    )


def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if c.isalnum()).upper()


def holder_matches(*, recorded: Holder, given: dict[str, Any]) -> bool:
    """True when the identity typed in `given` is the recorded holder's (accents and case ignored)."""
    if recorded.holder_kind == HolderKind.COMPANY:
        return bool(recorded.siret) and given.get("siret") == recorded.siret
    return (
        recorded.birth_date is not None
        and given.get("birth_date") == recorded.birth_date
        and _folded(given.get("last_name", "")) == _folded(recorded.last_name)
    )


def title_current(*, plate: str, formule_number: str) -> RegisteredTitle | None:
    """The current title of this plate with this formule number, or None (never which one failed)."""
    return (
        RegisteredTitle.objects.select_related("vehicle", "holder")
        .filter(current=True, vehicle__plate=plate, formule_number=formule_number)
        .first()
    )


def title_prove(*, title: dict[str, str], holder: dict[str, Any]) -> RegisteredTitle:
    """The current title proved by plate, formule number and the holder's identity; else refused."""
    found = title_current(plate=title.get("plate", ""), formule_number=title.get("formule_number", ""))
    if found is None or not holder_matches(recorded=found.holder, given=holder):
        raise title_refused()
    return found


def holder_copy(*, holder: Holder, changes: dict[str, Any] | None = None) -> Holder:
    """A new Holder row with `holder`'s values and `changes`: a dossier never shares the register's row."""
    values = {name: getattr(holder, name) for name in HOLDER_FIELDS}
    values.update(changes or {})
    return Holder.objects.create(**values)


def code_de_cession_new() -> str:
    """A fresh code de cession: 12 characters of an unambiguous alphabet (about 60 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def sale_for_code(*, plate: str, code: str, now: datetime | None = None) -> Sale:
    """The seller's submitted sale declaration of this plate's registered vehicle carrying `code`,
    unused and unexpired, locked for the buyer's dossier to take; else the one title refusal."""
    now = now or timezone.now()
    sale = (
        Sale.objects.select_for_update()
        .filter(
            dossier__procedure=Procedure.SALE_DECLARATION,
            dossier__vehicle__plate=plate,
            dossier__vehicle__titles__current=True,
            code_de_cession=code,
            code_used_by__isnull=True,
            code_expires_at__gt=now,
        )
        # A draft declares nothing yet (its seller may still abandon it), a refused or withdrawn one
        # nothing any more.
        .exclude(dossier__state__in=(State.DRAFT, State.REJECTED, State.WITHDRAWN))
        .select_related("dossier__vehicle")
        .first()
    )
    if not code or sale is None:
        raise title_refused()
    return sale


@transaction.atomic
def title_record(
    *,
    vehicle: Vehicle,
    holder: Holder,
    formule_number: str,
    issued_at: datetime | None = None,
    dossier: Dossier | None = None,
    holder_is_owner: bool = True,
    validity_until: date | None = None,
) -> RegisteredTitle:
    """Make a new current title of `vehicle` (the previous one stops being current)."""
    RegisteredTitle.objects.filter(vehicle=vehicle, current=True).update(current=False)
    return RegisteredTitle.objects.create(
        vehicle=vehicle,
        holder=holder_copy(holder=holder),
        formule_number=formule_number,
        issued_at=issued_at or timezone.now(),
        current=True,
        dossier=dossier,
        holder_is_owner=holder_is_owner,
        validity_until=validity_until,
    )


FORMULE_RE = re.compile(r"[0-9]{4}[A-Z]{2}[0-9]{5}")


def formule_number_clean(value: str) -> str:
    """A numéro de formule of docs/domain/REFERENCE.md §2: 4-digit year, 2 letters, 5 digits."""
    formule = re.sub(r"\s", "", value or "").upper()
    if not FORMULE_RE.fullmatch(formule):
        raise InvalidInput(
            [FieldError("formule_number", "formule_format", _("Numéro de formule mal formé."), "2026AB12345")]
        )
    return formule


def formule_number_before_portal(value: str) -> str:
    """A formule number of a title issued before the portal: the portal numbers its certificates
    from its own yearly counter (issuing.serials_allocate), so a loaded title of this year or a
    later one could meet a serial it issues."""
    formule = formule_number_clean(value)
    if int(formule[:4]) >= timezone.localdate().year:
        raise InvalidInput(
            [
                FieldError(
                    "formule_number",
                    "formule_year",
                    _("Un titre du fichier du registre est antérieur à l'année en cours."),
                    _("une année antérieure à %(year)d") % {"year": timezone.localdate().year},
                )
            ]
        )
    return formule


def register_entry_load(
    *,
    vehicle: dict[str, Any],
    holder: dict[str, Any],
    formule_number: str,
    issued_at: datetime | None = None,
    holder_is_owner: bool = True,
    validity_until: date | None = None,
) -> tuple[RegisteredTitle, bool]:
    """One vehicle registered before the portal, with its current title; idempotent on the VIN.

    A VIN already in the register is left as it is (False): the register file never overwrites
    what the portal recorded since. The plate is required; the values go through the same rules
    as a dossier's (cleaning.vehicle_clean, holder_clean)."""
    vehicle_data, holder_data, formule = merge_errors(
        lambda: vehicle_clean(vehicle),
        lambda: holder_clean(holder),
        lambda: formule_number_before_portal(formule_number),
    )
    if not vehicle_data.get("plate"):
        raise InvalidInput(
            [FieldError("vehicle.plate", "required", _("Ce champ est obligatoire."), "AA-123-AA")]
        )
    with transaction.atomic():
        existing = RegisteredTitle.objects.filter(vehicle__vin=vehicle_data["vin"], current=True).first()
        if existing is not None:
            return existing, False
        vehicle_row = Vehicle.objects.create(**vehicle_data)
        holder_row = Holder.objects.create(**holder_data)
        title = RegisteredTitle.objects.create(
            vehicle=vehicle_row,
            holder=holder_row,
            formule_number=formule,
            issued_at=issued_at or timezone.now(),
            current=True,
            holder_is_owner=holder_is_owner,
            validity_until=validity_until,
        )
    return title, True


def titles_record_issued(*, serials: dict[int, str], issued_at: datetime | None = None) -> int:
    """The register follows the certificates just issued: for each dossier id → its certificate's
    serial (the new numéro de formule), the dossier's holder becomes the vehicle's current title,
    with the dossier's leasing (C.4a) and validity (H) as printed on that certificate.
    A sale declaration issues no certificate and so changes nothing. Safe to run twice."""
    done = set(
        RegisteredTitle.objects.filter(dossier_id__in=list(serials)).values_list("dossier_id", flat=True)
    )
    dossiers = list(
        Dossier.objects.filter(pk__in=[pk for pk in serials if pk not in done])
        .select_related("holder")
        .order_by("pk")
    )
    if not dossiers:
        return 0
    # Set-based, as issuing is: one UPDATE, one insert of the holders' copies, one of the titles.
    now = issued_at or timezone.now()
    RegisteredTitle.objects.filter(
        vehicle_id__in={dossier.vehicle_id for dossier in dossiers}, current=True
    ).update(current=False)
    # Two certificates of one vehicle in a batch: the later one is the current title.
    latest = {dossier.vehicle_id: dossier.pk for dossier in dossiers}
    holders = Holder.objects.bulk_create(
        [Holder(**{name: getattr(dossier.holder, name) for name in HOLDER_FIELDS}) for dossier in dossiers]
    )
    RegisteredTitle.objects.bulk_create(
        [
            RegisteredTitle(
                vehicle_id=dossier.vehicle_id,
                holder=holder,
                formule_number=serials[dossier.pk],
                issued_at=now,
                current=latest[dossier.vehicle_id] == dossier.pk,
                dossier=dossier,
                holder_is_owner=dossier.holder_is_owner,
                validity_until=dossier.validity_until,
            )
            for dossier, holder in zip(dossiers, holders, strict=True)
        ]
    )
    return len(dossiers)


# Title proofs (plate with formule number, or code de cession) the register may refuse, per hour,
# by one user or on one plate, before further tries are refused without asking the register.
TITLE_PROOF_MAX_FAILURES = 10
TITLE_PROOF_WINDOW = timedelta(hours=1)
T = TypeVar("T")


def _plate_key(plate: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(plate or "").upper())[:20]


def _title_proof_guard(*, user: User, plate: str) -> None:
    """InvalidInput once too many title proofs failed lately for `user` or on `plate`."""
    since = timezone.now() - TITLE_PROOF_WINDOW
    failures = TitleProofFailure.objects.filter(created_at__gte=since)
    who = Q(user=user) | Q(plate=plate) if plate else Q(user=user)
    if failures.filter(who).count() >= TITLE_PROOF_MAX_FAILURES:
        raise InvalidInput(
            [
                FieldError(
                    "title",
                    "too_many_attempts",
                    _(
                        "Trop d'essais infructueux pour ce véhicule : pour protéger les titulaires, "
                        "réessayez dans une heure, en recopiant l'immatriculation, le numéro de "
                        "formule ou le code de cession exactement comme ils figurent sur les documents."
                    ),
                    _("un nouvel essai dans une heure"),
                )
            ]
        )


def title_proof_limited(*, user: User, plate: object, prove: Callable[[], T]) -> T:
    """`prove()` (a check or a write that proves a title: plate with formule number, or code de
    cession), unless too many proofs failed lately for `user` or on `plate` (InvalidInput
    too_many_attempts, `prove` not called); a refusal of the register (title_not_proved) is counted,
    and reads dossier_open when the vehicle is that of the user's own unfinished dossier.
    Called outside any transaction, so that the count survives the refusal."""
    key = _plate_key(plate)
    _title_proof_guard(user=user, plate=key)
    try:
        return prove()
    except InvalidInput as exc:
        if any(error.rule == "title_not_proved" for error in exc.errors):
            # Counted in every case: the message differs for one's own open dossier, the limit does not.
            TitleProofFailure.objects.create(user=user, plate=key)
            own = _own_open_dossier(user=user, plate=key)
            if own is not None:
                raise dossier_open(dossier=own) from exc
        raise


def _own_open_dossier(*, user: User, plate: str) -> Dossier | None:
    """`user`'s own unfinished dossier on the vehicle of `plate`, if any: the register changes only
    once it is decided (a change of owner names the buyer only then). Never another person's."""
    if not plate:
        return None
    mine = (
        Dossier.objects.filter(Q(applicant=user) | Q(filed_by=user), state__in=OPEN_STATES)
        .filter(vehicle__plate__isnull=False)
        .select_related("vehicle")
        .order_by("-pk")
    )
    return next((d for d in mine if _plate_key(d.vehicle.plate) == plate), None)


def dossier_open(*, dossier: Dossier) -> InvalidInput:
    """The refusal of a title proof on a vehicle the caller already has a dossier in progress for."""
    return InvalidInput(
        [
            FieldError(
                "title",
                "dossier_open",
                _(
                    "Vous avez déjà un dossier en cours pour ce véhicule (%(reference)s, "
                    "%(procedure)s) : le registre ne sera mis à jour qu'une fois ce dossier traité. "
                    "Suivez-le depuis Mon espace ; vous pourrez faire cette démarche ensuite."
                )
                % {"reference": dossier.reference, "procedure": dossier.get_procedure_display()},
                _("le traitement du dossier %(reference)s") % {"reference": dossier.reference},
            )
        ]
    )
