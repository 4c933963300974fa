"""Every document of a dossier from the agent's page and the API: certificate, CPI, receipt,
rejection and complement letters, and the applicant's uploads; the agent's centre's dossiers only
(another's is a 404), a document still being produced a 409, a withdrawn CPI a 410."""

import io

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cert_workflow.documents import issuing
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers import services
from dossiers.models import Dossier, State
from tests import factories
from tests.factories import api_client, decide, in_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Every test here issues documents: see the `issuing` fixture in conftest.py."""


@pytest.fixture
def centre():
    cert = factories.CertFactory()
    return cert, factories.agent(cert=cert)


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def stored(document: IssuedDocument) -> bytes:
    with default_storage.open(document.file.name, "rb") as pdf:
        return pdf.read()


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def issued(dossier, kind) -> IssuedDocument:
    return IssuedDocument.objects.filter(dossier=dossier, kind=kind).latest("issued_at", "pk")


def page_of(client, dossier) -> str:
    response = client.get(reverse("agent-dossier", args=[dossier.reference]))
    assert response.status_code == 200
    return response.content.decode()


def test_agent_page_links_the_certificate_and_it_downloads_as_the_stored_pdf(
    client, centre, django_capture_on_commit_callbacks
):
    cert, agent = centre
    dossier = decide(django_capture_on_commit_callbacks, in_review(cert=cert, agent=agent), agent)
    certificate = issued(dossier, DocumentKind.CERTIFICATE)
    url = reverse("agent-issued-document", args=[dossier.reference, certificate.pk])
    client.force_login(agent)

    page = page_of(client, dossier)
    response = client.get(url)

    assert f'href="{url}"' in page and "Certificat d&#x27;immatriculation" in page
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"{dossier.reference}-certificat.pdf" in response["Content-Disposition"]
    body = content(response)
    assert body.startswith(b"%PDF") and body == stored(certificate)


def test_rejection_and_complement_letters_download_from_the_page_and_the_api(
    client, centre, django_capture_on_commit_callbacks
):
    cert, agent = centre
    owner = factories.citizen()
    waiting = decide(
        django_capture_on_commit_callbacks,
        in_review(cert=cert, agent=agent, owner=owner),
        agent,
        decision="request_complement",
        items=["identity"],
        message="Pièce d'identité illisible.",
    )
    refused = decide(
        django_capture_on_commit_callbacks,
        in_review(cert=cert, agent=factories.agent(cert=cert), owner=owner),
        factories.supervisor(),
        decision="reject",
        reason="vehicle_data_mismatch",
        message="Le VIN de la facture diffère.",
    )
    client.force_login(agent)

    for dossier, kind, api_name, words in (
        (waiting, DocumentKind.COMPLEMENT_LETTER, "complement-letter.pdf", "Pièce d'identité illisible"),
        (refused, DocumentKind.REJECTION_LETTER, "rejection-letter.pdf", "Le VIN de la facture diffère"),
    ):
        document = issued(dossier, kind)
        url = reverse("agent-issued-document", args=[dossier.reference, document.pk])
        assert f'href="{url}"' in page_of(client, dossier), kind
        from_page = content(client.get(url))
        assert from_page == stored(document) and words in text_of(from_page), kind
        for user in (agent, owner):  # the same document through the API, for the centre and the applicant
            response = api_client(user).get(f"/api/v1/dossiers/{dossier.reference}/{api_name}")
            assert response.status_code == 200, (kind, user.role)
            assert content(response) == stored(document)


def test_the_applicants_uploads_are_linked_for_download(client, centre):
    cert, agent = centre
    owner = factories.citizen()
    dossier = factories.submitted(owner=owner)
    dossier.refresh_from_db()
    Dossier.objects.filter(pk=dossier.pk).update(state=State.QUEUED, cert=cert)
    upload = dossier.documents.first()
    client.force_login(agent)

    page = page_of(client, dossier)

    url = reverse("agent-document", args=[dossier.reference, upload.pk])
    assert f'href="{url}" download' in page
    assert content(client.get(url)).startswith(b"%PDF")


def test_another_centres_agent_gets_a_404_everywhere_and_nothing_changes(
    client, centre, django_capture_on_commit_callbacks
):
    cert, agent = centre
    dossier = decide(
        django_capture_on_commit_callbacks,
        in_review(cert=cert, agent=agent),
        agent,
        decision="reject",
        reason="fees_not_paid",
    )
    letter = issued(dossier, DocumentKind.REJECTION_LETTER)
    stranger = factories.agent()
    client.force_login(stranger)
    before = factories.snapshot(dossier)

    assert (
        client.get(reverse("agent-issued-document", args=[dossier.reference, letter.pk])).status_code == 404
    )
    assert client.get(reverse("agent-dossier", args=[dossier.reference])).status_code == 404
    for name in ("rejection-letter.pdf", "complement-letter.pdf", "certificate.pdf"):
        response = api_client(stranger).get(f"/api/v1/dossiers/{dossier.reference}/{name}")
        assert response.status_code == 404, name
    # A citizen is no reviewer: the agent's route is closed to them even for their own dossier.
    client.force_login(dossier.applicant)
    assert (
        client.get(reverse("agent-issued-document", args=[dossier.reference, letter.pk])).status_code == 403
    )
    assert factories.snapshot(dossier) == before


def test_a_document_being_produced_is_a_409_and_a_withdrawn_cpi_a_410(
    client, centre, django_capture_on_commit_callbacks
):
    cert, agent = centre
    dossier = in_review(cert=cert, agent=agent)
    with django_capture_on_commit_callbacks(execute=False):  # issued, not rendered yet
        issuing.documents_issue(dossier_ids=[dossier.pk], kind=DocumentKind.RECEIPT)
    receipt = issued(dossier, DocumentKind.RECEIPT)
    client.force_login(agent)

    assert "en cours de production" in page_of(client, dossier)
    pending = client.get(reverse("agent-issued-document", args=[dossier.reference, receipt.pk]))
    assert pending.status_code == 409 and "en cours de production" in pending.content.decode()
    api_pending = api_client(agent).get(f"/api/v1/dossiers/{dossier.reference}/receipt.pdf")
    assert api_pending.status_code == 409

    dealer = factories.dealer()
    factories.CertFactory(departments=["25"])
    submitted = factories.draft(filed_by=dealer)
    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_submit(dossier=submitted, actor=dealer)
    cpi = issued(submitted, DocumentKind.CPI)
    IssuedDocument.objects.filter(pk=cpi.pk).update(withdrawn_at=timezone.now())
    submitted.refresh_from_db()
    centre_agent = factories.agent(cert=submitted.cert)
    client.force_login(centre_agent)
    before = factories.snapshot(submitted)

    page = page_of(client, submitted)
    gone = client.get(reverse("agent-issued-document", args=[submitted.reference, cpi.pk]))
    api_gone = api_client(centre_agent).get(f"/api/v1/dossiers/{submitted.reference}/cpi.pdf")

    assert "retiré le" in page
    assert reverse("agent-issued-document", args=[submitted.reference, cpi.pk]) not in page
    assert gone.status_code == 410 and "retiré" in gone.content.decode()
    assert api_gone.status_code == 410 and factories.errors_of(api_gone) == {"": "document_withdrawn"}
    assert factories.snapshot(submitted) == before


def test_a_letter_never_issued_is_a_404_on_the_api(centre):
    cert, agent = centre
    dossier = in_review(cert=cert, agent=agent)

    for name in ("rejection-letter.pdf", "complement-letter.pdf"):
        response = api_client(agent).get(f"/api/v1/dossiers/{dossier.reference}/{name}")
        assert response.status_code == 404, name
        assert "Aucun document" in response.json()["errors"][0]["message"]
