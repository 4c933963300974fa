"""Writes of a dossier's content: creation, fees, submission, withdrawal, payments, mentions.

A change of state goes through dossiers.transitions, the agent's claim through dossiers.claim, an
uploaded document through dossiers.documents. Views, API, tasks and commands call these; nothing
else writes.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers import fees as fees_module
from dossiers import states, validators
from dossiers.cleaning import (
    dossier_facts_clean,
    holder_clean,
    merge_errors,
    part_clean,
    vehicle_clean,
)
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    Dossier,
    Holder,
    Payment,
    Procedure,
    Sale,
    State,
    TitleMention,
    Vehicle,
)
from dossiers.sequences import counter_next
from dossiers.transitions import dossier_transition, event_record
from portal.models import Role, User

# Procedures that put a new vehicle on French roads: they pay the malus (Y.3).
FIRST_IN_FRANCE = {Procedure.FIRST_REGISTRATION, Procedure.IMPORT}
# Procedures that produce no new certificate and so pay nothing.
FREE_PROCEDURES = {Procedure.SALE_DECLARATION, Procedure.CHANGE_OF_ADDRESS, Procedure.CORRECTION}


def reference_next(*, on: date | None = None) -> str:
    """A new dossier reference, CG-<year>-<7 digits>, never handed out twice."""
    year = (on or timezone.localdate()).year
    return f"CG-{year}-{counter_next(f'reference-{year}'):07d}"


def _plate_required() -> InvalidInput:
    return InvalidInput(
        [
            FieldError(
                "vehicle.plate",
                "required",
                _("L'immatriculation actuelle est obligatoire pour cette démarche."),
                "AA-123-AA",
            )
        ]
    )


def _plate_clean(*, procedure: Any, vehicle: Any) -> None:
    """A procedure on a registered vehicle names its plate unless the register knows its VIN.

    Checked with the other fields, on the raw input, so that the first answer lists every error."""
    if procedure not in Procedure.values or procedure in FIRST_IN_FRANCE or not isinstance(vehicle, dict):
        return
    plate, vin = vehicle.get("plate"), vehicle.get("vin")
    if plate is not None and not (isinstance(plate, str) and not plate.strip()):
        return  # given: vehicle_clean says whether it is a plate
    try:
        # Only a well-formed VIN is looked up: vehicle_clean reports the others.
        vin = validators.validate_vin(vin) if isinstance(vin, str) else None
    except ValidationError:
        vin = None
    if vin is None or not Vehicle.objects.filter(vin=vin).exists():
        raise _plate_required()


def _vehicle_for(*, procedure: str, clean: dict[str, Any]) -> Vehicle:
    existing = Vehicle.objects.filter(vin=clean["vin"]).first()
    if procedure in FIRST_IN_FRANCE:
        if existing is not None and existing.plate:
            raise InvalidInput(
                [
                    FieldError(
                        "vehicle.vin",
                        "vin_already_registered",
                        _(
                            "Ce VIN est déjà immatriculé (%(plate)s) : "
                            "ce n'est pas une première immatriculation."
                        )
                        % {"plate": existing.plate},
                        _("le VIN d'un véhicule jamais immatriculé en France"),
                    )
                ]
            )
        if existing is not None:
            return existing
        return Vehicle.objects.create(**clean)
    if existing is not None:
        return existing
    if not clean.get("plate"):  # the VIN's vehicle went away since _plate_clean looked
        raise _plate_required()
    return Vehicle.objects.create(**clean)


def dossier_create(
    *,
    procedure: str,
    vehicle: dict[str, Any] | None,
    holder: dict[str, Any] | None,
    filed_by: User,
    applicant: User | None = None,
    facts: dict[str, Any] | None = None,
    priority: int = 0,
) -> Dossier:
    """Create a draft dossier with its vehicle and holder, or raise InvalidInput and write nothing.

    `facts` are the procedure's own inputs (cleaning.PROCEDURE_FACTS: sale, duplicate_reason,
    holder_is_owner, validity_until); any other key is refused as an unknown field. Every error of
    the procedure, vehicle, holder and facts is raised at once."""
    if filed_by.role not in (Role.CITIZEN, Role.DEALER):
        raise InvalidInput(
            [
                FieldError(
                    "procedure",
                    "role",
                    _("Seuls les usagers et les professionnels habilités déposent des dossiers."),
                )
            ]
        )

    def procedure_clean() -> str:
        # Any JSON value may come here: a list or an object is an unknown procedure too.
        if not isinstance(procedure, str) or procedure not in Procedure.values:
            raise InvalidInput(
                [FieldError("procedure", "choice", _("Démarche inconnue."), ", ".join(Procedure.values))]
            )
        return procedure

    _procedure, vehicle_data, holder_data, facts_data, _plate = merge_errors(
        procedure_clean,
        lambda: part_clean(vehicle, name="vehicle", allowed=VEHICLE_FIELDS, clean=vehicle_clean),
        lambda: part_clean(holder, name="holder", allowed=HOLDER_FIELDS, clean=holder_clean),
        lambda: dossier_facts_clean(procedure=procedure, facts=facts or {}),
        lambda: _plate_clean(procedure=procedure, vehicle=vehicle),
    )
    sale_data = facts_data.pop("sale", None)
    if filed_by.role == Role.CITIZEN:
        applicant = filed_by
    organisation = filed_by.organisation if filed_by.role == Role.DEALER else None

    with transaction.atomic():
        try:
            with transaction.atomic():
                vehicle_row = _vehicle_for(procedure=procedure, clean=vehicle_data)
        except IntegrityError as exc:  # a concurrent request created the same VIN or plate
            raise InvalidInput(
                [
                    FieldError(
                        "vehicle.vin",
                        "vin_duplicate",
                        _("Ce véhicule est en cours d'enregistrement par ailleurs."),
                    )
                ]
            ) from exc
        holder_row = Holder.objects.create(**holder_data)
        dossier = Dossier.objects.create(
            reference=reference_next(),
            procedure=procedure,
            state=State.DRAFT,
            applicant=applicant,
            filed_by=filed_by,
            organisation=organisation,
            vehicle=vehicle_row,
            holder=holder_row,
            priority=priority,
            due_at=timezone.now() + states.clock(State.DRAFT),
            **facts_data,
        )
        if sale_data is not None:
            Sale.objects.create(dossier=dossier, **sale_data)
        event_record(dossier=dossier, actor=filed_by, action="created", to_state=State.DRAFT)
    return dossier


def title_mentions_set(*, dossier: Dossier, mentions: list[str]) -> list[TitleMention]:
    """Replace the dossier's mentions Z.1–Z.4 (the register's or an agent's, never the applicant's)."""
    texts = [text.strip() for text in mentions if text and text.strip()]
    if len(texts) > 4:
        raise InvalidInput([FieldError("mentions", "max_items", _("Quatre mentions au plus (Z.1 à Z.4)."))])
    with transaction.atomic():
        TitleMention.objects.filter(dossier=dossier).delete()
        return TitleMention.objects.bulk_create(
            [TitleMention(dossier=dossier, position=n, text=text) for n, text in enumerate(texts, start=1)]
        )


def payment_record(
    *,
    dossier: Dossier,
    amount: Decimal,
    provider: str,
    provider_reference: str,
    paid_at: datetime | None = None,
) -> Payment:
    """Record a payment confirmed by a payment provider; a reference seen before records nothing new.

    The only writer of Payment: an applicant never declares a payment, the provider confirms it."""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise InvalidInput([FieldError("amount", "range", _("Le montant doit être positif."), "> 0")])
    with transaction.atomic():
        payment, created = Payment.objects.get_or_create(
            provider_reference=provider_reference,
            defaults={
                "dossier": dossier,
                "amount": amount,
                "provider": provider,
                "paid_at": paid_at or timezone.now(),
            },
        )
        if created:
            event_record(
                dossier=dossier,
                actor=None,
                action="payment_recorded",
                data={"amount": str(amount), "provider": provider, "provider_reference": provider_reference},
            )
        elif payment.dossier_id != dossier.pk:
            raise InvalidInput(
                [
                    FieldError(
                        "provider_reference",
                        "payment_other_dossier",
                        _("Cette référence de paiement appartient à un autre dossier."),
                    )
                ]
            )
    return payment


def dossier_fees(*, dossier: Dossier, on: date | None = None) -> fees_module.Fees:
    """The fees Y.1–Y.6 owed for this dossier's procedure, vehicle and holder on date `on`."""
    on = on or timezone.localdate()
    vehicle = dossier.vehicle
    age = None
    if vehicle.first_registration_date:
        age = (on - vehicle.first_registration_date).days // 365
    computed = fees_module.compute_fees(
        fiscal_power=vehicle.fiscal_power,
        energy=vehicle.energy,
        genre=vehicle.genre,
        co2_g_km=vehicle.co2_g_km,
        mass_kg=vehicle.mass_kg,
        ptac_kg=vehicle.ptac_kg,
        department=dossier.holder.department,
        on=on,
        first_registration_in_france=dossier.procedure in FIRST_IN_FRANCE,
        vehicle_age_years=age or 0,
    )
    if dossier.procedure in FREE_PROCEDURES:
        zero = Decimal("0.00")
        return fees_module.Fees(
            y1=zero, y2=zero, y3=zero, y4=zero, y5=zero, y6=zero, notes=(_("Démarche gratuite."),)
        )
    if dossier.procedure == Procedure.DUPLICATE:
        # The regional tax of a duplicate is disputed in the sources (?): only the fixed parts here.
        y6 = computed.y4 + computed.y5
        zero = Decimal("0.00")
        return fees_module.Fees(
            y1=zero,
            y2=zero,
            y3=zero,
            y4=computed.y4,
            y5=computed.y5,
            y6=y6,
            notes=(_("Duplicata : taxe fixe et redevance d'acheminement seulement."),),
        )
    return computed


def dossier_submit(*, dossier: Dossier, actor: User) -> Dossier:
    """Submit a draft: fees computed and frozen on the dossier, checks start after commit."""
    try:
        owed = dossier_fees(dossier=dossier)
    except fees_module.FeesUnavailable as exc:
        raise InvalidInput([FieldError("fees", "fees_unavailable", str(exc))]) from exc
    changes = {f"y{i}": getattr(owed, f"y{i}") for i in range(1, 7)}
    return dossier_transition(
        dossier=dossier,
        to=State.SUBMITTED,
        actor=actor,
        changes=changes,
        data={"fee_notes": list(getattr(owed, "notes", ()))},
    )


def dossier_withdraw(*, dossier: Dossier, actor: User, reason: str = "") -> Dossier:
    """The applicant abandons their dossier."""
    return dossier_transition(dossier=dossier, to=State.WITHDRAWN, actor=actor, reason=reason)
