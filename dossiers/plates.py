"""The national SIV plate series `AA-001-AA` … `ZZ-999-ZZ` (docs/domain/REFERENCE.md §3).

Plates and ordinals are a bijection: ordinal 0 is AA-001-AA and the ordinal order is the order in
which the series hands plates out (number first, then the right pair, then the left pair).
The arithmetic is pure; only allocate_plate()/allocate_plates() touch the database.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # 23 letters: I, O and U are never used
# SS is never used; WW on the left is reserved for provisional (WW) plates.
LEFT_PAIRS: tuple[str, ...] = tuple(a + b for a in LETTERS for b in LETTERS if a + b not in ("SS", "WW"))
RIGHT_PAIRS: tuple[str, ...] = tuple(a + b for a in LETTERS for b in LETTERS if a + b != "SS")
_LEFT_INDEX = {pair: i for i, pair in enumerate(LEFT_PAIRS)}
_RIGHT_INDEX = {pair: i for i, pair in enumerate(RIGHT_PAIRS)}
NUMBERS_PER_PAIR = 999  # 001..999
PLATE_COUNT = len(LEFT_PAIRS) * len(RIGHT_PAIRS) * NUMBERS_PER_PAIR
assert PLATE_COUNT == 277_977_744  # 527 × 528 × 999, docs/domain/REFERENCE.md §3

COUNTER_NAME = "plate"
_PLATE = re.compile(r"([A-Z]{2})[ -]?([0-9]{3})[ -]?([A-Z]{2})")
_FORBIDDEN_LETTERS = frozenset("IOU")


class PlateSeriesExhausted(RuntimeError):
    """Every plate of the national series up to ZZ-999-ZZ has been handed out."""


def validate_plate(plate: str) -> str:
    """The plate written `AA-123-AA` if it can belong to the SIV series (`aa 123 aa`, `AA123AA` accepted)."""
    value = plate.strip().upper() if isinstance(plate, str) else ""
    match = _PLATE.fullmatch(value)
    if not match:
        raise ValidationError(
            _("Le numéro d'immatriculation doit avoir la forme AA-123-AA (reçu : « %(value)s »)."),
            code="plate_format",
            params={"value": value or "—"},
        )
    left, number, right = match.groups()
    forbidden = sorted(_FORBIDDEN_LETTERS.intersection(left + right))
    if forbidden:
        raise ValidationError(
            _("Les lettres I, O et U ne figurent jamais dans une immatriculation (trouvé : %(letters)s)."),
            code="plate_forbidden_letter",
            params={"letters": ", ".join(forbidden)},
        )
    if "SS" in (left, right):
        raise ValidationError(
            _("Le groupe de lettres SS n'est jamais attribué."),
            code="plate_forbidden_pair",
        )
    if left == "WW":
        raise ValidationError(
            _("Les numéros commençant par WW sont des immatriculations provisoires, hors série normale."),
            code="plate_forbidden_pair",
        )
    if number == "000":
        raise ValidationError(
            _("Le nombre 000 n'est jamais attribué : il va de 001 à 999."),
            code="plate_number",
        )
    return f"{left}-{number}-{right}"


def plate_to_ordinal(plate: str) -> int:
    """The position of a plate in the national series (AA-001-AA is 0)."""
    left, number, right = validate_plate(plate).split("-")
    return (_LEFT_INDEX[left] * len(RIGHT_PAIRS) + _RIGHT_INDEX[right]) * NUMBERS_PER_PAIR + int(number) - 1


def plate_from_ordinal(n: int) -> str:
    """The plate at position `n` of the national series; ValueError outside 0..PLATE_COUNT-1."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a plate ordinal is an int, not {type(n).__name__}")
    if not 0 <= n < PLATE_COUNT:
        raise ValueError(f"plate ordinal {n} is outside the series 0..{PLATE_COUNT - 1}")
    pairs, number_index = divmod(n, NUMBERS_PER_PAIR)
    left_index, right_index = divmod(pairs, len(RIGHT_PAIRS))
    return f"{LEFT_PAIRS[left_index]}-{number_index + 1:03d}-{RIGHT_PAIRS[right_index]}"


def next_plate(plate: str) -> str | None:
    """The plate the series hands out after `plate`; None after the last one, ZZ-999-ZZ."""
    following = plate_to_ordinal(plate) + 1
    return plate_from_ordinal(following) if following < PLATE_COUNT else None


def _check_not_exhausted(last_ordinal: int) -> None:
    if last_ordinal >= PLATE_COUNT:
        raise PlateSeriesExhausted(
            f"the national plate series is exhausted: ordinal {last_ordinal} is past ZZ-999-ZZ "
            f"({PLATE_COUNT - 1}); no plate can be allocated"
        )


def allocate_plates(count: int) -> list[str]:
    """`count` distinct plates never handed out before and not on any vehicle, in series order.

    Each round reserves a whole range of the counter in one statement and checks it against the
    vehicles in one query; plates already on a vehicle (imported data, the real series) are skipped
    and replaced by a further reservation. Safe under concurrent callers: the counter never hands
    out the same ordinal twice.
    """
    # Imported here: plate arithmetic stays importable without the app registry.
    from django.db import transaction

    from dossiers.bulk import btree_lookups
    from dossiers.models import Vehicle
    from dossiers.sequences import counter_next

    if count < 1:
        raise ValueError("count must be at least 1")
    plates: list[str] = []
    while len(plates) < count:
        wanted = count - len(plates)
        # The counter holds how many ordinals were handed out, so the range is last-wanted..last-1.
        last = counter_next(COUNTER_NAME, count=wanted, start=settings.PLATE_SERIES_START) - 1
        _check_not_exhausted(last)
        reserved = [plate_from_ordinal(n) for n in range(last - wanted + 1, last + 1)]
        with transaction.atomic(), btree_lookups():
            taken = set(Vehicle.objects.filter(plate__in=reserved).values_list("plate", flat=True))
        plates.extend(plate for plate in reserved if plate not in taken)
    return plates


def allocate_plate() -> str:
    """The next plate of the national series that was never handed out and is not on any vehicle."""
    return allocate_plates(1)[0]
