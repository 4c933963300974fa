"""Proof of title: the register decides who holds a vehicle, not the applicant (issue 12)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cert_workflow.checks import services as checks
from cert_workflow.documents import signing
from cert_workflow.models import Assessment, DocumentKind, IssuedDocument
from dossiers import services
from dossiers.models import Dossier, Procedure, RegisteredTitle, Sale, State, TitleProofFailure, Vehicle
from dossiers.register import titles_record_issued
from tests import factories
from tests.factories import COMPLETE, documents_attach, holder_data, vehicle_data

REFUSAL = "title_not_proved"


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Dossiers here upload documents and issue certificates, tasks in-process: see conftest.py."""


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


def address_change(title: RegisteredTitle, **holder) -> dict:
    return {
        "procedure": Procedure.CHANGE_OF_ADDRESS,
        "title": factories.proof(title),
        "holder": holder_data(address_line="4 place Granvelle", postcode="25000", city="Besançon", **holder),
    }


# --- Finding 1: a VIN and a name got a certificate for someone else's car ----------------------


@pytest.mark.django_db
def test_the_holders_change_of_address_goes_straight_through_and_the_register_follows(
    django_capture_on_commit_callbacks,
):
    title = factories.registered()
    holder = factories.citizen()
    response = factories.dossier_post(holder, address_change(title))
    assert response.status_code == 201, response.content

    dossier = straight_through_issue(
        django_capture_on_commit_callbacks,
        dossier=Dossier.objects.get(reference=response.json()["reference"]),
        owner=holder,
    )

    assert dossier.state == State.ISSUED
    assert dossier.assessment.route == Assessment.Route.STRAIGHT_THROUGH
    certificate = IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.CERTIFICATE)
    current = RegisteredTitle.objects.get(vehicle=title.vehicle, current=True)
    assert current.formule_number == certificate.serial != title.formule_number
    assert (current.holder.last_name, current.holder.address_line) == ("Martin", "4 place Granvelle")
    assert current.holder_id != dossier.holder_id  # the register keeps its own row
    title.refresh_from_db()
    assert title.current is False


@pytest.mark.django_db
def test_another_citizen_with_the_vin_plate_and_formule_gets_nothing_and_the_certificate_stays(
    django_capture_on_commit_callbacks,
):
    title = factories.registered()
    holder = factories.citizen()
    genuine = Dossier.objects.get(
        reference=factories.dossier_post(holder, address_change(title)).json()["reference"]
    )
    genuine = straight_through_issue(django_capture_on_commit_callbacks, dossier=genuine, owner=holder)
    certificate = IssuedDocument.objects.get(dossier=genuine, kind=DocumentKind.CERTIFICATE)
    current = RegisteredTitle.objects.get(vehicle=title.vehicle, current=True)
    attacker = factories.citizen(last_name="Durand")
    before = factories.register_counts()

    # Their own name, the real VIN, plate and even the current formule number: refused.
    with_vehicle = {**address_change(current, last_name="Durand"), "vehicle": {"vin": title.vehicle.vin}}
    assert factories.errors_of(factories.dossier_post(attacker, with_vehicle)) == {"vehicle": "unknown_field"}
    for procedure in (Procedure.CHANGE_OF_ADDRESS, Procedure.DUPLICATE, Procedure.CORRECTION):
        body = {**address_change(current, last_name="Durand"), "procedure": procedure}
        response = factories.dossier_post(attacker, body)
        assert response.status_code == 400
        assert factories.errors_of(response) == {"title": REFUSAL}
    sale = {
        "procedure": Procedure.SALE_DECLARATION,
        "title": factories.proof(current),
        "holder": holder_data(last_name="Durand"),
        "sale": {"sold_at": "2026-11-20T10:00"},
    }
    assert factories.errors_of(factories.dossier_post(attacker, sale)) == {"title": REFUSAL}

    assert factories.register_counts() == before
    assert signing.token_verify(signing.document_token(certificate)).status == "authentique"


@pytest.mark.django_db
def test_unknown_plate_wrong_formule_and_not_the_holder_get_the_same_answer():
    title = factories.registered()
    attacker = factories.citizen()
    before = factories.register_counts()

    unknown_plate = address_change(title)
    unknown_plate["title"] = {"plate": "HX-404-QZ", "formule_number": title.formule_number}
    wrong_formule = address_change(title)
    wrong_formule["title"] = {"plate": title.vehicle.plate, "formule_number": "2019ZZ99999"}
    not_the_holder = address_change(title, last_name="Durand")
    wrong_birth_date = address_change(title, birth_date="1985-04-13")

    answers = [
        factories.dossier_post(attacker, body)
        for body in (unknown_plate, wrong_formule, not_the_holder, wrong_birth_date)
    ]
    assert {response.status_code for response in answers} == {400}
    assert len({response.content for response in answers}) == 1
    assert factories.errors_of(answers[0]) == {"title": REFUSAL}
    for response in answers:
        assert title.vehicle.vin not in response.content.decode()
        assert title.vehicle.make not in response.content.decode()
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_a_dealer_under_mandate_files_for_the_holder_but_never_straight_through(
    django_capture_on_commit_callbacks,
):
    title = factories.registered()
    garage = factories.dealer()
    response = factories.dossier_post(garage, address_change(title))
    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get(reference=response.json()["reference"])
    documents_attach(dossier=dossier, owner=garage, kinds=["mandate"])

    dossier = straight_through_issue(django_capture_on_commit_callbacks, dossier=dossier, owner=garage)

    assert dossier.state == State.QUEUED
    assert dossier.assessment.route == Assessment.Route.REVIEW
    assert dossier.check_results.get(code="mandate").outcome == "warning"
    assert RegisteredTitle.objects.get(vehicle=title.vehicle, current=True) == title


@pytest.mark.django_db
def test_a_change_of_address_changes_only_the_address_of_the_registered_holder():
    title = factories.registered()
    body = address_change(title, first_names="Autre Prénom", email="autre@example.fr")
    response = factories.dossier_post(factories.citizen(), body)
    assert response.status_code == 201, response.content
    holder = Dossier.objects.get(reference=response.json()["reference"]).holder
    assert (holder.first_names, holder.email) == (title.holder.first_names, title.holder.email)
    assert (holder.address_line, holder.department) == ("4 place Granvelle", "25")
    assert response.json()["vehicle"]["vin"] == title.vehicle.vin  # the holder sees their own vehicle


# --- Finding 3: the department is the postcode's ------------------------------------------------


@pytest.mark.django_db
def test_a_department_that_disagrees_with_the_postcode_is_refused():
    user = factories.citizen()
    before = factories.register_counts()
    body = {
        "procedure": Procedure.FIRST_REGISTRATION,
        "vehicle": vehicle_data(),
        "holder": holder_data(postcode="75001", city="Paris", department="976"),
    }
    response = factories.dossier_post(user, body)
    assert response.status_code == 400
    assert factories.errors_of(response) == {"holder.department": "department_mismatch"}
    assert factories.register_counts() == before

    body["holder"]["department"] = "75"
    assert factories.dossier_post(user, body).status_code == 201
    body = {**body, "vehicle": vehicle_data(), "holder": holder_data(postcode="75001", city="Paris")}
    created = factories.dossier_post(user, body).json()
    assert created["holder"]["department"] == "75"


# --- Finding 4: vehicle records leaked and were poisoned ----------------------------------------


@pytest.mark.django_db
def test_a_known_vin_is_refused_for_a_first_registration_without_its_data():
    title = factories.registered(vehicle=vehicle_data(make="ALPINE", commercial_name="A110"))
    user = factories.citizen()
    before = factories.register_counts()

    response = factories.dossier_post(
        user,
        {
            "procedure": Procedure.IMPORT,
            "vehicle": vehicle_data(vin=title.vehicle.vin),
            "holder": holder_data(last_name="Durand"),
        },
    )

    assert response.status_code == 400
    assert factories.errors_of(response) == {"vehicle.vin": "vin_unavailable"}
    text = response.content.decode()
    assert title.vehicle.plate not in text and "ALPINE" not in text and "A110" not in text
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_a_dealers_later_dossier_never_takes_another_users_vehicle_data():
    citizen = factories.citizen()
    invented = vehicle_data(make="INVENTE", fiscal_power=1, co2_g_km=0)
    first = factories.dossier_post(
        citizen, {"procedure": Procedure.FIRST_REGISTRATION, "vehicle": invented, "holder": holder_data()}
    )
    assert first.status_code == 201
    vehicle_row = list(Vehicle.objects.filter(vin=invented["vin"]).values())
    before = factories.register_counts()

    response = factories.dossier_post(
        factories.dealer(),
        {
            "procedure": Procedure.FIRST_REGISTRATION,
            "vehicle": vehicle_data(vin=invented["vin"]),
            "holder": holder_data(last_name="Client"),
            **factories.registration_facts(),
        },
    )

    assert response.status_code == 400
    assert factories.errors_of(response) == {"vehicle.vin": "vin_unavailable"}
    assert "INVENTE" not in response.content.decode()
    assert list(Vehicle.objects.filter(vin=invented["vin"]).values()) == vehicle_row
    assert factories.register_counts() == before


# --- Finding 5: a first registration with a chosen plate ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("procedure", [Procedure.FIRST_REGISTRATION, Procedure.IMPORT])
def test_a_new_vehicle_never_comes_with_a_chosen_plate(procedure):
    user = factories.dealer()
    before = factories.register_counts()
    body = {"procedure": procedure, "vehicle": vehicle_data(plate="ZZ-999-ZZ"), "holder": holder_data()}
    if procedure == Procedure.FIRST_REGISTRATION:
        body.update(factories.registration_facts())
    response = factories.dossier_post(user, body)
    assert response.status_code == 400
    assert factories.errors_of(response) == {"vehicle.plate": "plate_assigned"}
    assert factories.register_counts() == before
    assert not Vehicle.objects.filter(plate="ZZ-999-ZZ").exists()


# --- Change of owner: the seller's code de cession, once ----------------------------------------


def sale_declaration(user, title: RegisteredTitle):
    """The holder declares the sale and submits it (a draft's code opens nothing): the creation's answer."""
    created = factories.dossier_post(
        user,
        {
            "procedure": Procedure.SALE_DECLARATION,
            "title": factories.proof(title),
            "holder": holder_data(),
            "sale": {"sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "mileage_km": 42000},
        },
    )
    if created.status_code == 201:
        reference = created.json()["reference"]
        submitted = factories.api_client(user).post(f"/api/v1/dossiers/{reference}/submit/")
        assert submitted.status_code == 200, submitted.content
    return created


def change_of_owner(title: RegisteredTitle, code: str) -> dict:
    return {
        "procedure": Procedure.CHANGE_OF_OWNER,
        "title": {"plate": title.vehicle.plate},
        "holder": holder_data(last_name="Acheteur", first_names="Jean", birth_date="1990-01-01"),
        "sale": {"sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "code_de_cession": code},
    }


@pytest.mark.django_db
def test_the_sellers_code_de_cession_opens_one_change_of_owner_and_only_one():
    title = factories.registered()
    seller = factories.citizen()
    declared = sale_declaration(seller, title)
    assert declared.status_code == 201, declared.content
    code = declared.json()["sale"]["code_de_cession"]
    assert len(code) == 12

    buyer = factories.citizen(last_name="Acheteur")
    bought = factories.dossier_post(buyer, change_of_owner(title, code.lower()))
    assert bought.status_code == 201, bought.content
    dossier = Dossier.objects.get(reference=bought.json()["reference"])
    assert dossier.vehicle_id == title.vehicle_id and dossier.holder.last_name == "Acheteur"
    assert (
        Sale.objects.get(code_de_cession=code, dossier__procedure=Procedure.SALE_DECLARATION).code_used_by
        == dossier
    )
    # The register changes only when the buyer's certificate is issued.
    assert RegisteredTitle.objects.get(vehicle=title.vehicle, current=True) == title

    before = factories.register_counts()
    again = factories.dossier_post(factories.citizen(), change_of_owner(title, code))
    assert again.status_code == 400
    assert factories.errors_of(again) == {"title": REFUSAL}
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_a_wrong_or_expired_code_de_cession_gets_the_one_refusal():
    title = factories.registered()
    code = sale_declaration(factories.citizen(), title).json()["sale"]["code_de_cession"]
    other = factories.registered()
    before = factories.register_counts()

    wrong = factories.dossier_post(factories.citizen(), change_of_owner(title, "ABCDEFGH2345"))
    elsewhere = factories.dossier_post(
        factories.citizen(), change_of_owner(other, code)
    )  # another vehicle's plate
    Sale.objects.filter(code_de_cession=code).update(code_expires_at=timezone.now() - timedelta(seconds=1))
    expired = factories.dossier_post(factories.citizen(), change_of_owner(title, code))

    assert {r.status_code for r in (wrong, elsewhere, expired)} == {400}
    assert len({r.content for r in (wrong, elsewhere, expired)}) == 1
    assert factories.errors_of(wrong) == {"title": REFUSAL}
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_a_change_of_owner_without_code_goes_to_a_human_with_the_old_title():
    title = factories.registered()
    body = change_of_owner(title, "")
    body["title"] = factories.proof(title)
    response = factories.dossier_post(factories.citizen(), body)
    assert response.status_code == 201, response.content
    dossier = Dossier.objects.get(reference=response.json()["reference"])
    # Even with straight-through turned on for changes of owner, the cerfa is read by an agent.
    checks.straight_through_rule_set(
        procedure=Procedure.CHANGE_OF_OWNER,
        enabled=True,
        sampling_rate=Decimal(0),
        actor=factories.supervisor(),
    )
    documents_attach(dossier=dossier, owner=dossier.applicant, kinds=COMPLETE[Procedure.CHANGE_OF_OWNER])
    factories.fees_pay(dossier)
    services.dossier_submit(dossier=dossier, actor=dossier.applicant)

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]
    assert dossier.check_results.get(code="code_de_cession").outcome == "warning"
    assert RegisteredTitle.objects.get(vehicle=title.vehicle, current=True) == title


# --- The register file ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_load_is_idempotent_on_the_vin(tmp_path, capsys):
    vehicle, holder = vehicle_data(plate="GB-321-KL"), holder_data()
    columns = [*vehicle, *holder, "formule_number", "issued_at"]
    rows = [
        [*vehicle.values(), *holder.values(), "2018CK00421", "2018-06-01"],
        [*vehicle_data(plate="GB-322-KL").values(), *holder.values(), "2018CK00422", ""],
    ]
    path = tmp_path / "registre.csv"
    path.write_text("\n".join(",".join(map(str, row)) for row in [columns, *rows]) + "\n", encoding="utf-8")

    call_command("register_load", str(path))
    loaded = factories.register_counts()
    call_command("register_load", str(path))

    assert factories.register_counts() == loaded
    assert loaded["models"]["RegisteredTitle"] == 2
    title = RegisteredTitle.objects.get(formule_number="2018CK00421")
    assert (title.vehicle.plate, title.vehicle.vin, title.holder.last_name, title.current) == (
        "GB-321-KL",
        vehicle["vin"],
        "Martin",
        True,
    )
    assert "0 titres chargés, 2 déjà présents" in capsys.readouterr().out


@pytest.mark.django_db
def test_register_load_reports_wrong_rows_and_loads_the_others(tmp_path, capsys):
    vehicle, holder = vehicle_data(plate="GB-331-KL"), holder_data()
    this_year = timezone.localdate().year
    columns = [*vehicle, *holder, "formule_number"]
    rows = [
        [*vehicle.values(), *holder.values(), "2018CK00431"],
        # A formule number of this year could meet a serial the portal issues.
        [*vehicle_data(plate="GB-332-KL").values(), *holder.values(), f"{this_year}CK00432"],
        [*vehicle_data(plate="GB-333-KL").values(), *holder.values(), "CK00433"],
    ]
    path = tmp_path / "registre.csv"
    path.write_text("\n".join(",".join(map(str, row)) for row in [columns, *rows]) + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="2 lignes refusées"):
        call_command("register_load", str(path))

    assert list(RegisteredTitle.objects.values_list("formule_number", flat=True)) == ["2018CK00431"]
    errors = capsys.readouterr().err
    assert "ligne 3" in errors and "ligne 4" in errors


@pytest.mark.django_db
def test_the_register_follows_a_batch_of_certificates_in_the_same_number_of_queries_whatever_its_size():
    serial = iter(range(1, 100))
    counts = []
    for size in (2, 6):
        dossiers = [
            factories.draft(filed_by=factories.citizen(), procedure=Procedure.CHANGE_OF_ADDRESS)
            for _ in range(size)
        ]
        serials = {dossier.pk: f"2026ZZ{next(serial):05d}" for dossier in dossiers}
        with CaptureQueriesContext(connection) as queries:
            assert titles_record_issued(serials=serials) == size
        counts.append(len(queries))
        for dossier in dossiers:
            current = RegisteredTitle.objects.get(vehicle=dossier.vehicle, current=True)
            assert (current.formule_number, current.dossier_id) == (serials[dossier.pk], dossier.pk)
        assert titles_record_issued(serials=serials) == 0  # safe to run twice
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_the_api_names_the_callers_own_open_dossier_on_the_vehicle_and_no_one_elses():
    buyer = factories.citizen()
    bought = factories.submitted(owner=buyer, procedure=Procedure.CHANGE_OF_OWNER)
    title = bought.vehicle.titles.get(current=True)
    body = {
        "procedure": Procedure.DUPLICATE,
        "holder": holder_data(),
        "title": factories.proof(title),
        "duplicate_reason": "loss",
    }
    before = factories.register_counts()
    response = factories.dossier_post(buyer, body)
    assert response.status_code == 400
    assert factories.errors_of(response) == {"title": "dossier_open"}
    assert bought.reference in response.json()["errors"][0]["message"]
    # Counted all the same: an open dossier on a plate must not lift the limit on guessing its title.
    assert TitleProofFailure.objects.filter(user=buyer).count() == 1
    other = factories.citizen()
    stranger = factories.dossier_post(other, body)
    assert factories.errors_of(stranger) == {"title": REFUSAL}
    assert bought.reference not in stranger.content.decode()
    assert TitleProofFailure.objects.filter(user=other).count() == 1  # counted against guessing
    assert factories.register_counts() == before


@pytest.mark.django_db
def test_the_code_of_a_sale_declaration_still_in_draft_opens_nothing():
    title = factories.registered()
    draft = factories.dossier_post(
        factories.citizen(),
        {
            "procedure": Procedure.SALE_DECLARATION,
            "title": factories.proof(title),
            "holder": holder_data(),
            "sale": {"sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "mileage_km": 42000},
        },
    )
    assert draft.status_code == 201
    before = factories.register_counts()
    bought = factories.dossier_post(
        factories.citizen(), change_of_owner(title, draft.json()["sale"]["code_de_cession"])
    )
    assert factories.errors_of(bought) == {"title": REFUSAL}
    assert factories.register_counts() == before
    assert Sale.objects.get(dossier__reference=draft.json()["reference"]).code_used_by is None
