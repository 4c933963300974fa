"""A dealer's first registration of a new vehicle: the invoice date and mandate it must give (API and
web alike), the one-page web form that ends on the dossier page with the plate and the CPI, every
error at once with nothing written, and the page's scope (the organisation's staff only)."""

import os
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cert_workflow.models import DocumentKind as IssuedKind
from cert_workflow.models import IssuedDocument
from dossiers.models import Document, Dossier, DossierEvent, Holder, State, Vehicle
from payments import services as payment_services
from tests import factories

pytestmark = pytest.mark.django_db

FORM = "/mon-espace/vehicules-neufs/nouveau/"


def counts() -> dict:
    """Every row and file a refused registration must not leave behind."""
    media = settings.MEDIA_ROOT
    return {
        "vehicles": Vehicle.objects.count(),
        "holders": Holder.objects.count(),
        "dossiers": Dossier.objects.count(),
        "documents": Document.objects.count(),
        "events": DossierEvent.objects.count(),
        "files": sum(len(files) for _, _, files in os.walk(media)) if os.path.isdir(media) else 0,
    }


def api_payload(**facts) -> dict:
    return {
        "procedure": "first_registration",
        "vehicle": factories.vehicle_data(),
        "holder": factories.holder_data(),
        **facts,
    }


# --- API ------------------------------------------------------------------------------------------


def test_dealer_without_invoice_date_is_refused_with_field_and_rule_and_nothing_is_written():
    dealer = factories.dealer()
    payload = api_payload(mandate_reference="MAND-1")
    payload["vehicle"]["fiscal_power"] = "sept"
    before = counts()
    response = factories.api_client(dealer).post("/api/v1/dossiers/", payload, format="json")
    assert response.status_code == 400
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    # Every error at once: the missing fact beside the vehicle's own.
    assert errors == {("invoice_date", "required"), ("vehicle.fiscal_power", "integer")}
    assert counts() == before


def test_dealer_with_the_facts_gets_them_back_and_french_dates_are_read():
    dealer = factories.dealer()
    payload = api_payload(invoice_date="02/11/2026", mandate_reference=" MAND-77 ", external_ref="STOCK-9")
    response = factories.api_client(dealer).post("/api/v1/dossiers/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["invoice_date"] == "2026-11-02"
    assert body["mandate_reference"] == "MAND-77" and body["external_ref"] == "STOCK-9"
    detail = factories.api_client(dealer).get(f"/api/v1/dossiers/{body['reference']}/").json()
    assert detail["invoice_date"] == "2026-11-02" and detail["mandate_reference"] == "MAND-77"


def test_dealer_facts_are_typed_a_future_invoice_and_a_long_mandate_are_refused():
    dealer = factories.dealer()
    payload = api_payload(invoice_date="2999-01-01", mandate_reference="M" * 61, external_ref=12)
    before = counts()
    response = factories.api_client(dealer).post("/api/v1/dossiers/", payload, format="json")
    assert response.status_code == 400
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert errors == {
        ("invoice_date", "future"),
        ("mandate_reference", "max_length"),
        ("external_ref", "string"),
    }
    assert counts() == before


def test_citizen_sending_a_mandate_reference_is_told_only_a_dealer_gives_it():
    citizen = factories.citizen()
    before = counts()
    response = factories.api_client(citizen).post(
        "/api/v1/dossiers/", api_payload(mandate_reference="MAND-1"), format="json"
    )
    assert response.status_code == 400
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        ("mandate_reference", "dealer_only")
    ]
    assert counts() == before


def test_schema_documents_the_dealer_facts_of_a_first_registration():
    schema = APIClient().get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    created = components["FirstRegistrationCreateInputRequest"]["properties"]
    assert {"invoice_date", "mandate_reference", "external_ref"} <= set(created)
    assert "cerfa 13757" in created["mandate_reference"]["description"]
    assert "invoice_date" not in components["ChangeOfOwnerCreateInputRequest"]["properties"]
    assert {"invoice_date", "mandate_reference", "external_ref"} <= set(
        components["DossierOutput"]["properties"]
    )


# --- Web form -------------------------------------------------------------------------------------


def form_data(**overrides) -> dict:
    data = {
        **factories.vehicle_data(),
        **factories.holder_data(),
        "invoice_date": "2026-11-02",
        "mandate_reference": "MAND-2026-001",
        "external_ref": "STOCK-42",
        "holder_is_owner": "yes",
        "validity_until": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def registering(issuing, django_capture_on_commit_callbacks):
    """A centre for Doubs and a dealer's POST with everything its submission starts run (plate, CPI)."""
    factories.CertFactory(departments=["25"])

    def post(client, data, url=FORM, **files):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, {**data, **files})

    return post


def test_dealer_registers_a_new_vehicle_and_gets_its_plate_and_cpi(client, registering):
    dealer = factories.dealer()
    client.force_login(dealer)
    space = factories.text_of(client.get("/mon-espace/"))
    assert "Immatriculer un véhicule neuf" in space
    page = factories.text_of(client.get(FORM))
    assert "D.1 — Marque" in page and "E — VIN" in page and "V.7 — CO2" in page
    coc = SimpleUploadedFile("coc.pdf", factories.pdf("COC"), content_type="application/pdf")

    response = registering(client, form_data(), file_coc=coc)

    assert response.status_code == 302
    dossier = Dossier.objects.get()
    assert response["Location"] == f"/mon-espace/dossiers/{dossier.reference}/"
    assert dossier.organisation == dealer.organisation and dossier.state != State.DRAFT
    assert dossier.mandate_reference == "MAND-2026-001" and str(dossier.invoice_date) == "2026-11-02"
    assert list(dossier.documents.values_list("kind", flat=True)) == ["coc"]
    plate = dossier.vehicle.plate
    assert re.fullmatch(r"[A-Z]{2}-\d{3}-[A-Z]{2}", plate)
    page = factories.text_of(client.get(response["Location"]))
    assert plate in page and "Immatriculation attribuée" in page
    assert "Taxes" in page and "Y.6" in page
    cpi = IssuedDocument.objects.get(dossier=dossier, kind=IssuedKind.CPI)
    link = f"/mon-espace/dossiers/{dossier.reference}/documents/{cpi.pk}/"
    assert link in page
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")

    # A colleague of the organisation sees it; another organisation's dealer gets a 404.
    client.force_login(factories.dealer(organisation=dealer.organisation))
    assert client.get(response["Location"]).status_code == 200
    client.force_login(factories.dealer())
    assert client.get(response["Location"]).status_code == 404
    assert client.get(link).status_code == 404


def test_every_error_is_shown_at_once_next_to_its_field_and_nothing_is_written(client, registering):
    client.force_login(factories.dealer())
    data = form_data(vin="VF1RFB00O1234567", make="", invoice_date="", holder_kind="company", postcode="2500")
    bad_file = SimpleUploadedFile("invoice.pdf", b"not a pdf at all", content_type="application/pdf")
    before = counts()

    response = registering(client, data, file_invoice=bad_file)

    assert response.status_code == 400
    page = factories.text_of(response)
    assert counts() == before
    assert 'id="error-summary"' in page and "autofocus" in page
    for name in ("vin", "make", "invoice_date", "company_name", "siret", "postcode", "file_invoice"):
        assert re.search(rf'id="id_{name}"[^>]*aria-invalid="true"', page), name
        assert f'href="#id_{name}"' in page, name
    assert "D.1 — Marque : Ce champ est obligatoire." in page
    assert "Date de facture : La date de facture est obligatoire." in page
    # What was typed is kept.
    assert 'value="VF1RFB00O1234567"' in page and 'value="MAND-2026-001"' in page


def test_a_vin_already_registered_is_refused_on_the_vin_field(client, registering):
    title = factories.registered()
    client.force_login(factories.dealer())
    before = counts()

    response = registering(client, form_data(vin=title.vehicle.vin))

    assert response.status_code == 400
    page = factories.text_of(response)
    assert re.search(r'id="id_vin"[^>]*aria-invalid="true"', page)
    assert "E — VIN : Ce VIN ne peut pas faire l'objet d'une première immatriculation ici" in page
    assert counts() == before


def test_a_dealer_that_does_not_collect_the_taxes_pays_then_files(client, registering):
    dealer = factories.dealer(organisation=factories.OrganisationFactory(tax_agrement=False))
    client.force_login(dealer)

    response = registering(client, form_data())

    dossier = Dossier.objects.get()
    assert dossier.state == State.DRAFT and dossier.vehicle.plate is None
    submit = f"/mon-espace/vehicules-neufs/{dossier.reference}/depot/"
    assert response.status_code == 302
    assert response["Location"].startswith(f"/mon-espace/dossiers/{dossier.reference}/paiement/?next=")
    assert "Payer les frais" in factories.text_of(client.get(submit))
    payment_services.fake_payment_complete(dossier=dossier, actor=dealer)
    filed = registering(client, {}, url=submit)
    assert filed.status_code == 302 and filed["Location"] == f"/mon-espace/dossiers/{dossier.reference}/"
    dossier.refresh_from_db()
    assert dossier.state != State.DRAFT and dossier.vehicle.plate
    assert dossier.vehicle.plate in factories.text_of(client.get(filed["Location"]))


@pytest.mark.parametrize("role", ["citizen", "agent", "supervisor"])
def test_only_dealer_staff_get_the_form(client, role):
    client.force_login(getattr(factories, role)())
    assert client.get(FORM).status_code == 403
    before = counts()
    assert client.post(FORM, form_data()).status_code == 403
    assert counts() == before


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(FORM)
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_a_company_holder_in_leasing_is_registered_with_its_facts(client, registering):
    client.force_login(factories.dealer())
    data = form_data(
        holder_kind="company",
        last_name="",
        first_names="",
        birth_date="",
        company_name="Loueur Longue Durée SAS",
        siret="73282932000074",
        holder_is_owner="no",
        validity_until="30/06/2029",
        invoice_date="02/11/2026",
        external_ref="",
    )

    response = registering(client, data)

    assert response.status_code == 302, factories.text_of(response)
    dossier = Dossier.objects.select_related("holder").get()
    assert (
        dossier.holder.company_name == "Loueur Longue Durée SAS" and dossier.holder.siret == "73282932000074"
    )
    assert dossier.holder_is_owner is False and str(dossier.validity_until) == "2029-06-30"
    assert str(dossier.invoice_date) == "2026-11-02" and dossier.external_ref == ""


def test_missing_codes_are_said_missing_not_malformed():
    vehicle = factories.vehicle_data()
    del vehicle["genre"], vehicle["energy"]
    vehicle["vin"] = ""
    response = factories.api_client(factories.dealer()).post(
        "/api/v1/dossiers/",
        {**api_payload(**factories.registration_facts()), "vehicle": vehicle},
        format="json",
    )
    assert response.status_code == 400
    errors = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert errors == {
        ("vehicle.vin", "required"),
        ("vehicle.genre", "required"),
        ("vehicle.energy", "required"),
    }
