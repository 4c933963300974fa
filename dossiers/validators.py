"""Validators of the identifiers and codes on a dossier: VIN, SIREN/SIRET, postcode, P.3 and J.1 codes.

Pure functions, no ORM. Each returns the normalised value or raises a ValidationError whose `code`
is the stable rule name used in FieldError.rule and whose message (French) says what was expected.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

# --- VIN (ISO 3779, docs/domain/REFERENCE.md §4) ---------------------------------------------------------

VIN_LENGTH = 17
_VIN_FORBIDDEN = frozenset("IOQ")
_VIN_CHARSET = re.compile(r"[0-9A-Z]{17}")
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_WHITESPACE = re.compile(r"\s+")


def _normalise_vin(vin: object) -> str:
    return _WHITESPACE.sub("", vin).upper() if isinstance(vin, str) else ""


def validate_vin(vin: str) -> str:
    """The VIN upper-cased without spaces if it has 17 characters from the ISO 3779 charset."""
    value = _normalise_vin(vin)
    if len(value) != VIN_LENGTH:
        raise ValidationError(
            _("Le VIN doit comporter 17 caractères (%(length)s saisis)."),
            code="vin_length",
            params={"length": len(value)},
        )
    forbidden = sorted(_VIN_FORBIDDEN.intersection(value))
    if forbidden:
        raise ValidationError(
            _("Le VIN ne peut pas contenir les lettres I, O ni Q (trouvé : %(letters)s)."),
            code="vin_forbidden_letter",
            params={"letters": ", ".join(forbidden)},
        )
    if not _VIN_CHARSET.fullmatch(value):
        raise ValidationError(
            _("Le VIN ne peut contenir que des chiffres et des lettres majuscules sans accent."),
            code="vin_charset",
        )
    return value


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 check digit ("0"-"9" or "X") computed for a valid VIN."""
    value = validate_vin(vin)
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(value, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_check_digit_ok(vin: str) -> bool:
    """True when position 9 holds the ISO 3779 check digit; False for a filler or an invalid VIN.

    The check digit is mandatory only in North America: European VINs often carry a filler there,
    so a mismatch is a warning for the checks, never a reason to reject the VIN.
    """
    try:
        expected = vin_check_digit(vin)
    except ValidationError:
        return False
    return _normalise_vin(vin)[8] == expected


# --- SIREN / SIRET ---------------------------------------------------------------------------

_NUMBER_SEPARATORS = re.compile(r"[\s.]+")


def _checked_number(value: object, *, module, length: int, rule: str, label: str) -> str:
    number = _NUMBER_SEPARATORS.sub("", value) if isinstance(value, str) else ""
    if len(number) != length or not number.isascii() or not number.isdigit():
        raise ValidationError(
            _("Le %(label)s doit comporter exactement %(length)s chiffres."),
            code=f"{rule}_format",
            params={"label": label, "length": length},
        )
    try:
        # stdnum knows the special rule of La Poste's establishments (SIREN 356000000).
        return module.validate(number)
    except stdnum_exceptions.ValidationError as exc:
        raise ValidationError(
            _("Le %(label)s %(value)s n'est pas valide : sa clé de contrôle (formule de Luhn) est fausse."),
            code=f"{rule}_checksum",
            params={"label": label, "value": number},
        ) from exc


def validate_siren(value: str) -> str:
    """The 9 digits of a SIREN whose Luhn key is right (spaces and dots removed)."""
    return _checked_number(value, module=stdnum_siren, length=9, rule="siren", label="SIREN")


def validate_siret(value: str) -> str:
    """The 14 digits of a SIRET whose check key is right (spaces and dots removed)."""
    return _checked_number(value, module=stdnum_siret, length=14, rule="siret", label="SIRET")


# --- Postcode --------------------------------------------------------------------------------

_POSTCODE = re.compile(r"[0-9]{5}")


def validate_postcode(value: str) -> str:
    """A French postcode of exactly 5 digits (surrounding spaces removed)."""
    postcode = value.strip() if isinstance(value, str) else ""
    if not _POSTCODE.fullmatch(postcode):
        raise ValidationError(
            _("Le code postal doit comporter exactement 5 chiffres."),
            code="postcode_format",
        )
    return postcode


# --- Energy (P.3) and genre (J.1) codes, docs/domain/REFERENCE.md §2 ---------------------------------------
# The labels are the official nomenclature (arrêté du 9 février 2009), data rather than UI text:
# they stay plain French strings so that the dicts are exactly dict[str, str].

ENERGY_CODES: dict[str, str] = {
    "ES": "Essence",
    "GO": "Gazole",
    "EL": "Électricité",
    "H2": "Hydrogène",
    "EE": "Essence – hybride rechargeable",
    "EH": "Essence – hybride non rechargeable",
    "GL": "Gazole – hybride rechargeable",
    "GH": "Gazole – hybride non rechargeable",
    "GP": "GPL",
    "GN": "Gaz naturel (GNV)",
    "EG": "Bicarburation essence-GPL",
    "EN": "Bicarburation essence-GNV",
    "FE": "Superéthanol E85",
    "FG": "Bicarburation superéthanol-GPL",
    "FN": "Bicarburation superéthanol-GNV",
    "FL": "Superéthanol – hybride rechargeable",
    "ET": "Éthanol",
    "ER": "Essence-GPL – hybride rechargeable",
    "EQ": "Essence-GPL – hybride non rechargeable",
    "EM": "Essence-GNV – hybride rechargeable",
    "EP": "Essence-GNV – hybride non rechargeable",
    "GF": "Gazole-gaz (dual fuel)",
    "GM": "Gazole-gaz (dual fuel) – hybride rechargeable",
    "GQ": "Gazole-gaz (dual fuel) – hybride non rechargeable",
    "PE": "GPL – hybride rechargeable",
    "PH": "GPL – hybride non rechargeable",
    "NE": "GNV – hybride rechargeable",
    "NH": "GNV – hybride non rechargeable",
    "GZ": "Autre gaz comprimé",
    "AC": "Air comprimé",
    "PL": "Pétrole lampant",
    "GA": "Gazogène",
    "GE": "Gazogène-essence",
    "GG": "Gazogène-gazole",
}

# Zero-emission energies: no CO2 figure required, EV rules for the regional tax and the malus.
ELECTRIC_ENERGIES = frozenset({"EL", "H2"})
PLUG_IN_HYBRID_ENERGIES = frozenset({"EE", "GL", "FL", "ER", "EM", "GM", "PE", "NE"})
NON_PLUG_IN_HYBRID_ENERGIES = frozenset({"EH", "GH", "EQ", "EP", "GQ", "PH", "NH"})
HYBRID_ENERGIES = PLUG_IN_HYBRID_ENERGIES | NON_PLUG_IN_HYBRID_ENERGIES

GENRE_CODES: dict[str, str] = {
    "VP": "Voiture particulière",
    "CTTE": "Camionnette (marchandises, PTAC ≤ 3,5 t)",
    "CAM": "Camion (marchandises, PTAC > 3,5 t)",
    "TCP": "Transport en commun de personnes",
    "TRR": "Tracteur routier",
    "VASP": "Véhicule automoteur spécialisé",
    "VTSU": "Véhicule très spécialisé",
    "MTL": "Motocyclette légère",
    "MTT1": "Motocyclette (≤ 25 kW et ≤ 0,16 kW/kg)",
    "MTT2": "Motocyclette",
    "CL": "Cyclomoteur",
    "CYCL": "Cyclomoteur à trois roues",
    "TM": "Tricycle à moteur",
    "QM": "Quadricycle à moteur",
    "TRA": "Tracteur agricole",
    "REM": "Remorque",
    "SREM": "Semi-remorque",
    "RESP": "Remorque spécialisée",
    "SRSP": "Semi-remorque spécialisée",
}


def _validate_code(code: str, *, codes: dict[str, str], rule: str, message: str) -> str:
    value = code.strip().upper() if isinstance(code, str) else ""
    if value not in codes:
        raise ValidationError(
            message, code=rule, params={"value": value or "—", "accepted": ", ".join(codes)}
        )
    return value


_ENERGY_UNKNOWN = _lazy("Code énergie (P.3) inconnu : « %(value)s ». Codes acceptés : %(accepted)s.")
_GENRE_UNKNOWN = _lazy("Genre national (J.1) inconnu : « %(value)s ». Codes acceptés : %(accepted)s.")


def validate_energy(code: str) -> str:
    """A known P.3 energy code, upper-cased."""
    return _validate_code(code, codes=ENERGY_CODES, rule="energy_unknown", message=_ENERGY_UNKNOWN)


def validate_genre(code: str) -> str:
    """A known J.1 national genre code, upper-cased."""
    return _validate_code(code, codes=GENRE_CODES, rule="genre_unknown", message=_GENRE_UNKNOWN)
