"""The SIV plate series: format rules, order, and the plate <-> ordinal bijection."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from dossiers.plates import (
    LEFT_PAIRS,
    PLATE_COUNT,
    RIGHT_PAIRS,
    next_plate,
    plate_from_ordinal,
    plate_to_ordinal,
    validate_plate,
)

# The tested algorithm of docs/domain/REFERENCE.md §3, kept literally as the oracle.
_L = "ABCDEFGHJKLMNPQRSTVWXYZ"
_LEFT = [a + b for a in _L for b in _L if a + b not in ("SS", "WW")]
_RIGHT = [a + b for a in _L for b in _L if a + b != "SS"]


def reference_next_plate(p):
    left, n, right = p.split("-")
    n = int(n)
    if n < 999:
        return f"{left}-{n + 1:03d}-{right}"
    i = _RIGHT.index(right)
    if i + 1 < len(_RIGHT):
        return f"{left}-001-{_RIGHT[i + 1]}"
    j = _LEFT.index(left)
    return f"{_LEFT[j + 1]}-001-AA" if j + 1 < len(_LEFT) else None


def test_series_has_the_reference_capacity():
    assert len(LEFT_PAIRS) == 527
    assert len(RIGHT_PAIRS) == 528
    assert PLATE_COUNT == 277_977_744


@pytest.mark.parametrize(
    ("plate", "ordinal"),
    [
        ("AA-001-AA", 0),
        ("AA-002-AA", 1),
        ("AA-999-AA", 998),
        ("AA-001-AB", 999),
        ("AB-001-AA", 528 * 999),
        ("ZZ-999-ZZ", 277_977_743),
    ],
)
def test_known_ordinals(plate, ordinal):
    assert plate_to_ordinal(plate) == ordinal
    assert plate_from_ordinal(ordinal) == plate


@pytest.mark.parametrize(
    ("plate", "following"),
    [
        ("AA-001-AA", "AA-002-AA"),
        ("AA-999-AA", "AA-001-AB"),
        ("AA-999-AZ", "AA-001-BA"),
        ("AA-999-SR", "AA-001-ST"),  # SS skipped on the right
        ("AA-999-ZZ", "AB-001-AA"),
        ("SR-999-ZZ", "ST-001-AA"),  # SS skipped on the left
        ("WV-999-ZZ", "WX-001-AA"),  # WW skipped on the left
        ("ZZ-998-ZZ", "ZZ-999-ZZ"),
        ("ZZ-999-ZZ", None),
    ],
)
def test_next_plate_follows_the_series(plate, following):
    assert next_plate(plate) == following


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("AB-123-CD", "AB-123-CD"),
        ("AB123CD", "AB-123-CD"),
        ("ab 123 cd", "AB-123-CD"),
        (" ab-123-cd ", "AB-123-CD"),
        ("AB-123-WW", "AB-123-WW"),  # WW is only forbidden on the left
    ],
)
def test_valid_plate_is_returned_in_the_hyphenated_form(raw, normalised):
    assert validate_plate(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "plate_format"),
        (None, "plate_format"),
        ("AB-12-CD", "plate_format"),
        ("A-123-CD", "plate_format"),
        ("AB--123-CD", "plate_format"),
        ("123-AB-45", "plate_format"),
        ("IA-123-AA", "plate_forbidden_letter"),
        ("AO-123-AA", "plate_forbidden_letter"),
        ("AA-123-AU", "plate_forbidden_letter"),
        ("SS-123-AA", "plate_forbidden_pair"),
        ("AA-123-SS", "plate_forbidden_pair"),
        ("WW-123-AA", "plate_forbidden_pair"),
        ("AA-000-AA", "plate_number"),
    ],
)
def test_invalid_plate_is_rejected_with_the_rule_it_breaks(raw, code):
    with pytest.raises(ValidationError) as caught:
        validate_plate(raw)
    assert caught.value.code == code


@pytest.mark.parametrize("raw", ["AA-000-AA", "SS-001-AA", "WW-001-AA", "AO-001-AA"])
def test_invalid_plate_has_no_ordinal(raw):
    with pytest.raises(ValidationError):
        plate_to_ordinal(raw)


@pytest.mark.parametrize("ordinal", [-1, PLATE_COUNT, PLATE_COUNT + 10])
def test_ordinal_outside_the_series_is_rejected(ordinal):
    with pytest.raises(ValueError, match="outside the series"):
        plate_from_ordinal(ordinal)


ordinals = st.integers(min_value=0, max_value=PLATE_COUNT - 1)
plates = st.builds(
    lambda left, number, right: f"{left}-{number:03d}-{right}",
    st.sampled_from(LEFT_PAIRS),
    st.integers(min_value=1, max_value=999),
    st.sampled_from(RIGHT_PAIRS),
)


@given(plates)
def test_plate_to_ordinal_and_back_is_the_identity(plate):
    assert plate_from_ordinal(plate_to_ordinal(plate)) == plate


@given(ordinals)
def test_ordinal_to_plate_and_back_is_the_identity(n):
    plate = plate_from_ordinal(n)
    assert validate_plate(plate) == plate
    assert plate_to_ordinal(plate) == n


@given(st.integers(min_value=0, max_value=PLATE_COUNT - 2))
def test_next_plate_is_the_next_ordinal_as_in_the_reference_algorithm(n):
    plate = plate_from_ordinal(n)
    assert next_plate(plate) == plate_from_ordinal(n + 1) == reference_next_plate(plate)


def _series_key(plate):
    left, number, right = plate.split("-")
    return (left, right, number)


@given(ordinals, ordinals)
def test_ordinal_order_is_the_series_order(a, b):
    # Series order: left pair, then right pair, then number (letters in alphabetical order).
    assert (a < b) == (_series_key(plate_from_ordinal(a)) < _series_key(plate_from_ordinal(b)))
