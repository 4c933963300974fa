"""The tracking API: what the dossier page shows, the download of one's own uploads and the
correction of the holder fields a complement asks for. Another user's dossier is a 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dossiers.models import Document, DossierEvent, Holder, State
from tests import factories
from tests.factories import api_client, errors_of

pytestmark = pytest.mark.django_db


def test_tracking_shows_turn_estimate_complement_and_timeline_in_french():
    dossier, _agent = factories.awaiting_complement(
        items=("identity", "address_line", "make"), message="Voir."
    )
    response = api_client(dossier.applicant).get(f"/api/v1/dossiers/{dossier.reference}/tracking/")
    assert response.status_code == 200
    data = response.json()
    assert data["turn"]["who"] == "citizen" and data["turn"]["due_at"]
    assert data["estimate"]["on"] is None and data["estimate"]["why"]
    complement = data["complement"]
    assert complement["message"] == "Voir."
    assert complement["documents"] == [{"code": "identity", "label": "Pièce d'identité"}]
    assert complement["holder_fields"] == [{"code": "address_line", "label": "C.3 — Adresse"}]
    assert complement["vehicle_fields"] == [{"code": "make", "label": "D.1 — Marque"}]
    texts = [entry["text"] for entry in data["timeline"]]
    assert "Le centre vous demande un complément (pièces ou informations)." in texts
    assert not any(code in text for text in texts for code in State.values)
    assert (
        api_client(factories.citizen()).get(f"/api/v1/dossiers/{dossier.reference}/tracking/").status_code
        == 404
    )


def test_corrections_then_answer_through_the_api(media_in_tmp):
    dossier, _agent = factories.awaiting_complement(items=("identity", "address_line"))
    client = api_client(dossier.applicant)
    base = f"/api/v1/dossiers/{dossier.reference}"
    refused = client.post(f"{base}/complement/corrections/", {"fields": {"last_name": "X"}}, format="json")
    assert refused.status_code == 400 and errors_of(refused) == {"last_name": "not_requested"}
    assert (
        api_client(factories.citizen())
        .post(f"{base}/complement/corrections/", {"fields": {"address_line": "1 rue Basse"}}, format="json")
        .status_code
        == 404
    )
    ok = client.post(
        f"{base}/complement/corrections/", {"fields": {"address_line": "1 rue Basse"}}, format="json"
    )
    assert ok.status_code == 200
    assert Holder.objects.get(pk=dossier.holder_id).address_line == "1 rue Basse"
    upload = client.post(
        f"{base}/documents/",
        {"kind": "identity", "file": SimpleUploadedFile("id.pdf", factories.pdf("api"))},
        format="multipart",
    )
    assert upload.status_code == 201
    answered = client.post(f"{base}/complement/")
    assert answered.status_code == 200
    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED
    assert DossierEvent.objects.filter(dossier=dossier, action="complement_fields_corrected").count() == 1


def test_own_upload_downloads_as_an_attachment(media_in_tmp):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    factories.documents_attach(dossier=dossier, owner=owner, kinds=["identity"])
    document = Document.objects.get(dossier=dossier)
    url = f"/api/v1/dossiers/{dossier.reference}/documents/{document.pk}/file/"
    response = api_client(owner).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert api_client(factories.citizen()).get(url).status_code == 404


def test_the_schema_documents_the_tracking_endpoints():
    schema = api_client(factories.citizen()).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/dossiers/{reference}/tracking/",
        "/api/v1/dossiers/{reference}/documents/{document_id}/file/",
        "/api/v1/dossiers/{reference}/complement/corrections/",
    ):
        assert path in schema["paths"], path
