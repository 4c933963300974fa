"""GET /api/v1/fees/quote/: Y.1–Y.6 for a vehicle, the same numbers as dossiers.fees.compute_fees."""

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from dossiers.fees import compute_fees
from tests import factories

pytestmark = pytest.mark.django_db

ON = date(2026, 6, 1)

# (query parameters, compute_fees arguments): a petrol car, an old diesel, an electric car, a new
# car in Île-de-France with its malus, a van (Y.2), a hybrid import, a motorbike in Corsica.
VEHICLES = [
    (
        {"fiscal_power": "7", "energy": "ES", "genre": "VP", "department": "25"},
        {"fiscal_power": 7, "energy": "ES", "genre": "VP", "department": "25"},
    ),
    (
        {"fiscal_power": "6", "energy": "GO", "genre": "VP", "department": "33", "vehicle_age_years": "12"},
        {"fiscal_power": 6, "energy": "GO", "genre": "VP", "department": "33", "vehicle_age_years": 12.0},
    ),
    (
        {"fiscal_power": "4", "energy": "EL", "genre": "VP", "department": "69", "first_registration_in_france": "true", "mass_kg": "1700"},
        {"fiscal_power": 4, "energy": "EL", "genre": "VP", "department": "69", "first_registration_in_france": True, "mass_kg": 1700},
    ),
    (
        {"fiscal_power": "11", "energy": "ES", "genre": "VP", "department": "75", "first_registration_in_france": "true", "co2_g_km": "180", "mass_kg": "1900"},
        {"fiscal_power": 11, "energy": "ES", "genre": "VP", "department": "75", "first_registration_in_france": True, "co2_g_km": 180, "mass_kg": 1900},
    ),
    (
        {"fiscal_power": "8", "energy": "GO", "genre": "CTTE", "department": "59", "ptac_kg": "3500"},
        {"fiscal_power": 8, "energy": "GO", "genre": "CTTE", "department": "59", "ptac_kg": 3500},
    ),
    (
        {"fiscal_power": "9", "energy": "EH", "genre": "VP", "department": "13", "first_registration_in_france": "1", "co2_g_km": "140", "mass_kg": "1750", "vehicle_age_years": "3"},
        {"fiscal_power": 9, "energy": "EH", "genre": "VP", "department": "13", "first_registration_in_france": True, "co2_g_km": 140, "mass_kg": 1750, "vehicle_age_years": 3.0},
    ),
    (
        {"fiscal_power": "3", "energy": "ES", "genre": "MTT2", "department": "2A"},
        {"fiscal_power": 3, "energy": "ES", "genre": "MTT2", "department": "2A"},
    ),
]  # fmt: skip

DEFAULTS = {
    "co2_g_km": None,
    "mass_kg": None,
    "ptac_kg": None,
    "first_registration_in_france": False,
    "vehicle_age_years": None,
}


@pytest.mark.parametrize(("params", "arguments"), VEHICLES)
def test_quote_gives_the_same_fees_and_notes_as_compute_fees(params, arguments):
    expected = compute_fees(**{**DEFAULTS, **arguments, "on": ON})

    response = APIClient().get("/api/v1/fees/quote/", {**params, "on": ON.isoformat()})

    assert response.status_code == 200, response.content
    body = response.json()
    assert {name: Decimal(body[name]) for name in ("y1", "y2", "y3", "y4", "y5", "y6")} == {
        name: getattr(expected, name) for name in ("y1", "y2", "y3", "y4", "y5", "y6")
    }
    assert body["notes"] == list(expected.notes)
    assert body["on"] == ON.isoformat()


def test_quote_is_public_and_dated_today_by_default():
    response = APIClient().get("/api/v1/fees/quote/", VEHICLES[0][0])
    assert response.status_code == 200
    assert Decimal(response.json()["y6"]) > 0


def test_every_bad_parameter_is_reported_at_once_with_what_was_expected():
    response = APIClient().get(
        "/api/v1/fees/quote/",
        {
            "fiscal_power": "0",
            "energy": "XX",
            "genre": "VP",
            "department": "99",
            "on": "demain",
            "vehicle_age_years": "-1",
            "paid": "true",
        },
    )

    assert response.status_code == 400
    errors = {error["field"]: error for error in response.json()["errors"]}
    assert {field: error["rule"] for field, error in errors.items()} == {
        "fiscal_power": "min_value",
        "energy": "invalid_choice",
        "department": "invalid_choice",
        "on": "invalid",
        "vehicle_age_years": "min_value",
        "paid": "unknown_field",
    }
    assert "ES" in errors["energy"]["expected"] and "2A" in errors["department"]["expected"]
    assert all(error["message"] and error["expected"] for error in errors.values())


def test_missing_parameters_are_named_including_what_a_case_needs():
    empty = APIClient().get("/api/v1/fees/quote/")
    assert factories.errors_of(empty) == {
        "fiscal_power": "required",
        "energy": "required",
        "genre": "required",
        "department": "required",
    }
    malus = APIClient().get(
        "/api/v1/fees/quote/",
        {
            "fiscal_power": "7",
            "energy": "ES",
            "genre": "VP",
            "department": "25",
            "first_registration_in_france": "true",
        },
    )
    assert factories.errors_of(malus) == {"co2_g_km": "required", "mass_kg": "required"}
    van = APIClient().get(
        "/api/v1/fees/quote/", {"fiscal_power": "7", "energy": "GO", "genre": "CAM", "department": "25"}
    )
    assert factories.errors_of(van) == {"ptac_kg": "required"}


def test_a_date_the_rate_tables_do_not_cover_is_a_clear_error():
    response = APIClient().get("/api/v1/fees/quote/", {**VEHICLES[0][0], "on": "2031-01-01"})
    assert response.status_code == 400
    assert factories.errors_of(response) == {"on": "fees_unavailable"}
    assert "2031-01-01" in response.json()["errors"][0]["message"]


def test_quote_and_payments_are_in_the_openapi_schema():
    schema = APIClient().get("/api/schema/").content.decode()
    assert "/api/v1/fees/quote/" in schema and "fiscal_power" in schema
    assert "/api/v1/dossiers/{reference}/payments/" in schema
