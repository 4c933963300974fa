"""SIREN/SIRET, postcodes, departments (Corsica, overseas) and their regions."""

import pytest
from django.core.exceptions import ValidationError

from dossiers.geography import DEPARTMENTS, department_from_postcode, region_of, validate_department
from dossiers.validators import validate_postcode, validate_siren, validate_siret


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("732829320", "732829320"), ("732 829 320", "732829320"), ("552.008.443", "552008443")],
)
def test_valid_siren_is_returned_as_digits(raw, normalised):
    assert validate_siren(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("73282932", "siren_format"),
        ("73282932A", "siren_format"),
        ("", "siren_format"),
        ("732829321", "siren_checksum"),
    ],
)
def test_invalid_siren_is_rejected(raw, code):
    with pytest.raises(ValidationError) as caught:
        validate_siren(raw)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("35600000049837", "35600000049837"),  # La Poste: digit sum multiple of 5, not Luhn
    ],
)
def test_valid_siret_is_returned_as_digits(raw, normalised):
    assert validate_siret(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("7328293200007", "siret_format"),
        ("732829320000745", "siret_format"),
        ("7328293200007X", "siret_format"),
        (None, "siret_format"),
        ("73282932000079", "siret_checksum"),
        ("35600000049838", "siret_checksum"),
    ],
)
def test_invalid_siret_is_rejected(raw, code):
    with pytest.raises(ValidationError) as caught:
        validate_siret(raw)
    assert caught.value.code == code
    assert "SIRET" in " ".join(caught.value.messages)


@pytest.mark.parametrize(
    ("raw", "normalised"), [("75001", "75001"), (" 20200 ", "20200"), ("97400", "97400")]
)
def test_valid_postcode_is_returned(raw, normalised):
    assert validate_postcode(raw) == normalised


@pytest.mark.parametrize("raw", ["7500", "750011", "75 001", "7500A", "", None])
def test_postcode_must_have_five_digits(raw):
    with pytest.raises(ValidationError) as caught:
        validate_postcode(raw)
    assert caught.value.code == "postcode_format"


def test_all_101_departments_are_loaded_with_their_region():
    assert len(DEPARTMENTS) == 101
    assert "20" not in DEPARTMENTS
    paris = DEPARTMENTS["75"]
    assert (paris.code, paris.name, paris.region_code, paris.region_name) == (
        "75",
        "Paris",
        "11",
        "Île-de-France",
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [("01", "01"), ("2A", "2A"), ("2b", "2B"), (" 75 ", "75"), ("971", "971"), ("976", "976")],
)
def test_known_department_codes_are_accepted(raw, code):
    assert validate_department(raw) == code


@pytest.mark.parametrize("raw", ["1", "20", "96", "975", "977", "00", "", None])
def test_unknown_department_codes_are_rejected(raw):
    with pytest.raises(ValidationError) as caught:
        validate_department(raw)
    assert caught.value.code == "department_unknown"


@pytest.mark.parametrize(
    ("postcode", "department"),
    [
        ("01000", "01"),
        ("75015", "75"),
        ("59000", "59"),
        ("20000", "2A"),  # Ajaccio
        ("20199", "2A"),
        ("20200", "2B"),  # Bastia
        ("20600", "2B"),
        ("20690", "2B"),
        ("97110", "971"),
        ("97200", "972"),
        ("97300", "973"),
        ("97400", "974"),
        ("97600", "976"),
    ],
)
def test_department_is_derived_from_the_postcode(postcode, department):
    assert department_from_postcode(postcode) == department


@pytest.mark.parametrize("postcode", ["97500", "98000", "98800", "00100", "20700", "96000"])
def test_postcode_outside_any_department_is_rejected(postcode):
    with pytest.raises(ValidationError) as caught:
        department_from_postcode(postcode)
    assert caught.value.code == "postcode_department"
    assert postcode in " ".join(caught.value.messages)


def test_malformed_postcode_is_a_format_error():
    with pytest.raises(ValidationError) as caught:
        department_from_postcode("7501")
    assert caught.value.code == "postcode_format"


@pytest.mark.parametrize(
    ("department", "region"),
    [("75", "11"), ("59", "32"), ("2A", "94"), ("2b", "94"), ("33", "75"), ("974", "04"), ("976", "06")],
)
def test_region_of_a_department(department, region):
    assert region_of(department) == region


def test_region_of_an_unknown_department_is_a_validation_error():
    with pytest.raises(ValidationError):
        region_of("99")
