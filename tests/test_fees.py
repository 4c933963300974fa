"""Fees Y.1–Y.6 against the worked examples and dated rate tables of docs/domain/REFERENCE.md §5."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dossiers.fees import Fees, FeesUnavailable, RegionalRate, compute_fees, regional_tax
from dossiers.geography import DEPARTMENTS
from dossiers.validators import ENERGY_CODES, GENRE_CODES

D = Decimal


def fees(**overrides) -> Fees:
    """A petrol passenger car, 5 CV, registered in the Rhône (Auvergne-Rhône-Alpes, 43 €/CV), light
    and clean enough for no malus, unless a test says otherwise."""
    values = {
        "fiscal_power": 5,
        "energy": "ES",
        "genre": "VP",
        "co2_g_km": 100,
        "mass_kg": 1200,
        "ptac_kg": 1700,
        "department": "69",
        "on": date(2026, 5, 4),
        "first_registration_in_france": False,
        "vehicle_age_years": 0,
    }
    values.update(overrides)
    return compute_fees(**values)


def new_car(**overrides) -> Fees:
    return fees(first_registration_in_france=True, **overrides)


# --- Y.1 -------------------------------------------------------------------------------------


def test_regional_tax_is_fiscal_power_times_the_rate_of_the_region():
    assert fees(fiscal_power=5).y1 == D("215.00")  # 5 × 43


@pytest.mark.parametrize(
    ("department", "on", "y1"),
    [
        ("59", date(2025, 2, 28), D("181.00")),  # Hauts-de-France 5 × 36.20
        ("59", date(2025, 3, 1), D("210.00")),  # 5 × 42
        ("33", date(2026, 2, 28), D("265.00")),  # Nouvelle-Aquitaine 5 × 53
        ("33", date(2026, 3, 1), D("290.00")),  # 5 × 58
        ("974", date(2026, 1, 31), D("285.00")),  # La Réunion 5 × 57
        ("974", date(2026, 2, 1), D("300.00")),  # 5 × 60
        ("2A", date(2025, 12, 31), D("215.00")),  # Corse 5 × 43
        ("2B", date(2026, 1, 1), D("265.00")),  # 5 × 53
    ],
)
def test_regional_rate_changes_on_the_day_the_region_voted(department, on, y1):
    assert fees(department=department, on=on).y1 == y1


@pytest.mark.parametrize(
    ("on", "y1"),
    [
        (date(2026, 3, 31), D("0.00")),  # Hauts-de-France still exempts EVs
        (date(2026, 4, 1), D("215.00")),  # exemption over, 5 × 43
    ],
)
def test_electric_exemption_ends_in_hauts_de_france_after_march_2026(on, y1):
    assert fees(energy="EL", co2_g_km=None, department="59", on=on).y1 == y1


def test_fully_exempt_new_electric_car_pays_only_the_fixed_taxes():
    owed = new_car(energy="EL", co2_g_km=None, mass_kg=2300, department="62", on=date(2026, 3, 31))
    assert (owed.y1, owed.y2, owed.y3, owed.y6) == (D("0.00"), D("0.00"), D("0.00"), D("13.76"))
    assert owed.notes


@pytest.mark.parametrize("energy", ["EL", "H2"])
def test_zero_emission_vehicles_pay_the_regional_tax_where_the_region_dropped_the_exemption(energy):
    assert fees(energy=energy, co2_g_km=None, department="75", on=date(2025, 4, 30)).y1 == D("0.00")
    assert fees(energy=energy, co2_g_km=None, department="75", on=date(2025, 5, 1)).y1 == D("274.75")


def test_unverified_overseas_exemption_is_charged_in_full_with_a_note():
    owed = fees(energy="EL", co2_g_km=None, department="971", on=date(2026, 5, 4))
    assert owed.y1 == D("205.00")  # Guadeloupe 5 × 41
    assert any("non vérifiée" in note for note in owed.notes)


def test_rate_above_the_legal_cap_is_charged_at_60_euros_per_cv():
    voted_too_high = RegionalRate("28", "Normandie", D("65.00"), D("0"), date(2026, 1, 1), date(2026, 12, 31))
    y1, _notes = regional_tax(
        rate=voted_too_high, fiscal_power=7, energy="ES", genre="VP", on=date(2026, 5, 4), vehicle_age_years=0
    )
    assert y1 == D("420.00")  # 7 × 60, not 7 × 65


def test_rate_at_the_cap_is_charged_in_full():
    assert fees(department="76", fiscal_power=7).y1 == D("420.00")  # Normandie 7 × 60


@pytest.mark.parametrize(
    ("age", "y1"),
    [(0, D("384.65")), (10, D("384.65")), (11, D("192.33")), (25, D("192.33"))],
)
def test_regional_tax_is_halved_for_vehicles_older_than_ten_years(age, y1):
    # Île-de-France before the IDFM majoration: 7 × 54.95 = 384.65, halved 192.325 rounded up.
    assert fees(department="75", fiscal_power=7, on=date(2026, 2, 1), vehicle_age_years=age).y1 == y1


@pytest.mark.parametrize(
    ("mode", "on", "y1"),
    [
        ("per_cv", date(2026, 2, 28), D("384.65")),  # 7 × 54.95, before the majoration
        ("per_cv", date(2026, 3, 1), D("482.65")),  # 7 × 68.95: not capped at 60, a separate tax
        ("flat", date(2026, 2, 28), D("384.65")),
        ("flat", date(2026, 3, 1), D("398.65")),  # 7 × 54.95 + 14
    ],
)
def test_idf_mobilites_majoration_follows_the_configured_basis(settings, mode, on, y1):
    settings.FEES_IDF_MAJORATION = mode
    owed = fees(department="93", fiscal_power=7, on=on)
    assert owed.y1 == y1
    assert owed.y6 == y1 + D("13.76")


def test_idf_mobilites_majoration_is_per_cv_by_default(settings):
    del settings.FEES_IDF_MAJORATION
    assert fees(department="75", fiscal_power=7, on=date(2026, 3, 1)).y1 == D("482.65")


def test_idf_majoration_outside_ile_de_france_is_not_charged(settings):
    settings.FEES_IDF_MAJORATION = "flat"
    assert fees(department="69", on=date(2026, 3, 1)).y1 == D("215.00")


def test_unknown_idf_majoration_mode_is_a_configuration_error(settings):
    settings.FEES_IDF_MAJORATION = "per_title"
    with pytest.raises(ImproperlyConfigured):
        fees(department="75", on=date(2026, 3, 1))


@pytest.mark.parametrize("on", [date(2024, 12, 31), date(2027, 1, 1), date(2030, 6, 1)])
def test_dates_outside_the_rate_tables_are_refused_instead_of_guessed(on):
    with pytest.raises(FeesUnavailable) as caught:
        fees(on=on)
    assert isinstance(caught.value, ValueError)
    assert on.isoformat() in str(caught.value)
    assert caught.value.on == on


# --- Y.2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("genre", "ptac_kg", "y2"),
    [
        ("CTTE", 1800, D("34.00")),
        ("CTTE", 3500, D("34.00")),
        ("CAM", 3501, D("127.00")),
        ("CAM", 6000, D("127.00")),
        ("CAM", 6001, D("189.00")),
        ("CAM", 10999, D("189.00")),
        ("CAM", 11000, D("285.00")),
        ("TRR", 19000, D("285.00")),
        ("TCP", 18000, D("285.00")),
        ("VP", 2500, D("0.00")),
        ("VASP", 4200, D("0.00")),
        ("MTL", 300, D("0.00")),
        ("CL", None, D("0.00")),
    ],
)
def test_transport_tax_by_ptac_for_goods_vehicles_and_buses_only(genre, ptac_kg, y2):
    assert fees(genre=genre, ptac_kg=ptac_kg).y2 == y2


def test_goods_vehicle_without_ptac_cannot_be_taxed():
    with pytest.raises(ValueError, match="ptac_kg"):
        fees(genre="CTTE", ptac_kg=None)


# --- Y.3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("co2_g_km", "y3"),
    [
        (107, D("0.00")),
        (108, D("50.00")),
        (140, D("2205.00")),
        (150, D("4279.00")),
        (160, D("8770.00")),
        (170, D("22380.00")),
        (180, D("45990.00")),
        (191, D("79911.00")),
        (192, D("80000.00")),
        (260, D("80000.00")),
    ],
)
def test_2026_co2_malus_matches_the_published_grid(co2_g_km, y3):
    assert new_car(co2_g_km=co2_g_km, on=date(2026, 1, 1)).y3 == y3


@pytest.mark.parametrize(
    ("co2_g_km", "y3"),
    [(112, D("0.00")), (113, D("50.00")), (118, D("170.00")), (192, D("67467.00")), (193, D("70000.00"))],
)
def test_2025_co2_malus_applies_from_march_2025(co2_g_km, y3):
    assert new_car(co2_g_km=co2_g_km, on=date(2025, 3, 1)).y3 == y3


def test_weight_malus_of_a_1950_kg_car_in_2026_is_6775_euros():
    # 200 × 10 + 100 × 15 + 100 × 20 + 51 × 25
    assert new_car(mass_kg=1950, co2_g_km=100).y3 == D("6775.00")


@pytest.mark.parametrize(
    ("on", "mass_kg", "y3"),
    [
        (date(2026, 5, 4), 1499, D("0.00")),
        (date(2026, 5, 4), 1500, D("10.00")),
        (date(2026, 5, 4), 1700, D("2015.00")),  # 200 × 10 + 1 × 15
        (date(2026, 5, 4), 2100, D("11030.00")),  # 2000 + 1500 + 2000 + 2500 + 101 × 30
        (date(2025, 6, 1), 1599, D("0.00")),
        (date(2025, 6, 1), 1950, D("4520.00")),  # 200 × 10 + 100 × 15 + 51 × 20
        (date(2025, 6, 1), 2100, D("8030.00")),  # 2000 + 1500 + 2000 + 2500 + 1 × 30
    ],
)
def test_weight_malus_counts_each_band_at_its_own_rate(on, mass_kg, y3):
    assert new_car(mass_kg=mass_kg, co2_g_km=100, on=on).y3 == y3


def test_co2_and_weight_malus_add_up_below_the_cap():
    assert new_car(co2_g_km=150, mass_kg=1950).y3 == D("11054.00")  # 4279 + 6775


@pytest.mark.parametrize(
    ("on", "co2_g_km", "mass_kg", "cap"),
    [
        (date(2026, 5, 4), 191, 1600, D("80000.00")),  # 79911 + 1010
        (date(2025, 6, 1), 192, 2000, D("70000.00")),  # 67467 + 5525
    ],
)
def test_co2_and_weight_malus_together_are_capped_at_the_year_co2_cap(on, co2_g_km, mass_kg, cap):
    owed = new_car(co2_g_km=co2_g_km, mass_kg=mass_kg, on=on)
    assert owed.y3 == cap
    assert any("plafonnés" in note for note in owed.notes)


@pytest.mark.parametrize("energy", ["EH", "EE", "GL", "GH"])
def test_hybrids_get_100_kg_off_the_weight_malus(energy):
    # 1,950 kg counted as 1,850: 200 × 10 + 100 × 15 + 51 × 20
    owed = new_car(energy=energy, mass_kg=1950, co2_g_km=100)
    assert owed.y3 == D("4520.00")
    assert any("100 kg" in note for note in owed.notes)


@pytest.mark.parametrize(
    ("on", "y3"),
    [(date(2026, 6, 30), D("0.00")), (date(2026, 7, 1), D("1010.00"))],  # 2,200 − 600 = 1,600 kg
)
def test_electric_cars_pay_weight_malus_above_600_kg_allowance_from_july_2026(on, y3):
    owed = new_car(energy="EL", co2_g_km=None, mass_kg=2200, on=on)
    assert owed.y3 == y3
    assert owed.notes


def test_electric_cars_pay_no_co2_malus_even_with_a_co2_figure():
    assert new_car(energy="H2", co2_g_km=200, mass_kg=1400, on=date(2026, 8, 1)).y3 == D("0.00")


def test_malus_is_only_charged_on_a_first_registration_in_france():
    assert fees(co2_g_km=250, mass_kg=2400).y3 == D("0.00")
    assert new_car(co2_g_km=250, mass_kg=2400).y3 == D("80000.00")


@pytest.mark.parametrize("genre", ["CTTE", "CAM", "MTT2", "QM", "VASP"])
def test_malus_is_only_charged_on_passenger_cars(genre):
    assert new_car(genre=genre, co2_g_km=250, mass_kg=2400, ptac_kg=3000).y3 == D("0.00")


def test_missing_co2_of_a_thermal_new_car_is_an_error():
    with pytest.raises(ValueError, match="co2_g_km"):
        new_car(co2_g_km=None)


def test_january_2025_malus_needs_the_2024_grid_the_tables_lack():
    with pytest.raises(FeesUnavailable, match="2025-02-28"):
        new_car(co2_g_km=150, on=date(2025, 2, 28))


@pytest.mark.parametrize(
    ("energy", "co2_g_km", "y3"),
    [("ES", 194, D("60000.00")), ("ES", 230, D("60000.00")), ("EL", None, D("0.00"))],
)
def test_january_2025_malus_is_computed_where_the_reference_settles_it(energy, co2_g_km, y3):
    owed = new_car(energy=energy, co2_g_km=co2_g_km, mass_kg=2500, on=date(2025, 1, 15))
    assert owed.y3 == y3


# --- Y.4–Y.6 ---------------------------------------------------------------------------------


def test_fixed_tax_and_delivery_fee_are_on_every_title():
    owed = fees()
    assert (owed.y4, owed.y5) == (D("11.00"), D("2.76"))
    assert owed.y6 == D("228.76")  # 215 + 11 + 2.76


def test_total_of_a_heavy_new_van():
    owed = new_car(genre="CTTE", fiscal_power=8, ptac_kg=3500, co2_g_km=210, mass_kg=2300, department="13")
    assert owed.as_dict() == {
        "y1": "480.00",  # PACA 8 × 60
        "y2": "34.00",
        "y3": "0.00",
        "y4": "11.00",
        "y5": "2.76",
        "y6": "527.76",
    }


def test_fees_are_immutable():
    owed = fees()
    with pytest.raises(AttributeError):
        owed.y1 = D("0")


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    department=st.sampled_from(sorted(DEPARTMENTS)),
    on=st.dates(min_value=date(2025, 3, 1), max_value=date(2026, 12, 31)),
    energy=st.sampled_from(sorted(ENERGY_CODES)),
    genre=st.sampled_from(sorted(GENRE_CODES)),
    fiscal_power=st.integers(min_value=0, max_value=60),
    co2_g_km=st.integers(min_value=0, max_value=400),
    mass_kg=st.integers(min_value=600, max_value=4000),
    ptac_kg=st.integers(min_value=500, max_value=44000),
    age=st.integers(min_value=0, max_value=40),
    first=st.booleans(),
)
def test_total_is_always_the_sum_of_the_parts(
    department, on, energy, genre, fiscal_power, co2_g_km, mass_kg, ptac_kg, age, first
):
    owed = compute_fees(
        fiscal_power=fiscal_power,
        energy=energy,
        genre=genre,
        co2_g_km=co2_g_km,
        mass_kg=mass_kg,
        ptac_kg=ptac_kg,
        department=department,
        on=on,
        first_registration_in_france=first,
        vehicle_age_years=age,
    )
    parts = (owed.y1, owed.y2, owed.y3, owed.y4, owed.y5)
    assert owed.y6 == sum(parts)
    assert all(part >= 0 and part.as_tuple().exponent == -2 for part in (*parts, owed.y6))
    assert owed.y3 <= D("80000")
    assert owed.y6 >= D("13.76")
