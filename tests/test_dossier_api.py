"""The dossier API as its clients see it: tokens, scoping, specific errors, 409 on a wrong move."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from dossiers.models import Document, Dossier, State
from tests import factories

pytestmark = pytest.mark.django_db


def create_payload(**vehicle_overrides) -> dict:
    return {
        "procedure": "first_registration",
        "vehicle": factories.vehicle_data(**vehicle_overrides),
        "holder": factories.holder_data(),
    }


def test_token_is_issued_for_good_credentials_and_refused_otherwise():
    user = factories.citizen(email="camille@example.fr")
    ok = APIClient().post(
        "/api/v1/auth/token/", {"email": "camille@example.fr", "password": factories.PASSWORD}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["role"] == "citizen"
    assert factories.api_client(token=ok.json()["token"]).get("/api/v1/dossiers/").status_code == 200
    bad = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["rule"] == "invalid_credentials"


def test_api_requires_authentication():
    response = APIClient().get("/api/v1/dossiers/")
    assert response.status_code in (401, 403)
    assert factories.api_client(token="0" * 40).get("/api/v1/dossiers/").status_code == 401


def test_citizen_creates_a_draft_and_reads_it_back():
    user = factories.citizen()
    response = factories.api_client(user).post("/api/v1/dossiers/", create_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "draft" and body["procedure"] == "first_registration"
    assert body["holder"]["department"] == "25"  # derived from the postcode
    assert body["vehicle"]["make"] == "RENAULT" and body["cert"] is None
    detail = factories.api_client(user).get(f"/api/v1/dossiers/{body['reference']}/")
    assert detail.status_code == 200 and detail.json()["reference"] == body["reference"]


def test_bad_input_names_every_field_and_rule_and_stores_nothing():
    user = factories.citizen()
    payload = create_payload(vin="VF1RFB00O12345678", fiscal_power="sept", energy="XX")
    payload["holder"]["postcode"] = "2500"
    before = factories.snapshot()
    response = factories.api_client(user).post("/api/v1/dossiers/", payload, format="json")
    assert response.status_code == 400
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["vehicle.vin"]["rule"] == "vin_forbidden_letter"
    assert errors["vehicle.fiscal_power"]["rule"] == "integer"
    assert errors["vehicle.energy"]["rule"] == "energy_unknown"
    assert errors["holder.postcode"]["rule"] == "postcode_format"
    assert all(e["message"] for e in errors.values())
    assert Dossier.objects.count() == 0
    assert factories.snapshot() == before


def test_another_users_dossier_is_a_404_everywhere():
    owner, stranger = factories.citizen(), factories.citizen()
    dossier = factories.draft(filed_by=owner)
    reference = dossier.reference
    client = factories.api_client(stranger)
    before = factories.snapshot(dossier)
    for url in ("", "events/", "documents/"):
        assert client.get(f"/api/v1/dossiers/{reference}/{url}").status_code == 404
    assert client.post(f"/api/v1/dossiers/{reference}/submit/").status_code == 404
    assert client.post(f"/api/v1/dossiers/{reference}/withdraw/").status_code == 404
    assert client.get("/api/v1/dossiers/").json()["results"] == []
    assert factories.snapshot(dossier) == before


def test_submit_twice_is_a_409_with_the_current_state():
    user = factories.citizen()
    reference = factories.draft(filed_by=user).reference
    client = factories.api_client(user)
    first = client.post(f"/api/v1/dossiers/{reference}/submit/")
    assert first.status_code == 200 and first.json()["state"] == "submitted"
    assert first.json()["fees"]["y6"] is not None
    before = factories.snapshot(Dossier.objects.get(reference=reference))
    second = client.post(f"/api/v1/dossiers/{reference}/submit/")
    assert second.status_code == 409
    assert second.json()["errors"][0]["rule"] == "transition_not_allowed"
    assert second.json()["errors"][0]["expected"] == "submitted"
    assert factories.snapshot(Dossier.objects.get(reference=reference)) == before


def test_dealer_organisation_token_sees_the_organisations_dossiers_only():
    staff = factories.dealer()
    colleague = factories.dealer(organisation=staff.organisation)
    competitor = factories.dealer()
    mine = factories.draft(filed_by=colleague, holder=factories.holder_data())
    factories.draft(filed_by=competitor)
    client = factories.api_client(token=factories.organisation_token(staff))
    listed = client.get("/api/v1/dossiers/").json()["results"]
    assert [row["reference"] for row in listed] == [mine.reference]
    body = {**create_payload(), **factories.registration_facts()}
    created = client.post("/api/v1/dossiers/", body, format="json")
    assert created.status_code == 201
    assert Dossier.objects.get(reference=created.json()["reference"]).organisation == staff.organisation


def test_list_is_keyset_paginated_and_filterable_by_state():
    user = factories.citizen()
    drafts = [factories.draft(filed_by=user) for _ in range(3)]
    client = factories.api_client(user)
    page = client.get("/api/v1/dossiers/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    seen = [r["reference"] for r in page["results"] + rest["results"]]
    assert sorted(seen) == sorted(d.reference for d in drafts)
    assert client.get("/api/v1/dossiers/?state=submitted").json()["results"] == []
    assert client.get("/api/v1/dossiers/?state=bogus").status_code == 400


def test_document_upload_detects_type_and_refuses_other_formats():
    user = factories.citizen()
    reference = factories.draft(filed_by=user).reference
    client = factories.api_client(user)
    pdf = SimpleUploadedFile("facture.pdf", factories.pdf(), content_type="application/pdf")
    ok = client.post(f"/api/v1/dossiers/{reference}/documents/", {"kind": "invoice", "file": pdf})
    assert ok.status_code == 201, ok.content
    assert ok.json()["content_type"] == "application/pdf" and len(ok.json()["sha256"]) == 64
    exe = SimpleUploadedFile("facture.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    before = factories.snapshot()
    refused = client.post(f"/api/v1/dossiers/{reference}/documents/", {"kind": "invoice", "file": exe})
    assert refused.status_code == 400 and refused.json()["errors"][0]["rule"] == "file_type"
    assert Document.objects.count() == 1
    assert factories.snapshot() == before


def test_withdraw_then_history_shows_both_steps():
    user = factories.citizen()
    reference = factories.draft(filed_by=user, paid=False).reference
    client = factories.api_client(user)
    assert (
        client.post(f"/api/v1/dossiers/{reference}/withdraw/", {"reason": "vendu"}).json()["state"]
        == "withdrawn"
    )
    history = client.get(f"/api/v1/dossiers/{reference}/events/").json()
    assert [(e["action"], e["to_state"]) for e in history] == [
        ("created", "draft"),
        ("transition", "withdrawn"),
    ]
    assert Dossier.objects.get(reference=reference).state == State.WITHDRAWN


def test_openapi_schema_is_served():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/dossiers/{reference}/submit/" in response.content


def test_a_reference_with_a_nul_byte_or_of_any_length_is_the_404_of_an_unknown_dossier():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    client = factories.api_client(owner)
    before = factories.snapshot(dossier)
    for reference in (f"{dossier.reference}%00", "CG%00", "C" * 5000):
        for suffix in ("", "submit/", "withdraw/", "events/", "certificate.pdf"):
            method = client.post if suffix in ("submit/", "withdraw/") else client.get
            response = method(
                f"/api/v1/dossiers/{reference}/{suffix}".replace("/certificate.pdf/", "/certificate.pdf")
            )
            assert response.status_code == 404, (reference, suffix)
    assert factories.snapshot(dossier) == before
