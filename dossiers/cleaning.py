"""Turn submitted vehicle, holder and procedure data into clean values, or say exactly what is wrong.

One function per object (vehicle_clean, holder_clean, sale_clean, dossier_facts_clean), used alike
by the web forms, the API and batch rows: it returns the clean dict or raises InvalidInput with
every FieldError found (field, rule, message, expected). The single-field rules they apply are the
pure validators of dossiers.validators; reading typed-in numbers and dates is dossiers.parsing's.
"""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from dossiers import geography, plates, validators
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    VEHICLE_FIELDS,
    DuplicateReason,
    Holder,
    HolderKind,
    Procedure,
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
SALE_FIELDS = ("sold_at", "mileage_km", "code_de_cession")
# What each procedure accepts besides procedure, vehicle and holder: the API's input per
# procedure is built from this, and anything else is refused as an unknown field.
# `title` is the proof of title of a procedure on a registered vehicle (dossiers.register).
PROCEDURE_FACTS: dict[str, tuple[str, ...]] = {
    Procedure.FIRST_REGISTRATION: ("holder_is_owner", "validity_until"),
    Procedure.CHANGE_OF_OWNER: ("title", "sale", "holder_is_owner"),
    Procedure.SALE_DECLARATION: ("title", "sale"),
    Procedure.CHANGE_OF_ADDRESS: ("title", "holder_is_owner"),
    Procedure.DUPLICATE: ("title", "duplicate_reason", "holder_is_owner"),
    Procedure.CORRECTION: ("title", "holder_is_owner"),
    Procedure.IMPORT: ("holder_is_owner", "validity_until"),
}
# Only these procedures bring a vehicle the register does not know; the others take it from there.
VEHICLE_PROCEDURES = (Procedure.FIRST_REGISTRATION, Procedure.IMPORT)
TITLE_FIELDS = ("plate", "formule_number")
DOSSIER_INPUT_FIELDS = ("procedure", "vehicle", "holder")
_DATE_MESSAGE = _lazy("Date attendue au format AAAA-MM-JJ ou JJ/MM/AAAA.")


class _Collector:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def add(self, field: str, rule: str, message: str, expected: str = "") -> None:
        self.errors.append(FieldError(f"{self.prefix}{field}", rule, message, expected))

    def run(self, field: str, func: Callable[[Any], Any], value: Any, expected: str = "") -> Any:
        """Apply a validator from dossiers.validators; record its ValidationError as a FieldError."""
        try:
            return func(value)
        except ValidationError as exc:
            self.add(field, exc.code or "invalid", " ".join(exc.messages), expected)
            return None


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def vehicle_clean(data: dict[str, Any], *, prefix: str = "vehicle.") -> dict[str, Any]:
    """The vehicle's certificate fields, normalised; InvalidInput listing every problem otherwise."""
    errors = _Collector(prefix)
    clean: dict[str, Any] = {}

    clean["vin"] = errors.run(
        "vin",
        validators.validate_vin,
        _text(data.get("vin")),
        _("17 caractères, chiffres et lettres sauf I, O et Q"),
    )
    plate = _text(data.get("plate"))
    clean["plate"] = errors.run("plate", plates.validate_plate, plate, "AA-123-AA") if plate else None

    for name, (required, max_length) in VEHICLE_TEXT_FIELDS.items():
        value = _text(data.get(name))
        if required and not value:
            errors.add(name, "required", _("Ce champ est obligatoire."))
        elif len(value) > max_length:
            errors.add(
                name,
                "max_length",
                _("Au plus %(n)d caractères.") % {"n": max_length},
                _("%(n)d caractères au plus") % {"n": max_length},
            )
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
        clean["power_kw"] = parse_decimal(data.get("power_kw"))
        if clean["power_kw"] is not None and not Decimal(0) < clean["power_kw"] < Decimal(10000):
            errors.add(
                "power_kw",
                "range",
                _("La puissance doit être positive et inférieure à 10 000 kW."),
                "0–10000",
            )
    except ValueError:
        errors.add("power_kw", "decimal", _("Un nombre décimal est attendu (ex. 85,5)."), "85,5")

    clean["energy"] = errors.run("energy", validators.validate_energy, _text(data.get("energy")).upper())
    clean["genre"] = errors.run("genre", validators.validate_genre, _text(data.get("genre")).upper())
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
    for low, high in (("empty_mass_kg", "mass_kg"), ("mass_kg", "ptac_kg"), ("ptac_kg", "max_mass_kg")):
        if clean.get(low) and clean.get(high) and clean[low] > clean[high]:
            errors.add(
                low,
                "mass_order",
                _("%(low)s ne peut pas dépasser %(high)s.") % {"low": low, "high": high},
                f"{low} ≤ {high}",
            )

    for name in VEHICLE_DATE_FIELDS:
        try:
            clean[name] = parse_day(data.get(name))
        except ValueError:
            errors.add(name, "date", str(_DATE_MESSAGE), "AAAA-MM-JJ")

    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def holder_clean(data: dict[str, Any], *, prefix: str = "holder.") -> dict[str, Any]:
    """The holder (C.1, C.3), normalised, department derived from the postcode unless given."""
    errors = _Collector(prefix)
    clean: dict[str, Any] = {}
    kind = _text(data.get("holder_kind")) or HolderKind.PERSON
    if kind not in HolderKind.values:
        errors.add("holder_kind", "choice", _("Type de titulaire inconnu."), "person, company")
    clean["holder_kind"] = kind

    for name, max_length in HOLDER_TEXT_FIELDS.items():
        value = _text(data.get(name))
        if len(value) > max_length:
            errors.add(name, "max_length", _("Au plus %(n)d caractères.") % {"n": max_length})
        clean[name] = value
    required = ["address_line", "city"]
    required += ["company_name"] if kind == HolderKind.COMPANY else ["last_name", "first_names"]
    for name in required:
        if not clean[name]:
            errors.add(name, "required", _("Ce champ est obligatoire."))

    clean["siret"] = ""
    siret = _text(data.get("siret"))
    if kind == HolderKind.COMPANY or siret:
        if not siret:
            errors.add(
                "siret", "required", _("Le SIRET est obligatoire pour une personne morale."), _("14 chiffres")
            )
        else:
            clean["siret"] = errors.run("siret", validators.validate_siret, siret, _("14 chiffres")) or ""

    try:
        clean["birth_date"] = parse_day(data.get("birth_date"))
    except ValueError:
        errors.add("birth_date", "date", str(_DATE_MESSAGE), "AAAA-MM-JJ")
        clean["birth_date"] = None

    email = _text(data.get("email"))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.add("email", "email", _("Adresse électronique invalide."), "nom@domaine.fr")
    clean["email"] = email.lower()

    clean["postcode"] = errors.run(
        "postcode", validators.validate_postcode, _text(data.get("postcode")), _("5 chiffres")
    )
    clean["department"] = _department_derive(errors, clean["postcode"], _text(data.get("department")).upper())

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
            f"{prefix}{key}",
            "unknown_field",
            _("Champ inconnu pour cette démarche : « %(field)s ».") % {"field": key},
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
        clean["sold_at"] = parse_moment(data.get("sold_at"))
        if clean["sold_at"] is None:
            errors.add("sold_at", "required", _("La date et l'heure de la cession sont obligatoires."))
    except ValueError:
        errors.add(
            "sold_at", "datetime", _("Date et heure attendues (AAAA-MM-JJTHH:MM)."), "AAAA-MM-JJTHH:MM"
        )
    try:
        clean["mileage_km"] = parse_int(data.get("mileage_km"))
        if clean["mileage_km"] is not None and not 0 <= clean["mileage_km"] <= 2_000_000:
            errors.add("mileage_km", "range", _("Kilométrage entre 0 et 2 000 000."), "0–2000000")
    except ValueError:
        errors.add("mileage_km", "integer", _("Un nombre entier est attendu."), _("un nombre entier"))
    # Normalised here, once; whether it is well formed is the code_de_cession check's to say.
    code = re.sub(r"[\s-]", "", _text(data.get("code_de_cession"))).upper()
    max_length = 32
    if len(code) > max_length:
        errors.add("code_de_cession", "max_length", _("Au plus %(n)d caractères.") % {"n": max_length})
    clean["code_de_cession"] = code
    if errors.errors:
        raise InvalidInput(errors.errors)
    return clean


def dossier_facts_clean(*, procedure: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The title facts the procedure accepts (PROCEDURE_FACTS), typed; InvalidInput otherwise.

    `facts` holds only the facts that were given; the others keep their model default."""
    errors = _Collector("")
    clean: dict[str, Any] = {}
    # An unknown procedure is reported by itself; its facts are still checked for their types.
    allowed = PROCEDURE_FACTS.get(procedure) or {name for names in PROCEDURE_FACTS.values() for name in names}
    for problem in unknown_fields(facts, allowed=allowed):
        errors.errors.append(problem)
    if "holder_is_owner" in facts:
        value = facts["holder_is_owner"]
        if not isinstance(value, bool):
            errors.add("holder_is_owner", "boolean", _("true ou false attendu."), "true, false")
        clean["holder_is_owner"] = value is not False
    if "validity_until" in facts:
        try:
            clean["validity_until"] = parse_day(facts["validity_until"])
        except ValueError:
            errors.add("validity_until", "date", str(_DATE_MESSAGE), "AAAA-MM-JJ")
    if "duplicate_reason" in facts:
        reason = _text(facts["duplicate_reason"])
        if reason and reason not in DuplicateReason.values:
            errors.add(
                "duplicate_reason",
                "choice",
                _("Motif de duplicata inconnu."),
                ", ".join(DuplicateReason.values),
            )
        clean["duplicate_reason"] = reason
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
