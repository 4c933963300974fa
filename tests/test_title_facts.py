"""Leasing (C.4a) and validity (H) are facts of the title, not the applicant's word (issue 12)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from cert_workflow.checks import services as checks
from cert_workflow.documents.data import OWNER_MENTION, document_data
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers import register, services
from dossiers.models import Dossier, Procedure, RegisteredTitle, State
from tests import factories
from tests.factories import COMPLETE, documents_attach, holder_data, vehicle_data

LEASE_END = date(2029, 6, 30)


def address_change(title: RegisteredTitle) -> dict:
    return {
        "procedure": Procedure.CHANGE_OF_ADDRESS,
        "title": factories.proof(title),
        "holder": holder_data(address_line="4 place Granvelle", postcode="25000", city="Besançon"),
    }


def straight_through_issue(capture, *, dossier: Dossier, owner) -> Dossier:
    """Documents, submission and checks with everything after commit run: straight-through issues."""
    checks.straight_through_rule_set(
        procedure=dossier.procedure, enabled=True, sampling_rate=Decimal(0), actor=factories.supervisor()
    )
    documents_attach(dossier=dossier, owner=owner, kinds=COMPLETE[dossier.procedure])
    with capture(execute=True):
        services.dossier_submit(dossier=dossier, actor=owner)
    dossier.refresh_from_db()
    return dossier


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Certificates are issued here, tasks in-process: see conftest.py."""


def leased() -> RegisteredTitle:
    title = factories.registered()
    RegisteredTitle.objects.filter(pk=title.pk).update(holder_is_owner=False, validity_until=LEASE_END)
    title.refresh_from_db()
    return title


def certificate_data(dossier: Dossier) -> dict:
    return document_data(
        dossier=dossier, kind=DocumentKind.CERTIFICATE, serial="2026CG00042", issued_at=timezone.now()
    )


@pytest.mark.django_db
def test_a_leased_vehicles_change_of_address_prints_no_owner_mention_and_the_new_title_keeps_it(
    django_capture_on_commit_callbacks,
):
    title = leased()
    holder = factories.citizen()
    response = factories.dossier_post(holder, address_change(title))
    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get(reference=response.json()["reference"])

    # The citizen said nothing about leasing: the register's title did.
    assert (dossier.holder_is_owner, dossier.validity_until) == (False, LEASE_END)

    dossier = straight_through_issue(django_capture_on_commit_callbacks, dossier=dossier, owner=holder)
    assert dossier.state == State.ISSUED
    data = certificate_data(dossier)
    assert data["C.4a"] == "" and data["H"] == "30/06/2029"
    certificate = IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.CERTIFICATE)
    current = RegisteredTitle.objects.get(vehicle=title.vehicle, current=True)
    assert current.formule_number == certificate.serial
    assert (current.holder_is_owner, current.validity_until) == (False, LEASE_END)


@pytest.mark.django_db
@pytest.mark.parametrize("fact", [{"holder_is_owner": True}, {"validity_until": "2031-01-01"}])
def test_a_citizen_cannot_declare_the_facts_of_a_registered_vehicle(fact):
    title = leased()
    before = factories.register_counts()

    response = factories.dossier_post(factories.citizen(), {**address_change(title), **fact})

    assert response.status_code == 400
    assert factories.errors_of(response) == {next(iter(fact)): "unknown_field"}
    assert factories.register_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("procedure", [Procedure.FIRST_REGISTRATION, Procedure.IMPORT])
def test_a_citizen_cannot_declare_a_new_vehicles_leasing_or_validity(procedure):
    citizen = factories.citizen()
    before = factories.register_counts()

    response = factories.dossier_post(
        citizen,
        {
            "procedure": procedure,
            "vehicle": vehicle_data(),
            "holder": holder_data(),
            "holder_is_owner": False,
            "validity_until": "2031-01-01",
        },
    )

    assert response.status_code == 400
    assert factories.errors_of(response) == {
        "holder_is_owner": "dealer_only",
        "validity_until": "dealer_only",
    }
    assert "professionnel habilité" in response.json()["errors"][0]["message"]
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_a_dealers_first_registration_prints_its_leasing_and_validity_and_the_register_keeps_them():
    response = factories.dossier_post(
        factories.dealer(),
        {
            "procedure": Procedure.FIRST_REGISTRATION,
            "vehicle": vehicle_data(),
            "holder": holder_data(),
            "holder_is_owner": False,
            "validity_until": "2029-06-30",
            **factories.registration_facts(),
        },
    )
    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get(reference=response.json()["reference"])
    assert not dossier.vehicle.plate  # allocated at issue, never chosen

    data = certificate_data(dossier)
    assert data["C.4a"] == "" and data["H"] == "30/06/2029"
    assert OWNER_MENTION not in data.values()

    # The register follows the issued certificate (what the render queue calls at issue).
    assert register.titles_record_issued(serials={dossier.pk: "2026CG00042"}) == 1
    current = RegisteredTitle.objects.get(vehicle=dossier.vehicle, current=True)
    assert (current.holder_is_owner, current.validity_until) == (False, LEASE_END)


@pytest.mark.django_db
def test_the_buyer_of_a_leased_vehicle_is_its_owner():
    title = leased()
    seller = factories.citizen()
    sold_at = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    declared = factories.dossier_post(
        seller,
        {
            "procedure": Procedure.SALE_DECLARATION,
            "title": factories.proof(title),
            "holder": holder_data(),
            "sale": {"sold_at": sold_at, "mileage_km": 42000},
        },
    )
    assert declared.status_code == 201, declared.content
    code = declared.json()["sale"]["code_de_cession"]
    submitted = factories.api_client(seller).post(f"/api/v1/dossiers/{declared.json()['reference']}/submit/")
    assert submitted.status_code == 200, submitted.content
    buyer = holder_data(last_name="Acheteur", first_names="Jean", birth_date="1990-01-01")
    response = factories.dossier_post(
        factories.citizen(),
        {
            "procedure": Procedure.CHANGE_OF_OWNER,
            "title": {"plate": title.vehicle.plate},
            "holder": buyer,
            "sale": {"sold_at": sold_at, "code_de_cession": code},
        },
    )
    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get(reference=response.json()["reference"])
    assert (dossier.holder_is_owner, dossier.validity_until) == (True, None)
    assert certificate_data(dossier)["C.4a"] == OWNER_MENTION


@pytest.mark.django_db
def test_register_load_reads_the_optional_leasing_and_validity_columns(tmp_path):
    holder = holder_data()
    leased_vehicle, owned_vehicle = vehicle_data(plate="GB-341-KL"), vehicle_data(plate="GB-342-KL")
    columns = [*leased_vehicle, *holder, "formule_number", "holder_is_owner", "validity_until"]
    rows = [
        [*leased_vehicle.values(), *holder.values(), "2018CK00441", "false", "2029-06-30"],
        [*owned_vehicle.values(), *holder.values(), "2018CK00442", "", ""],
    ]
    path = tmp_path / "registre.csv"
    path.write_text("\n".join(",".join(map(str, row)) for row in [columns, *rows]) + "\n", encoding="utf-8")

    call_command("register_load", str(path))

    titles = {t.formule_number: t for t in RegisteredTitle.objects.all()}
    assert (titles["2018CK00441"].holder_is_owner, titles["2018CK00441"].validity_until) == (False, LEASE_END)
    assert (titles["2018CK00442"].holder_is_owner, titles["2018CK00442"].validity_until) == (True, None)
