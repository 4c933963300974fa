"""Turn submitted vehicle, holder and procedure data into clean values, or say exactly what is wrong.

One function per object (vehicle_clean, holder_clean, sale_clean, dossier_facts_clean), used alike
by the web forms, the API and batch rows: it returns the clean dict or raises InvalidInput with
every FieldError found (field, rule, message, expected). The single-field rules they apply are the
pure validators of dossiers.validators; reading typed-in numbers and dates is dossiers.parsing's.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from dossiers import geography, plates, validators
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    VEHICLE_FIELDS,
    Dossier,
    DuplicateReason,
    Holder,
    HolderKind,
    Procedure,
    Sale,
    Vehicle,
)
from dossiers.parsing import parse_day, parse_decimal, parse_int, parse_moment

# The domain's bounds of each whole-number vehicle field (the model says only "positive").
VEHICLE_INT_RANGES = {
    "max_mass_kg": (1, 100_000),
    "ptac_kg": (1, 100_000),
    "ptra_kg": (1, 100_000),
    "mass_kg": (1, 100_000),
    "empty_mass_kg": (1, 100_000),
    "displacement_cm3": (1, 20_000),
    "fiscal_power": (1, 999),
    "seats": (1, 200),
    "standing_places": (0, 200),
    "co2_g_km": (0, 999),
    "noise_db": (1, 200),
    "noise_rpm": (1, 30_000),
}
# The masses as a sentence names them (rubric in brackets), for the errors comparing two of them.
MASS_LABELS = {
    "max_mass_kg": _lazy("la masse maximale techniquement admissible (F.1)"),
    "ptac_kg": _lazy("le PTAC (F.2)"),
    "mass_kg": _lazy("la masse en service (G)"),
    "empty_mass_kg": _lazy("le poids à vide national (G.1)"),
}
# Vehicle fields with a rule of their own below; the others are checked by their model type.
_VEHICLE_SPECIAL = {"vin", "plate", "power_kw", "energy", "genre"}
_vehicle_model_fields = [Vehicle._meta.get_field(name) for name in VEHICLE_FIELDS]
# name: (required, max length), from the model.
VEHICLE_TEXT_FIELDS = {
    f.name: (not f.blank, f.max_length)
    for f in _vehicle_model_fields
    if isinstance(f, models.CharField) and f.name not in _VEHICLE_SPECIAL
}
# name: (required, minimum, maximum): required from the model, bounds from the domain.
VEHICLE_INT_FIELDS = {
    f.name: (not f.null, *VEHICLE_INT_RANGES[f.name])
    for f in _vehicle_model_fields
    if isinstance(f, models.IntegerField) and f.name not in _VEHICLE_SPECIAL
}
VEHICLE_DATE_FIELDS = tuple(f.name for f in _vehicle_model_fields if isinstance(f, models.DateField))
# name: max length, from the model (identity and address; the others have rules of their own).
HOLDER_TEXT_FIELDS = {
    name: Holder._meta.get_field(name).max_length
    for name in ("last_name", "first_names", "company_name", "address_line", "city")
}
EMAIL_MAX_LENGTH = Holder._meta.get_field("email").max_length  # 254, RFC 5321's path limit
SALE_FIELDS = ("sold_at", "mileage_km", "code_de_cession")
SALE_MILEAGE_RANGE = (0, 2_000_000)
CODE_DE_CESSION_MAX_LENGTH = Sale._meta.get_field("code_de_cession").max_length
# P.2 as the column holds it: a value with more decimals is refused, not silently rounded.
POWER_KW_STEP = Decimal(1).scaleb(-Vehicle._meta.get_field("power_kw").decimal_places)
POWER_KW_MAX = Decimal(10_000)

# The plausible days of each date field. A typo such as 0202 or 9999 is refused here rather than
# stored: years near 1 and 9999 also overflow when a moment is converted to UTC. A latest day of
# None means today: a birth or a first registration cannot lie in the future.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)
DAY_RANGES: dict[str, tuple[date, date | None]] = {
    "birth_date": (EARLIEST_DAY, None),
    "first_registration_date": (EARLIEST_DAY, None),
    "technical_inspection_date": (EARLIEST_DAY, LATEST_DAY),
    "validity_until": (EARLIEST_DAY, LATEST_DAY),
    "invoice_date": (EARLIEST_DAY, None),  # the sale is invoiced before the vehicle is registered
}
# A sale is declared once it has happened: from this moment until now.
EARLIEST_SALE = datetime(1900, 1, 1, tzinfo=UTC)
# C0 and C1 control characters: nobody types them into a name or an address, PostgreSQL refuses
# NUL, and the others corrupt what is printed. Surrounding newlines and tabs are stripped first.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What each procedure accepts besides procedure, vehicle and holder: the API's input per
# procedure is built from this, and anything else is refused as an unknown field.
# `title` is the proof of title of a procedure on a registered vehicle (dossiers.register).
PROCEDURE_FACTS: dict[str, tuple[str, ...]] = {
    Procedure.FIRST_REGISTRATION: (
        "holder_is_owner",
        "validity_until",
        "invoice_date",
        "mandate_reference",
        "external_ref",
    ),
    Procedure.CHANGE_OF_OWNER: ("title", "sale"),
    Procedure.SALE_DECLARATION: ("title", "sale"),
    Procedure.CHANGE_OF_ADDRESS: ("title",),
    Procedure.DUPLICATE: ("title", "duplicate_reason"),
    Procedure.CORRECTION: ("title", "correction_request"),
    Procedure.IMPORT: ("holder_is_owner", "validity_until"),
}
# Leasing (C.4a) and validity (H) of a new vehicle come from the habilitated dealer's certificate
# of conformity or contract: only a dealer sends them; a registered vehicle's come from its title.
# The invoice, the holder's mandate (cerfa 13757) and the dealer's own reference are a dealer's too.
DEALER_FACTS = ("holder_is_owner", "validity_until", "invoice_date", "mandate_reference", "external_ref")
# What a dealer's first registration cannot go without (web form, API and batch rows alike): the
# sale it registers and the holder's mandate that lets the dealer file in their name.
DEALER_REQUIRED_FACTS = ("invoice_date", "mandate_reference")
# Text facts and their maximum length, from the model.
DEALER_TEXT_FACTS = {
    name: Dossier._meta.get_field(name).max_length for name in ("mandate_reference", "external_ref")
}
# Only these procedures bring a vehicle the register does not know; the others take it from there.
VEHICLE_PROCEDURES = (Procedure.FIRST_REGISTRATION, Procedure.IMPORT)
TITLE_FIELDS = ("plate", "formule_number")
DOSSIER_INPUT_FIELDS = ("procedure", "vehicle", "holder")
_HOLDER_KINDS = frozenset(HolderKind.values)
_DATE_MESSAGE = _lazy("Date attendue au format AAAA-MM-JJ ou JJ/MM/AAAA.")


class _Collector:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.errors: list[FieldError] = []
        self._today: date | None = None

    def add(self, field: str, rule: str, message: str, expected: str = "") -> None:
        self.errors.append(FieldError(f"{self.prefix}{field}", rule, message, str(expected)))

    def today(self) -> date:
        """Today in the portal's time zone (TIME_ZONE: no request activates another one), read once
        per collector; timezone.localdate() reads the current zone from a context-local, which
        costs more than the rest of a date's checks when a batch cleans thousands of rows."""
        if self._today is None:
            self._today = datetime.now(timezone.get_default_timezone()).date()
        return self._today

    def run(self, field: str, func: Callable[[Any], Any], value: Any, expected: str = "") -> Any:
        """Apply a validator from dossiers.validators; record its ValidationError as a FieldError.

        A None value is one already refused (see text): nothing more is said about it. `expected`
        is best lazy (gettext_lazy): it is translated only when the value is refused."""
        if value is None:
            return None
        try:
            return func(value)
        except ValidationError as exc:
            self.add(field, exc.code or "invalid", " ".join(exc.messages), expected)
            return None

    def text(self, field: str, raw: Any, *, max_length: int | None = None) -> str | None:
        """The stripped text of a text field, "" when absent or null; None once its error is recorded.

        Every text field of every input goes through here: a JSON number, list or object is not
        text (storing its Python str() would be), nor is a lone surrogate or a control character."""
        if raw is None:
            return ""
        if raw.__class__ is str and raw.isascii() and raw.isprintable():
            # The common case, checked in C: printable ASCII has no control character and encodes.
            value = raw.strip()
            if max_length is None or len(value) <= max_length:
                return value
        if not isinstance(raw, str):
            self.add(field, "string", _("Texte attendu."), _("une chaîne de caractères"))
            return None
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            self.add(
                field, "encoding", _("Caractère invalide : le texte n'est pas de l'UTF-8 valide."), "UTF-8"
            )
            return None
        value = raw.strip()
        if _CONTROL_CHARACTER.search(value):
            self.add(
                field,
                "control_character",
                _("Caractère de contrôle interdit (tabulation, retour à la ligne, NUL...)."),
                _("du texte sur une ligne"),
            )
            return None
        if max_length is not None and len(value) > max_length:
            self.add(
                field,
                "max_length",
                _("Au plus %(n)d caractères.") % {"n": max_length},
                _("%(n)d caractères au plus") % {"n": max_length},
            )
            return None
        return value

    def day(self, field: str, raw: Any) -> date | None:
        """A date within DAY_RANGES[field]; None when absent or once its error is recorded."""
        try:
            value = parse_day(raw)
        except ValueError:
            self.add(field, "date", str(_DATE_MESSAGE), "AAAA-MM-JJ")
            return None
        if value is None:
            return None
        earliest, latest = DAY_RANGES.get(field, (EARLIEST_DAY, LATEST_DAY))
        if latest is None and value > self.today():
            self.add(
                field,
                "future",
                _("Cette date ne peut pas être dans le futur."),
                _("au plus tard aujourd'hui"),
            )
            return None
        if value < earliest or (latest is not None and value > latest):
            last = (latest or self.today()).strftime("%d/%m/%Y")
            self.add(
                field,
                "range",
                _("Date attendue entre le %(first)s et le %(last)s.")
                % {"first": earliest.strftime("%d/%m/%Y"), "last": last},
                f"{earliest:%d/%m/%Y}–{last}",
            )
            return None
        return value


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _present(errors: _Collector, field: str, value: str | None) -> str | None:
    """A required code as typed; None once an empty one is reported as missing (not as malformed)."""
    if value == "":
        errors.add(field, "required", _("Ce champ est obligatoire."))
        return None
    return value


def _shown(key: str) -> str:
    """A key as it can be echoed in an error: at most 100 characters, no surrogate or control."""
    key = key[:100].encode("utf-8", "replace").decode("utf-8")
    return _CONTROL_CHARACTER.sub("\ufffd", key)


def _vin(errors: _Collector, raw: Any) -> str | None:
    return errors.run(
        "vin",
        validators.validate_vin,
        _present(errors, "vin", errors.text("vin", raw)),
        _lazy("17 caractères, chiffres et lettres sauf I, O et Q"),
    )


def vin_clean(raw: Any, *, prefix: str = "vehicle.") -> str:
    """The VIN alone, as vehicle_clean checks it (its rules depend on no other field)."""
    errors = _Collector(prefix)
    vin = _vin(errors, raw)
    if errors.errors:
        raise InvalidInput(errors.errors)
    return vin


def vehicle_clean(data: dict[str, Any], *, prefix: str = "vehicle.") -> dict[str, Any]:
    """The vehicle's certificate fields, normalised; InvalidInput listing every problem otherwise."""
    errors = _Collector(prefix)
    clean: dict[str, Any] = {}

    clean["vin"] = _vin(errors, data.get("vin"))
    plate = errors.text("plate", data.get("plate"))
    clean["plate"] = errors.run("plate", plates.validate_plate, plate or None, "AA-123-AA")

    for name, (required, max_length) in VEHICLE_TEXT_FIELDS.items():
        value = errors.text(name, data.get(name), max_length=max_length)
        if required and value == "":
            errors.add(name, "required", _("Ce champ est obligatoire."))
        clean[name] = value
    if clean.get("cnit") and len(clean["cnit"]) not in (12, 15):
        errors.add("cnit", "cnit_length", _("Le CNIT compte 12 ou 15 caractères."), "12 ou 15 caractères")

    for name, (required, minimum, maximum) in VEHICLE_INT_FIELDS.items():
        try:
            value = parse_int(data.get(name))
        except ValueError:
            errors.add(name, "integer", _("Un nombre entier est attendu."), _("un nombre entier"))
            continue
        if value is None:
            if required:
                errors.add(name, "required", _("Ce champ est obligatoire."))
        elif not minimum <= value <= maximum:
            errors.add(
                name,
                "range",
                _("La valeur doit être comprise entre %(min)d et %(max)d.")
                % {"min": minimum, "max": maximum},
                f"{minimum}–{maximum}",
            )
        clean[name] = value

    try:
        power = clean["power_kw"] = parse_decimal(data.get("power_kw"))
        if power is not None and not Decimal(0) < power < POWER_KW_MAX:
            errors.add(
                "power_kw",
                "range",
                _("La puissance doit être positive et inférieure à 10 000 kW."),
                "0–10000",
            )
        elif power is not None and power != power.quantize(POWER_KW_STEP):
            errors.add(
                "power_kw",
                "decimal_places",
                _("Au plus une décimale (ex. 85,5)."),
                f"{POWER_KW_STEP} kW près",
            )
    except ValueError:
        errors.add("power_kw", "decimal", _("Un nombre décimal est attendu (ex. 85,5)."), "85,5")

    energy = _upper(_present(errors, "energy", errors.text("energy", data.get("energy"))))
    clean["energy"] = errors.run("energy", validators.validate_energy, energy)
    genre = _upper(_present(errors, "genre", errors.text("genre", data.get("genre"))))
    clean["genre"] = errors.run("genre", validators.validate_genre, genre)
    if (
        clean["energy"]
        and clean["energy"] not in validators.ELECTRIC_ENERGIES
        and clean.get("co2_g_km") is None
        and clean.get("genre") == "VP"
    ):
        errors.add(
            "co2_g_km",
            "required_for_thermal",
            _("Les émissions de CO2 (V.7) sont obligatoires pour une voiture non électrique."),
            _("un nombre de g/km"),
        )
    refused = {error.field for error in errors.errors}
    if (
        clean.get("genre") == "VP"
        and clean.get("mass_kg") is None
        and f"{errors.prefix}mass_kg" not in refused
    ):
        errors.add(
            "mass_kg",
            "required_for_car",
            _("La masse en service (G) est obligatoire pour une voiture : elle sert au calcul du malus."),
            _("un nombre de kg"),
        )
    for low, high in (("empty_mass_kg", "mass_kg"), ("mass_kg", "ptac_kg"), ("ptac_kg", "max_mass_kg")):
        if clean.get(low) and clean.get(high) and clean[low] > clean[high]:
            errors.add(
                low,
                "mass_order",
                _("%(low)s ne peut pas dépasser %(high)s.")
                % {"low": capfirst(MASS_LABELS[low]), "high": MASS_LABELS[high]},
                f"{low} ≤ {high}",
            )

    for name in VEHICLE_DATE_FIELDS:
        clean[name] = errors.day(name, data.get(name))

    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def holder_clean(data: dict[str, Any], *, prefix: str = "holder.") -> dict[str, Any]:
    """The holder (C.1, C.3), normalised, department derived from the postcode unless given."""
    errors = _Collector(prefix)
    clean: dict[str, Any] = {}
    kind = errors.text("holder_kind", data.get("holder_kind"))
    if kind == "":
        kind = HolderKind.PERSON
    elif kind is not None and kind not in _HOLDER_KINDS:
        errors.add("holder_kind", "choice", _("Type de titulaire inconnu."), "person, company")
    clean["holder_kind"] = kind

    for name, max_length in HOLDER_TEXT_FIELDS.items():
        clean[name] = errors.text(name, data.get(name), max_length=max_length)
    required = ["address_line", "city"]
    required += ["company_name"] if kind == HolderKind.COMPANY else ["last_name", "first_names"]
    for name in required:
        if clean[name] == "":
            errors.add(name, "required", _("Ce champ est obligatoire."))

    clean["siret"] = ""
    siret = errors.text("siret", data.get("siret"))
    if siret is not None and (kind == HolderKind.COMPANY or siret):
        if not siret:
            errors.add(
                "siret", "required", _("Le SIRET est obligatoire pour une personne morale."), _("14 chiffres")
            )
        else:
            clean["siret"] = errors.run("siret", validators.validate_siret, siret, _lazy("14 chiffres")) or ""

    clean["birth_date"] = errors.day("birth_date", data.get("birth_date"))

    email = errors.text("email", data.get("email"), max_length=EMAIL_MAX_LENGTH)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", "email", _("Adresse électronique invalide."), "nom@domaine.fr")
    clean["email"] = (email or "").lower()

    postcode = errors.text("postcode", data.get("postcode"))
    if postcode == "":
        # Missing is not malformed: the format is said only of a postcode that was typed.
        errors.add("postcode", "required", _("Ce champ est obligatoire."), _("5 chiffres"))
        postcode = None
    clean["postcode"] = errors.run("postcode", validators.validate_postcode, postcode, _lazy("5 chiffres"))
    clean["department"] = _department_derive(
        errors, clean["postcode"], _upper(errors.text("department", data.get("department"))) or ""
    )

    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def _department_derive(errors: _Collector, postcode: str | None, given: str) -> str | None:
    """The department of the postcode (it sets the tax and the centre); a given one must agree."""
    derived = errors.run("postcode", geography.department_from_postcode, postcode) if postcode else None
    if given and derived and given != derived:
        errors.add(
            "department",
            "department_mismatch",
            _("Le département %(given)s ne correspond pas au code postal %(postcode)s (%(derived)s).")
            % {"given": given, "postcode": postcode, "derived": derived},
            derived,
        )
    elif given and not postcode:
        errors.run("department", geography.validate_department, given)
    return derived


def title_clean(data: Any, *, procedure: str) -> dict[str, str]:
    """The proof of title as typed: plate and numéro de formule, upper case without spaces.

    Whether they prove anything is dossiers.register's to say. A change of owner may leave the
    formule number out when it gives the seller's code de cession."""
    if not isinstance(data, dict):
        raise InvalidInput(
            [FieldError("title", "object", _("Un objet est attendu."), ", ".join(TITLE_FIELDS))]
        )
    errors = _Collector("title.")
    errors.errors += unknown_fields(data, allowed=TITLE_FIELDS, prefix="title.")
    clean = {}
    for name in TITLE_FIELDS:
        value = data.get(name)
        clean[name] = re.sub(r"\s", "", value).upper()[:20] if isinstance(value, str) else ""
    if not clean["plate"]:
        errors.add("plate", "required", _("L'immatriculation est obligatoire."), "AA-123-AA")
    else:
        clean["plate"] = errors.run("plate", plates.validate_plate, clean["plate"], "AA-123-AA") or ""
    if not clean["formule_number"] and procedure != Procedure.CHANGE_OF_OWNER:
        errors.add("formule_number", "required", _("Le numéro de formule est obligatoire."), "2026AB12345")
    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def merge_errors(*checks: Callable[[], Any]) -> list[Any]:
    """Run several clean functions and raise one InvalidInput with all their errors together."""
    results, errors = [], []
    for check in checks:
        try:
            results.append(check())
        except InvalidInput as exc:
            errors += exc.errors
            results.append(None)
    if errors:
        raise InvalidInput(errors)
    return results


def unknown_fields(
    data: dict[str, Any], *, allowed: tuple[str, ...] | set[str], prefix: str = ""
) -> list[FieldError]:
    """A FieldError for every key of `data` that is not an accepted field: nothing is stored unread."""
    return [
        FieldError(
            f"{prefix}{_shown(key)}",
            "unknown_field",
            _("Champ inconnu pour cette démarche : « %(field)s ».") % {"field": _shown(key)},
            ", ".join(allowed),
        )
        for key in data
        if key not in allowed
    ]


def sale_clean(data: dict[str, Any], *, prefix: str = "sale.") -> dict[str, Any]:
    """The sale (cerfa 15776): date and hour, mileage, code de cession upper case without separators."""
    errors = _Collector(prefix)
    for problem in unknown_fields(data, allowed=SALE_FIELDS, prefix=prefix):
        errors.errors.append(problem)
    clean: dict[str, Any] = {}
    try:
        sold_at = clean["sold_at"] = parse_moment(data.get("sold_at"))
    except ValueError:
        errors.add(
            "sold_at", "datetime", _("Date et heure attendues (AAAA-MM-JJTHH:MM)."), "AAAA-MM-JJTHH:MM"
        )
    else:
        if sold_at is None:
            errors.add("sold_at", "required", _("La date et l'heure de la cession sont obligatoires."))
        elif sold_at > timezone.now():
            errors.add(
                "sold_at",
                "future",
                _("Une cession se déclare une fois faite : sa date et son heure sont passées."),
                _("au plus tard maintenant"),
            )
        elif sold_at < EARLIEST_SALE:
            errors.add(
                "sold_at", "range", _("Date de cession antérieure à 1900."), f"{EARLIEST_SALE:%d/%m/%Y}–"
            )
    low, high = SALE_MILEAGE_RANGE
    try:
        clean["mileage_km"] = parse_int(data.get("mileage_km"))
        if clean["mileage_km"] is not None and not low <= clean["mileage_km"] <= high:
            errors.add("mileage_km", "range", _("Kilométrage entre 0 et 2 000 000."), f"{low}–{high}")
    except ValueError:
        errors.add("mileage_km", "integer", _("Un nombre entier est attendu."), _("un nombre entier"))
    # Normalised here, once; whether it is well formed is the code_de_cession check's to say.
    code = errors.text("code_de_cession", data.get("code_de_cession"))
    code = re.sub(r"[\s-]", "", code).upper() if code is not None else ""
    if len(code) > CODE_DE_CESSION_MAX_LENGTH:
        errors.add(
            "code_de_cession",
            "max_length",
            _("Au plus %(n)d caractères.") % {"n": CODE_DE_CESSION_MAX_LENGTH},
            _("%(n)d caractères au plus") % {"n": CODE_DE_CESSION_MAX_LENGTH},
        )
    clean["code_de_cession"] = code
    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def dossier_facts_clean(*, procedure: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The title facts the procedure accepts (PROCEDURE_FACTS), typed; InvalidInput otherwise.

    `facts` holds only the facts that were given; the others keep their model default."""
    errors = _Collector("")
    clean: dict[str, Any] = {}
    # An unknown procedure (or not even a string) is reported by itself; its facts are still
    # checked for their types.
    known = PROCEDURE_FACTS.get(procedure) if isinstance(procedure, str) else None
    allowed = known or {name for names in PROCEDURE_FACTS.values() for name in names}
    for problem in unknown_fields(facts, allowed=allowed):
        errors.errors.append(problem)
    if "holder_is_owner" in facts:
        value = facts["holder_is_owner"]
        if not isinstance(value, bool):
            errors.add("holder_is_owner", "boolean", _("true ou false attendu."), "true, false")
        clean["holder_is_owner"] = value is not False
    if "validity_until" in facts:
        clean["validity_until"] = errors.day("validity_until", facts["validity_until"])
    if "invoice_date" in facts:
        clean["invoice_date"] = errors.day("invoice_date", facts["invoice_date"])
    for name, max_length in DEALER_TEXT_FACTS.items():
        if name in facts:
            clean[name] = errors.text(name, facts[name], max_length=max_length)
    if "duplicate_reason" in facts:
        reason = errors.text("duplicate_reason", facts["duplicate_reason"])
        if reason and reason not in DuplicateReason.values:
            errors.add(
                "duplicate_reason",
                "choice",
                _("Motif de duplicata inconnu."),
                ", ".join(DuplicateReason.values),
            )
        clean["duplicate_reason"] = reason
    if "correction_request" in facts:
        clean["correction_request"] = errors.text(
            "correction_request",
            facts["correction_request"],
            max_length=Dossier._meta.get_field("correction_request").max_length,
        )
    if "title" in facts:
        try:
            clean["title"] = title_clean(facts["title"], procedure=procedure)
        except InvalidInput as exc:
            errors.errors += exc.errors
    if "sale" in facts:
        sale = facts["sale"]
        if sale is None:
            clean["sale"] = None
        elif not isinstance(sale, dict):
            errors.add("sale", "object", _("Un objet est attendu."), ", ".join(SALE_FIELDS))
        else:
            try:
                clean["sale"] = sale_clean(sale)
            except InvalidInput as exc:
                errors.errors += exc.errors
    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def part_clean(
    data: Any, *, name: str, allowed: tuple[str, ...], clean: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """A nested object of the input (vehicle, holder): one error when absent, else every field error."""
    if data is None:
        raise InvalidInput([FieldError(name, "required", _("Ce champ est obligatoire."))])
    if not isinstance(data, dict):
        raise InvalidInput([FieldError(name, "object", _("Un objet est attendu."), ", ".join(allowed))])
    problems = unknown_fields(data, allowed=allowed, prefix=f"{name}.")
    try:
        result = clean(data)
    except InvalidInput as exc:
        raise InvalidInput(problems + exc.errors) from exc
    if problems:
        raise InvalidInput(problems)
    return result
