"""The automatic checks as pure rules: each takes plain values or rows already loaded and returns a
CheckOutcome, without a query, so that a table of cases tests it. The documents each procedure needs,
the risk level and the route (straight-through, sampled, review) are decided here too; the services
in checks/services.py load the dossiers, feed these rules and store what they answer.
"""

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import AssessmentRoute, Outcome, Risk
from dossiers.fees import Fees
from dossiers.models import DocumentKind, DuplicateReason, Procedure, State
from dossiers.validators import (
    ELECTRIC_ENERGIES,
    ENERGY_CODES,
    GENRE_CODES,
    HYBRID_ENERGIES,
    validate_vin,
    vin_check_digit,
    vin_check_digit_ok,
)

if TYPE_CHECKING:  # for the type hints only: the rules read rows already loaded, they never query
    from dossiers.models import Sale, Vehicle

Kind = DocumentKind

# Who the holder is and where they live: the first two pieces of most procedures.
IDENTITY_AND_ADDRESS = frozenset({Kind.IDENTITY, Kind.PROOF_OF_ADDRESS})
# docs/domain/REFERENCE.md §1: the evidence each procedure needs, before the conditional pieces added by
# required_documents() (mandate of a professional, police report after a theft, recent CT).
REQUIRED_DOCUMENTS: dict[str, frozenset[str]] = {
    Procedure.FIRST_REGISTRATION: IDENTITY_AND_ADDRESS | {Kind.COC, Kind.INSURANCE, Kind.INVOICE},
    Procedure.CHANGE_OF_OWNER: IDENTITY_AND_ADDRESS
    | {Kind.PREVIOUS_CERTIFICATE, Kind.SALE_CERTIFICATE, Kind.INSURANCE},
    # The seller declares; the crossed title and the CT go to the buyer, not to us.
    Procedure.SALE_DECLARATION: frozenset({Kind.IDENTITY}),
    Procedure.CHANGE_OF_ADDRESS: IDENTITY_AND_ADDRESS,
    Procedure.DUPLICATE: IDENTITY_AND_ADDRESS,
    # The title with the error is the evidence of what must change.
    Procedure.CORRECTION: frozenset({Kind.IDENTITY, Kind.PREVIOUS_CERTIFICATE}),
    Procedure.IMPORT: IDENTITY_AND_ADDRESS
    | {Kind.FOREIGN_TITLE, Kind.CUSTOMS_CLEARANCE, Kind.COC, Kind.INVOICE},
}
# A vehicle older than this needs a recent technical inspection for these procedures (REFERENCE §1).
CT_AGE_YEARS = 4
CT_PROCEDURES = frozenset({Procedure.CHANGE_OF_OWNER, Procedure.DUPLICATE, Procedure.IMPORT})

# Free declarations with no new plate and little at stake: approved without a human by default.
# Every other procedure starts with a human in the loop until a supervisor decides otherwise.
STRAIGHT_THROUGH_BY_DEFAULT = frozenset({Procedure.CHANGE_OF_ADDRESS, Procedure.SALE_DECLARATION})

# States in which another dossier on the same vehicle does not count (a draft is not filed yet).
NOT_OPEN = (State.DRAFT, State.ISSUED, State.REJECTED, State.WITHDRAWN)
# A seller's declaration and the buyer's change of owner are filed side by side for one sale.
COMPANION_PROCEDURES = frozenset({Procedure.SALE_DECLARATION, Procedure.CHANGE_OF_OWNER})
DUPLICATE_REASONS = tuple(DuplicateReason.values)
# The format of the code de cession is not published: 8 to 20 letters or digits once spaces and
# dashes are removed, enough to catch a truncated or mistyped code without rejecting a real one.
CODE_DE_CESSION = re.compile(r"[A-Z0-9]{8,20}")
NORTH_AMERICAN_WMI = frozenset("12345")
ZERO_OR_HYBRID = ELECTRIC_ENERGIES | HYBRID_ENERGIES


class CheckOutcome(NamedTuple):
    outcome: str  # an Outcome value
    message: str  # French, shown to agents
    data: dict[str, Any]


class OpenDossier(NamedTuple):
    """Another live dossier on the same vehicle, as the duplicate check sees it."""

    reference: str
    procedure: str
    state: str


def _passed(message: str, **data: Any) -> CheckOutcome:
    return CheckOutcome(Outcome.PASSED, message, data)


def _warning(message: str, **data: Any) -> CheckOutcome:
    return CheckOutcome(Outcome.WARNING, message, data)


def _failed(message: str, **data: Any) -> CheckOutcome:
    return CheckOutcome(Outcome.FAILED, message, data)


def _euros(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:.2f} €".replace(".", ",")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def one_month_before(day: date) -> date:
    """The same day of the previous month, or that month's last day when it is shorter."""
    first = day.replace(day=1)
    previous_last = first - timedelta(days=1)
    return previous_last.replace(day=min(day.day, previous_last.day))


def check_vin(*, vin: str) -> CheckOutcome:
    """ISO 3779 format; the check digit counts only where it is mandatory (North America)."""
    try:
        value = validate_vin(vin)
    except ValidationError as exc:
        return _failed(" ".join(exc.messages), rule=exc.code)
    if vin_check_digit_ok(value):
        return _passed(_("VIN conforme, clé de contrôle exacte."))
    expected, found = vin_check_digit(value), value[8]
    if value[0] in NORTH_AMERICAN_WMI:
        return _warning(
            _(
                "VIN nord-américain dont la clé de contrôle (9e caractère) est fausse : %(found)s "
                "au lieu de %(expected)s. Erreur de saisie probable."
            )
            % {"found": found, "expected": expected},
            expected=expected,
            found=found,
        )
    # Europe and elsewhere: position 9 is often a filler (REFERENCE §4), so a mismatch says nothing.
    return _passed(
        _("VIN conforme ; la clé de contrôle, facultative hors d'Amérique du Nord, n'est pas utilisée."),
        check_digit="not_used",
    )


def check_duplicates(*, procedure: str, others: list[OpenDossier]) -> CheckOutcome:
    """Another live dossier on the same vehicle: failed for the same procedure, else a warning."""
    if not others:
        return _passed(_("Aucun autre dossier en cours pour ce véhicule."))
    references = sorted(other.reference for other in others)
    listed = ", ".join(references)
    if any(other.procedure == procedure for other in others):
        return _failed(
            _("Un autre dossier en cours porte sur ce véhicule pour la même démarche : %(refs)s.")
            % {"refs": listed},
            references=references,
        )
    if {procedure, *(o.procedure for o in others)} <= COMPANION_PROCEDURES:
        return _passed(
            _("Dossier lié en cours (cession et changement de titulaire de la même vente) : %(refs)s.")
            % {"refs": listed},
            references=references,
        )
    return _warning(
        _("D'autres dossiers sont en cours pour ce véhicule : %(refs)s.") % {"refs": listed},
        references=references,
    )


def check_vehicle_codes(*, vehicle: "Vehicle") -> CheckOutcome:
    """P.3 energy and J.1 genre are codes of the national nomenclature."""
    unknown = []
    if vehicle.energy not in ENERGY_CODES:
        unknown.append(_("énergie (P.3) « %(code)s »") % {"code": vehicle.energy})
    if vehicle.genre not in GENRE_CODES:
        unknown.append(_("genre (J.1) « %(code)s »") % {"code": vehicle.genre})
    if unknown:
        return _failed(_("Codes inconnus : %(codes)s.") % {"codes": ", ".join(unknown)})
    return _passed(_("Codes énergie et genre connus."))


def check_vehicle_masses(*, vehicle: "Vehicle", first_in_france: bool) -> CheckOutcome:
    """Masses ordered G.1 ≤ G ≤ F.2 ≤ F.1; G known when the weight malus depends on it."""
    chain = [
        ("G.1", vehicle.empty_mass_kg),
        ("G", vehicle.mass_kg),
        ("F.2", vehicle.ptac_kg),
        ("F.1", vehicle.max_mass_kg),
    ]
    known = [(code, value) for code, value in chain if value is not None]
    disorders = [
        f"{low} {low_value} kg > {high} {high_value} kg"
        for (low, low_value), (high, high_value) in zip(known, known[1:], strict=False)
        if low_value > high_value
    ]
    if disorders:
        return _failed(
            _("Masses incohérentes (attendu G.1 ≤ G ≤ F.2 ≤ F.1) : %(list)s.")
            % {"list": "; ".join(disorders)}
        )
    if first_in_france and vehicle.genre == "VP" and vehicle.mass_kg is None:
        return _warning(
            _("Masse en ordre de marche (G) absente : le malus au poids n'a pas pu être vérifié.")
        )
    return _passed(_("Masses cohérentes."))


def check_co2(*, vehicle: "Vehicle", first_in_france: bool) -> CheckOutcome:
    """CO2 (V.7) present for a thermal passenger car; none declared for a zero-emission one."""
    if vehicle.energy in ELECTRIC_ENERGIES:
        if vehicle.co2_g_km:
            return _warning(
                _("%(co2)s g/km de CO2 déclarés pour un véhicule électrique ou à hydrogène.")
                % {"co2": vehicle.co2_g_km}
            )
        return _passed(_("Véhicule à zéro émission : pas de CO2 attendu."))
    if vehicle.genre == "VP" and vehicle.co2_g_km is None:
        message = _("Émissions de CO2 (V.7) absentes pour une voiture thermique.")
        # The malus of a first registration depends on it; older titles may simply lack V.7.
        return _failed(message) if first_in_france else _warning(message)
    return _passed(_("Émissions de CO2 renseignées."))


def fiscal_power_estimate(*, power_kw: Decimal | float, co2_g_km: int) -> float:
    """The administrative power formula of a passenger car, CO2/45 + (P/40)^1.6, before rounding."""
    return co2_g_km / 45 + (float(power_kw) / 40) ** 1.6


def check_fiscal_power(*, vehicle: "Vehicle") -> CheckOutcome:
    """P.6 not far from what P.2 and V.7 give for a thermal passenger car (a warning at most)."""
    # Electric and hybrid cars count their power by other rules (30-minute power, combined power).
    if vehicle.genre != "VP" or vehicle.energy in ZERO_OR_HYBRID or not vehicle.power_kw:
        return _passed(_("Puissance administrative non recoupée (données insuffisantes pour ce véhicule)."))
    estimate = fiscal_power_estimate(power_kw=vehicle.power_kw, co2_g_km=vehicle.co2_g_km or 0)
    # Loose on purpose: the formula's inputs changed with WLTP and hybrids have their own rules.
    if abs(vehicle.fiscal_power - estimate) > max(3.0, estimate / 2):
        return _warning(
            _("Puissance administrative (P.6) de %(cv)s CV peu plausible : environ %(estimate)s CV attendus.")
            % {"cv": vehicle.fiscal_power, "estimate": round(estimate)},
            estimate=round(estimate, 1),
        )
    return _passed(_("Puissance administrative plausible."), estimate=round(estimate, 1))


def required_documents(
    *,
    procedure: str,
    by_professional: bool,
    duplicate_reason: str,
    first_registration_date: date | None,
    on: date,
) -> frozenset[str]:
    """The document kinds a dossier of this procedure must carry on date `on`."""
    required = set(REQUIRED_DOCUMENTS[procedure])
    if by_professional:
        required.add(Kind.MANDATE)  # cerfa 13757: the holder mandates the professional
    if procedure == Procedure.DUPLICATE and duplicate_reason == DuplicateReason.THEFT:
        required.add(Kind.POLICE_REPORT)
    if (
        procedure in CT_PROCEDURES
        and first_registration_date is not None
        and first_registration_date < _years_before(on, CT_AGE_YEARS)
    ):
        required.add(Kind.TECHNICAL_INSPECTION)
    return frozenset(required)


def check_documents(*, required: frozenset[str], present: set[str]) -> CheckOutcome:
    """Every required document kind is attached."""
    missing = sorted(required - present)
    if missing:
        labels = ", ".join(str(Kind(kind).label) for kind in missing)
        return _failed(_("Pièces manquantes : %(labels)s.") % {"labels": labels}, missing=missing)
    return _passed(_("Toutes les pièces demandées sont jointes."), required=sorted(required))


def check_fees(*, frozen: dict[str, Decimal | None], owed: Fees | None, error: str = "") -> CheckOutcome:
    """The fees frozen at submission are those recomputed from the dossier's data."""
    if owed is None:
        return _warning(_("Les taxes n'ont pas pu être recalculées : %(error)s") % {"error": error})
    if any(frozen.get(f"y{i}") is None for i in range(1, 7)):
        return _failed(_("Les taxes n'ont pas été figées au dépôt."))
    differences = {
        name: {"frozen": str(frozen[name]), "owed": str(getattr(owed, name))}
        for name in ("y1", "y2", "y3", "y4", "y5", "y6")
        if frozen[name] != getattr(owed, name)
    }
    if differences:
        listed = "; ".join(
            _("%(line)s : %(frozen)s déposés, %(owed)s recalculés")
            % {
                "line": name.upper().replace("Y", "Y."),
                "frozen": _euros(frozen[name]),
                "owed": _euros(getattr(owed, name)),
            }
            for name in differences
        )
        return _failed(
            _("Taxes différentes du recalcul : %(list)s.") % {"list": listed}, differences=differences
        )
    return _passed(_("Taxes recalculées identiques (Y.6 = %(total)s).") % {"total": _euros(owed.y6)})


def check_payment(*, y6: Decimal | None, paid: Any) -> CheckOutcome:
    """What was paid (the recorded payments' sum) equals Y.6; owing and showing no payment is a warning."""
    if paid is None or paid == "":
        if not y6:
            return _passed(_("Aucune taxe à payer."))
        # No payment provider yet: until one records payments, a human confirms the payment.
        return _warning(_("Paiement non enregistré (%(total)s dus).") % {"total": _euros(y6)})
    try:
        amount = Decimal(str(paid)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return _failed(_("Montant payé illisible : « %(paid)s ».") % {"paid": paid})
    if y6 is None or amount != y6:
        return _failed(
            _("Montant payé (%(paid)s) différent des taxes dues (%(total)s).")
            % {"paid": _euros(amount), "total": _euros(y6)},
            paid=str(amount),
        )
    return _passed(_("Paiement de %(paid)s reçu, égal aux taxes dues.") % {"paid": _euros(amount)})


def check_sale_date(*, sale: "Sale | None", on: date) -> CheckOutcome:
    """The declared sale is in the past and at most one month before the application (R322-5)."""
    sale_date = timezone.localdate(sale.sold_at) if sale is not None and sale.sold_at else None
    if sale_date is None:
        return _failed(_("Date de cession absente ou illisible."))
    if sale_date > on:
        return _failed(
            _("Date de cession (%(date)s) postérieure au dépôt.") % {"date": sale_date.strftime("%d/%m/%Y")}
        )
    if sale_date < one_month_before(on):
        # Late is fined, not refused: an agent looks (the code de cession lives only 3 months).
        return _warning(
            _("Demande déposée plus d'un mois après la cession du %(date)s.")
            % {"date": sale_date.strftime("%d/%m/%Y")}
        )
    return _passed(_("Cession du %(date)s déclarée dans le mois.") % {"date": sale_date.strftime("%d/%m/%Y")})


def check_sale_declared(*, sale: "Sale | None", declared: "Sale | None") -> CheckOutcome:
    """A change of owner proved by the seller's code de cession is the sale the seller declared:
    the buyer's date of sale is the seller's (otherwise the one-month deadline could be dodged)."""
    if declared is None:
        return _passed(_("Pas de déclaration de cession du vendeur liée : rien à comparer."))
    declared_day = timezone.localdate(declared.sold_at) if declared.sold_at else None
    sale_day = timezone.localdate(sale.sold_at) if sale is not None and sale.sold_at else None
    if declared_day != sale_day:
        shown = {
            "given": sale_day.strftime("%d/%m/%Y") if sale_day else "—",
            "declared": declared_day.strftime("%d/%m/%Y") if declared_day else "—",
        }
        return _failed(
            _(
                "Date de cession du %(given)s différente de celle déclarée par le vendeur "
                "(%(declared)s) : le délai d'un mois court depuis la cession déclarée."
            )
            % shown,
            declared=shown["declared"],
        )
    return _passed(
        _("Date de cession identique à la déclaration du vendeur (%(date)s).")
        % {"date": declared_day.strftime("%d/%m/%Y") if declared_day else "—"}
    )


def check_code_de_cession(*, sale: "Sale | None", has_sale_certificate: bool) -> CheckOutcome:
    """A well-formed code de cession, or at least the signed cerfa 15776 for an agent to read."""
    # Stored normalised (upper case, no spaces or dashes) by dossiers.cleaning.sale_clean.
    code = sale.code_de_cession if sale is not None else ""
    if not code:
        if has_sale_certificate:
            return _warning(_("Pas de code de cession : le certificat de cession joint est à vérifier."))
        return _failed(_("Code de cession absent et aucun certificat de cession joint."))
    if not CODE_DE_CESSION.fullmatch(code):
        return _failed(
            _("Code de cession mal formé : 8 à 20 lettres ou chiffres attendus."),
            expected="8-20 A-Z0-9",
        )
    return _passed(_("Code de cession présent et bien formé."))


def check_mandate(*, by_professional: bool) -> CheckOutcome:
    """A professional acts on a registered vehicle under the holder's mandate: an agent reads it."""
    if by_professional:
        return _warning(
            _("Déposé par un professionnel pour le titulaire : le mandat (cerfa 13757) est à vérifier.")
        )
    return _passed(_("Déposé par le titulaire lui-même, titre prouvé."))


def check_duplicate_reason(*, reason: str, present: set[str]) -> CheckOutcome:
    """A duplicate says why; after a theft, the police report is attached."""
    if reason not in DUPLICATE_REASONS:
        return _warning(_("Motif du duplicata (perte, vol, détérioration) non précisé."))
    if reason != "theft":
        return _passed(_("Duplicata pour perte ou détérioration : pas de déclaration de vol attendue."))
    if Kind.POLICE_REPORT in present:
        return _passed(_("Duplicata après vol : récépissé de déclaration de vol joint."))
    return _failed(_("Duplicata après vol sans récépissé de déclaration de vol."))


def risk_of(outcomes: list[str]) -> str:
    """High if any check failed, medium if any warned, else low."""
    if Outcome.FAILED in outcomes:
        return Risk.HIGH
    if Outcome.WARNING in outcomes:
        return Risk.MEDIUM
    return Risk.LOW


def route_of(*, risk: str, enabled: bool, sampling_rate: Decimal, draw: float | None) -> str:
    """Straight-through for a low risk under an enabled rule, unless the draw falls in the sample."""
    if risk != Risk.LOW or not enabled:
        return AssessmentRoute.REVIEW
    if draw is not None and draw < float(sampling_rate):
        return AssessmentRoute.SAMPLED
    return AssessmentRoute.STRAIGHT_THROUGH
