"""VIN and the P.3/J.1 codes: what is accepted, how it is normalised, why it is not."""

import pytest
from django.core.exceptions import ValidationError

from dossiers.validators import (
    ELECTRIC_ENERGIES,
    ENERGY_CODES,
    GENRE_CODES,
    validate_energy,
    validate_genre,
    validate_vin,
    vin_check_digit_ok,
)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("1M8GDM9AXKP042788", "1M8GDM9AXKP042788"),
        ("1m8gdm9axkp042788", "1M8GDM9AXKP042788"),
        (" 1M8 GDM9AX KP042788 ", "1M8GDM9AXKP042788"),
        ("WP0ZZZ99ZTS392124", "WP0ZZZ99ZTS392124"),  # European filler instead of a check digit
        ("VF1RFB00X12345678", "VF1RFB00X12345678"),
    ],
)
def test_valid_vin_is_returned_normalised(raw, normalised):
    assert validate_vin(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "vin_length"),
        ("1M8GDM9AXKP04278", "vin_length"),  # 16 characters
        ("1M8GDM9AXKP0427881", "vin_length"),  # 18 characters
        (None, "vin_length"),
        ("1M8GDM9AXKP0427I8", "vin_forbidden_letter"),
        ("OM8GDM9AXKP042788", "vin_forbidden_letter"),
        ("1M8GDM9AXKQ042788", "vin_forbidden_letter"),
        ("1M8GDM9AXKP04278-", "vin_charset"),
        ("1M8GDM9AXKP04278É", "vin_charset"),
    ],
)
def test_invalid_vin_is_rejected_with_the_rule_it_breaks(raw, code):
    with pytest.raises(ValidationError) as caught:
        validate_vin(raw)
    assert caught.value.code == code
    assert "VIN" in " ".join(caught.value.messages)


def test_vin_length_message_says_how_many_characters_were_typed():
    with pytest.raises(ValidationError) as caught:
        validate_vin("ABC")
    assert caught.value.messages == ["Le VIN doit comporter 17 caractères (3 saisis)."]


@pytest.mark.parametrize(
    ("vin", "ok"),
    [
        ("1M8GDM9AXKP042788", True),  # check digit X (remainder 10)
        ("1m8gdm9axkp042788", True),
        ("1HGCM82633A004352", True),
        ("11111111111111111", True),
        ("1M8GDM9A1KP042788", False),
        ("WP0ZZZ99ZTS392124", False),  # filler Z: valid VIN, no check digit
        ("TOO-SHORT", False),
    ],
)
def test_check_digit_is_reported_without_rejecting_the_vin(vin, ok):
    assert vin_check_digit_ok(vin) is ok


REFERENCE_ENERGIES = (
    "ES GO EL H2 EE EH GL GH GP GN EG EN FE FG FN FL ET ER EQ EM EP GF GM GQ PE PH NE NH GZ AC PL GA GE GG"
)
REFERENCE_GENRES = "VP CTTE CAM TCP TRR VASP VTSU MTL MTT1 MTT2 CL CYCL TM QM TRA REM SREM RESP SRSP"


@pytest.mark.parametrize("code", REFERENCE_ENERGIES.split(" "))
def test_every_energy_code_of_the_reference_is_known(code):
    assert code in ENERGY_CODES
    assert validate_energy(code.lower()) == code


def test_zero_emission_energies_are_electricity_and_hydrogen():
    assert frozenset({"EL", "H2"}) == ELECTRIC_ENERGIES


@pytest.mark.parametrize("code", REFERENCE_GENRES.split(" "))
def test_every_genre_code_of_the_reference_is_known(code):
    assert code in GENRE_CODES
    assert validate_genre(f" {code.lower()} ") == code


def test_unknown_energy_names_the_accepted_codes():
    with pytest.raises(ValidationError) as caught:
        validate_energy("XX")
    assert caught.value.code == "energy_unknown"
    message = " ".join(caught.value.messages)
    assert "XX" in message
    assert "ES, GO, EL" in message


def test_unknown_genre_names_the_accepted_codes():
    with pytest.raises(ValidationError) as caught:
        validate_genre("AUTO")
    assert caught.value.code == "genre_unknown"
    assert "VP, CTTE" in " ".join(caught.value.messages)
