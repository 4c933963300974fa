"""Turn submitted vehicle and holder data into clean values, or say exactly what is wrong.

One function per object, used alike by the web forms, the API and batch rows: it returns the clean
dict or raises InvalidInput with every FieldError found (field, rule, message, expected).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from dossiers import geography, plates, validators
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import HolderKind

VEHICLE_TEXT_FIELDS = {
    # name: (required, max length)
    "make": (True, 60),
    "type_variant_version": (False, 60),
    "cnit": (False, 15),
    "commercial_name": (True, 80),
    "eu_category": (False, 5),
    "eu_body": (False, 5),
    "body": (False, 10),
    "approval_number": (False, 40),
    "euro_class": (False, 20),
}
VEHICLE_INT_FIELDS = {
    # name: (required, minimum, maximum)
    "max_mass_kg": (False, 1, 100_000),
    "ptac_kg": (False, 1, 100_000),
    "ptra_kg": (False, 1, 100_000),
    "mass_kg": (False, 1, 100_000),
    "empty_mass_kg": (False, 1, 100_000),
    "displacement_cm3": (False, 1, 20_000),
    "fiscal_power": (True, 1, 999),
    "seats": (False, 1, 200),
    "standing_places": (False, 0, 200),
    "co2_g_km": (False, 0, 999),
}
HOLDER_TEXT_FIELDS = {
    "last_name": 100,
    "first_names": 150,
    "company_name": 200,
    "address_line": 200,
    "city": 100,
}


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


def parse_int(raw: Any) -> int | None:
    """Integers as people type them: '1 950', '1950', 1950. Raises ValueError otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        return raw
    text = str(raw).replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not text.lstrip("-").isdigit():
        raise ValueError(raw)
    return int(text)


def parse_decimal(raw: Any) -> Decimal | None:
    """Decimals with '.' or ',' as separator. Raises ValueError otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not value.is_finite():
        raise ValueError(raw)
    return value


def parse_day(raw: Any) -> date | None:
    """Dates as ISO YYYY-MM-DD or French DD/MM/YYYY. Raises ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 3:
            raise ValueError(raw)
        text = f"{parts[2]}-{parts[1].zfill(2)}-{parts[0].zfill(2)}"
    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(raw)
    return parsed


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

    try:
        clean["first_registration_date"] = parse_day(data.get("first_registration_date"))
    except ValueError:
        errors.add(
            "first_registration_date",
            "date",
            _("Date attendue au format AAAA-MM-JJ ou JJ/MM/AAAA."),
            "AAAA-MM-JJ",
        )

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
        errors.add("birth_date", "date", _("Date attendue au format AAAA-MM-JJ ou JJ/MM/AAAA."), "AAAA-MM-JJ")
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
    department = _text(data.get("department")).upper()
    if department:
        clean["department"] = errors.run("department", geography.validate_department, department)
    elif clean["postcode"]:
        clean["department"] = errors.run("postcode", geography.department_from_postcode, clean["postcode"])
    else:
        clean["department"] = None

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
