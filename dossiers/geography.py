"""Departments and regions (INSEE codes), from dossiers/data/departements.csv, loaded once."""

import csv
from pathlib import Path
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dossiers.validators import validate_postcode

DATA_DIR = Path(__file__).resolve().parent / "data"


class Department(NamedTuple):
    code: str  # "01".."95" with "2A"/"2B" instead of "20", "971".."976"
    name: str
    region_code: str  # INSEE region code, as in taxe_regionale.csv
    region_name: str


def _load_departments() -> dict[str, Department]:
    with (DATA_DIR / "departements.csv").open(encoding="utf-8", newline="") as handle:
        return {row["code"]: Department(**row) for row in csv.DictReader(handle)}


DEPARTMENTS: dict[str, Department] = _load_departments()


def validate_department(code: str) -> str:
    """An existing department code exactly as INSEE writes it ("01", "2A", "971"); "2a" is accepted."""
    value = code.strip().upper() if isinstance(code, str) else ""
    if value not in DEPARTMENTS:
        raise ValidationError(
            _("Département inconnu : « %(value)s ». Attendu : un code INSEE comme 01, 2A, 75 ou 971."),
            code="department_unknown",
            params={"value": value or "—"},
        )
    return value


def department_from_postcode(postcode: str) -> str:
    """The department of a postcode: Corsica split 2A/2B, overseas departments on three digits."""
    value = validate_postcode(postcode)
    if value.startswith("20"):
        # Corse-du-Sud uses 200xx-201xx, Haute-Corse 202xx-206xx.
        prefix = int(value[2])
        department = "2A" if prefix <= 1 else "2B" if prefix <= 6 else ""
    elif value.startswith("97"):
        department = value[:3]
    elif value.startswith("98"):
        department = ""  # overseas collectivities (Monaco, Polynesia, ...): not French departments
    else:
        department = value[:2]
    if department not in DEPARTMENTS:
        raise ValidationError(
            _("Le code postal %(postcode)s ne correspond à aucun département français."),
            code="postcode_department",
            params={"postcode": value},
        )
    return department


def region_of(department: str) -> str:
    """The INSEE code of the region a department belongs to ("75" → "11")."""
    return DEPARTMENTS[validate_department(department)].region_code
