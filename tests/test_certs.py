"""The nine CERTs loaded by the data migration: every department has exactly one home centre."""

import csv
from collections import Counter
from pathlib import Path

import pytest

from dossiers import centres as cert_data
from dossiers.models import Cert, Procedure

# The reference list of departments (101: 01–95 with 2A/2B, and 971–974, 976).
DEPARTEMENTS_CSV = Path(__file__).resolve().parents[1] / "dossiers" / "data" / "departements.csv"


def department_codes() -> set[str]:
    with DEPARTEMENTS_CSV.open(encoding="utf-8") as handle:
        return {row["code"] for row in csv.DictReader(handle)}


@pytest.mark.django_db
def test_nine_active_centres_are_loaded_by_the_migration():
    certs = Cert.objects.filter(active=True)
    assert sorted(certs.values_list("code", flat=True)) == sorted(
        ["BES", "PAR", "AMI", "CLE", "POI", "NIM", "GUA", "REU", "MAY"]
    )
    assert {cert.city for cert in certs} >= {
        "Besançon",
        "Paris",
        "Amiens",
        "Clermont-Ferrand",
        "Poitiers",
        "Nîmes",
    }


@pytest.mark.django_db
def test_every_department_has_exactly_one_home_centre():
    homes = Counter(code for cert in Cert.objects.all() for code in cert.departments)
    assert len(department_codes()) == 101
    assert set(homes) == department_codes()  # none missing, none unknown
    assert [code for code, count in homes.items() if count != 1] == []


@pytest.mark.django_db
def test_every_centre_handles_every_procedure_with_a_capacity():
    for cert in Cert.objects.all():
        assert sorted(cert.procedures) == sorted(Procedure.values), cert.code
        assert cert.daily_capacity > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("department", "code"),
    [
        ("25", "BES"),  # the pilot: Doubs
        ("77", "BES"),  # Seine-et-Marne stayed with the pilot
        ("94", "BES"),  # Val-de-Marne too
        ("75", "PAR"),
        ("76", "AMI"),  # Seine-Maritime → Amiens
        ("63", "CLE"),
        ("86", "POI"),
        ("30", "NIM"),
        ("2A", "NIM"),
        ("972", "GUA"),
        ("974", "REU"),
        ("976", "MAY"),
    ],
)
def test_known_departments_go_to_their_historical_centre(department, code):
    assert [cert.code for cert in Cert.objects.all() if department in cert.departments] == [code]


def test_pilot_keeps_its_twenty_departments():
    besancon = next(entry for entry in cert_data.CERTS if entry["code"] == "BES")
    assert len(besancon["departments"]) == 20


def test_procedure_codes_of_the_data_match_the_model():
    assert sorted(cert_data.ALL_PROCEDURES) == sorted(Procedure.values)


@pytest.mark.django_db
def test_loading_the_centres_again_changes_nothing():
    from importlib import import_module

    from django.apps import apps

    before = list(Cert.objects.order_by("code").values())
    import_module("dossiers.migrations.0004_load_certs").load_certs(apps, None)
    assert list(Cert.objects.order_by("code").values()) == before
