"""Writes of a dossier's content: creation, fees, submission, withdrawal, payments, mentions.

A change of state goes through dossiers.transitions, the agent's claim through dossiers.claim, an
uploaded document through dossiers.documents. Views, API, tasks and commands call these; nothing
else writes.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers import fees as fees_module
from dossiers import register, states
from dossiers.cleaning import (
    DEALER_FACTS,
    DEALER_REQUIRED_FACTS,
    PROCEDURE_FACTS,
    VEHICLE_PROCEDURES,
    dossier_facts_clean,
    holder_clean,
    merge_errors,
    part_clean,
    vehicle_clean,
)
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    FINAL_STATES,
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
    return references_reserve(1, on=on)[0]


def references_reserve(count: int, *, on: date | None = None) -> list[str]:
    """`count` new dossier references in a row (one counter reservation), never handed out twice."""
    year = (on or timezone.localdate()).year
    last = counter_next(f"reference-{year}", count=count)
    return [f"CG-{year}-{number:07d}" for number in range(last - count + 1, last + 1)]


def _vin_unavailable() -> InvalidInput:
    # Says neither the plate nor the holder nor whose dossier holds the VIN.
    return InvalidInput(
        [
            FieldError(
                "vehicle.vin",
                "vin_unavailable",
                _(
                    "Ce VIN ne peut pas faire l'objet d'une première immatriculation ici : il est "
                    "déjà immatriculé ou en cours d'immatriculation."
                ),
                _("le VIN d'un véhicule jamais immatriculé en France"),
            )
        ]
    )


def _new_vehicle(*, clean: dict[str, Any]) -> Vehicle:
    """The vehicle of a first registration or an import: a VIN the register does not know.

    A VIN with a plate, a title or an open dossier is refused; a row left by closed dossiers only
    (rejected, withdrawn: nobody is using it, their documents keep their frozen values) takes the
    new data. So a dossier never reads nor overwrites another's vehicle data."""
    existing = Vehicle.objects.select_for_update().filter(vin=clean["vin"]).first()
    if existing is None:
        return Vehicle.objects.create(**clean)
    if (
        existing.plate
        or existing.titles.exists()
        or existing.dossiers.exclude(state__in=FINAL_STATES).exists()
        or existing.dossiers.filter(state=State.ISSUED).exists()
    ):
        raise _vin_unavailable()
    for name, value in clean.items():
        setattr(existing, name, value)
    existing.save(update_fields=list(clean))
    return existing


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _input_refused(field: str, rule: str, message: str, expected: str = "") -> InvalidInput:
    return InvalidInput([FieldError(field, rule, message, expected)])


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

    `facts` are the procedure's own inputs (cleaning.PROCEDURE_FACTS: title, sale, duplicate_reason,
    and, from a dealer for a new vehicle, holder_is_owner and validity_until; for a first
    registration also invoice_date, mandate_reference and external_ref, the first two required of a
    dealer: cleaning.DEALER_REQUIRED_FACTS); any other key is refused as an unknown field. A registered vehicle's leasing and validity are its title's. Only a first
    registration or an import sends a vehicle (never its plate); the other procedures prove a title
    (dossiers.register) and take the vehicle from the register. Every input error is raised at once."""
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

    # Any JSON value may come as the procedure: only a known name is looked up in the tables below.
    known = procedure if isinstance(procedure, str) and procedure in Procedure.values else None

    def procedure_clean() -> str:
        # Any JSON value may come here: a list or an object is an unknown procedure too.
        if not isinstance(procedure, str) or procedure not in Procedure.values:
            raise InvalidInput(
                [FieldError("procedure", "choice", _("Démarche inconnue."), ", ".join(Procedure.values))]
            )
        return procedure

    def vehicle_part() -> dict[str, Any] | None:
        if known is None:
            return None  # which vehicle input applies depends on the procedure, refused above
        if known not in VEHICLE_PROCEDURES:
            if vehicle is not None:
                raise _input_refused(
                    "vehicle",
                    "unknown_field",
                    _("Le véhicule d'une démarche sur un véhicule immatriculé vient du registre."),
                    "title",
                )
            return None
        clean = part_clean(vehicle, name="vehicle", allowed=VEHICLE_FIELDS, clean=vehicle_clean)
        if clean.get("plate"):
            raise _input_refused(
                "vehicle.plate",
                "plate_assigned",
                _("L'immatriculation est attribuée dans la série nationale, elle ne se choisit pas."),
                _("aucune immatriculation"),
            )
        return clean

    def title_required() -> None:
        if known in PROCEDURE_FACTS and "title" in PROCEDURE_FACTS[known] and "title" not in (facts or {}):
            raise _input_refused(
                "title",
                "required",
                _("L'immatriculation et le numéro de formule du certificat en cours sont obligatoires."),
                "plate, formule_number",
            )

    def dealer_facts() -> None:
        # A new vehicle's leasing and validity are the dealer's certificate of conformity or
        # contract; a citizen has no such document, and a registered vehicle's are its title's.
        if known in VEHICLE_PROCEDURES and filed_by.role != Role.DEALER:
            # A fact the procedure does not take at all is already an unknown field.
            sent = [name for name in DEALER_FACTS if name in (facts or {}) and name in PROCEDURE_FACTS[known]]
            if sent:
                raise InvalidInput(
                    [
                        FieldError(
                            name,
                            "dealer_only",
                            _(
                                "Seul le professionnel habilité déclare ce fait, d'après le "
                                "certificat de conformité ou le contrat du véhicule."
                            ),
                        )
                        for name in sent
                    ]
                )

    def dealer_required() -> None:
        # A dealer registers a sale it invoiced, in the name of a holder who gave it a mandate.
        if known != Procedure.FIRST_REGISTRATION or filed_by.role != Role.DEALER:
            return
        messages = {
            "invoice_date": (_("La date de facture est obligatoire."), "AAAA-MM-JJ"),
            "mandate_reference": (
                _("La référence du mandat (cerfa 13757) est obligatoire."),
                _("un texte de 60 caractères au plus"),
            ),
        }
        given = facts or {}
        # Absent, null or blank; a value of the wrong type is dossier_facts_clean's to refuse.
        missing = [name for name in DEALER_REQUIRED_FACTS if given.get(name) is None or _blank(given[name])]
        if missing:
            raise InvalidInput([FieldError(name, "required", *messages[name]) for name in missing])

    _procedure, vehicle_data, holder_data, facts_data, _title, _dealer, _required = merge_errors(
        procedure_clean,
        vehicle_part,
        lambda: part_clean(holder, name="holder", allowed=HOLDER_FIELDS, clean=holder_clean),
        lambda: dossier_facts_clean(procedure=procedure, facts=facts or {}),
        title_required,
        dealer_facts,
        dealer_required,
    )
    sale_data = facts_data.pop("sale", None)
    title_data = facts_data.pop("title", None)
    if filed_by.role == Role.CITIZEN:
        applicant = filed_by
    organisation = filed_by.organisation if filed_by.role == Role.DEALER else None

    with transaction.atomic():
        code_source = None
        if procedure in VEHICLE_PROCEDURES:
            try:
                with transaction.atomic():
                    vehicle_row = _new_vehicle(clean=vehicle_data)
            except IntegrityError as exc:  # a concurrent request created the same VIN
                raise _vin_unavailable() from exc
            holder_row = Holder.objects.create(**holder_data)
        elif procedure == Procedure.CHANGE_OF_OWNER:
            code = (sale_data or {}).get("code_de_cession", "")
            if code:
                code_source = register.sale_for_code(plate=title_data["plate"], code=code)
                vehicle_row = code_source.dossier.vehicle
            elif title_data["formule_number"]:
                # The buyer holds the crossed-out title and the signed cerfa 15776: an agent reads them.
                found = register.title_current(
                    plate=title_data["plate"], formule_number=title_data["formule_number"]
                )
                if found is None:
                    raise register.title_refused()
                vehicle_row = found.vehicle
            else:
                raise register.title_refused()
            holder_row = Holder.objects.create(**holder_data)
            # The buyer owns what they bought: the seller's leasing and validity do not pass on
            # (the model defaults, owner and no end of validity); an agent may correct them.
        else:
            found = register.title_prove(title=title_data, holder=holder_data)
            vehicle_row = found.vehicle
            changes = None
            if procedure == Procedure.CHANGE_OF_ADDRESS:
                changes = {name: holder_data[name] for name in register.ADDRESS_FIELDS}
            holder_row = register.holder_copy(holder=found.holder, changes=changes)
            # Same holder, same title facts: leasing and validity are the register's.
            facts_data["holder_is_owner"] = found.holder_is_owner
            facts_data["validity_until"] = found.validity_until
        if procedure == Procedure.SALE_DECLARATION:
            sale_data = sale_data or {}
            # The code is the server's, shown to the seller who hands it to the buyer.
            sale_data["code_de_cession"] = register.code_de_cession_new()
            sale_data["code_expires_at"] = (
                sale_data.get("sold_at") or timezone.now()
            ) + register.CODE_VALIDITY
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
        if code_source is not None:
            code_source.code_used_by = dossier
            code_source.save(update_fields=["code_used_by"])
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


def fees_collected_by_professional(*, dossier: Dossier) -> bool:
    """Whether the dealer that filed the dossier holds the agrément to collect the taxes itself
    (docs/domain/REFERENCE.md §1): its customers pay it, not the portal."""
    return dossier.organisation is not None and dossier.organisation.tax_agrement


def payments_total(*, dossier: Dossier) -> Decimal:
    """What the payment service recorded for the dossier, in all (0.00 when nothing)."""
    return Payment.objects.filter(dossier=dossier).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def _unpaid(*, dossier: Dossier, owed: fees_module.Fees) -> InvalidInput | None:
    """The refusal of a dossier whose fees the payment service has not recorded in full."""
    if owed.y6 <= 0 or fees_collected_by_professional(dossier=dossier):
        return None
    paid = payments_total(dossier=dossier)
    if paid >= owed.y6:
        return None
    due = owed.y6 - paid
    return InvalidInput(
        [
            FieldError(
                "payment",
                "unpaid",
                _("Les frais du dossier ne sont pas réglés : %(due)s € restent à payer avant le dépôt.")
                % {"due": f"{due:.2f}".replace(".", ",")},
                _("un paiement de %(due)s €") % {"due": f"{due:.2f}".replace(".", ",")},
            )
        ]
    )


def dossier_submit(*, dossier: Dossier, actor: User) -> Dossier:
    """Submit a draft: fees computed and frozen on the dossier, checks start after commit. A dossier
    that owes fees is submitted only once the payment service recorded them in full."""
    try:
        owed = dossier_fees(dossier=dossier)
    except fees_module.FeesUnavailable as exc:
        raise InvalidInput([FieldError("fees", "fees_unavailable", exc.public_message, str(exc))]) from exc
    except ValueError as exc:  # a vehicle fact the fees need is missing
        raise InvalidInput(
            [FieldError("fees", "fees_uncomputable", str(fees_module.FEES_UNCOMPUTABLE))]
        ) from exc
    if dossier.state == State.DRAFT:  # any other state: the transition table refuses it
        refused = _unpaid(dossier=dossier, owed=owed)
        if refused is not None:
            raise refused
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
