"""Downloads of issued documents: each caller gets only what their scope allows (another's is a
404), as a PDF attachment; agents and dealers get batches as one ZIP or one merged PDF."""

import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from pypdf import PdfReader

from cert_workflow.documents import issuing
from cert_workflow.models import DocumentKind, IssuedDocument
from tests import factories
from tests.factories import api_client, decide, in_review

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/documents/batch/"


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Every test here issues documents: see the `issuing` fixture in conftest.py."""


def url(dossier, name: str) -> str:
    return f"/api/v1/dossiers/{dossier.reference}/{name}"


def stored(dossier, kind) -> bytes:
    document = IssuedDocument.objects.get(dossier=dossier, kind=kind)
    with default_storage.open(document.file.name, "rb") as pdf:
        return pdf.read()


@pytest.fixture
def centre():
    cert = factories.CertFactory()
    return cert, factories.agent(cert=cert)


@pytest.fixture
def issue(centre, django_capture_on_commit_callbacks):
    """issue(owner): a first registration of `owner`, approved in `centre` and rendered."""
    cert, agent = centre

    def make(owner):
        return decide(
            django_capture_on_commit_callbacks, in_review(cert=cert, agent=agent, owner=owner), agent
        )

    return make


def test_holder_downloads_their_certificate_as_a_pdf_attachment(issue):
    owner = factories.citizen()
    dossier = issue(owner)

    response = api_client(owner).get(url(dossier, "certificate.pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"{dossier.reference}-certificat.pdf" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == stored(dossier, DocumentKind.CERTIFICATE)


def test_a_citizen_cannot_download_another_citizens_certificate(issue):
    dossier = issue(factories.citizen())
    other = api_client(factories.citizen())
    before = factories.snapshot(dossier)

    for name in ("certificate.pdf", "cpi.pdf", "receipt.pdf"):
        response = other.get(url(dossier, name))
        assert response.status_code == 404, name
    assert factories.snapshot(dossier) == before


def test_dealer_staff_download_their_organisations_documents_only(issue):
    organisation = factories.OrganisationFactory()
    filer = factories.dealer(organisation=organisation)
    dossier = issue(filer)
    colleague = api_client(factories.dealer(organisation=organisation))
    competitor = api_client(factories.dealer())
    before = factories.snapshot(dossier)

    for name, kind in (("certificate.pdf", DocumentKind.CERTIFICATE), ("cpi.pdf", DocumentKind.CPI)):
        mine = colleague.get(url(dossier, name))
        assert mine.status_code == 200, name
        assert b"".join(mine.streaming_content) == stored(dossier, kind)
        assert competitor.get(url(dossier, name)).status_code == 404, name
    assert factories.snapshot(dossier) == before


def test_an_agent_downloads_their_centres_documents_only(issue, centre):
    cert, agent = centre
    dossier = issue(factories.citizen())

    assert api_client(agent).get(url(dossier, "cpi.pdf")).status_code == 200
    assert api_client(factories.agent(cert=cert)).get(url(dossier, "certificate.pdf")).status_code == 200
    before = factories.snapshot(dossier)
    assert api_client(factories.agent()).get(url(dossier, "certificate.pdf")).status_code == 404
    assert factories.snapshot(dossier) == before


def test_a_document_not_rendered_yet_is_a_409_and_one_never_issued_a_404(
    centre, django_capture_on_commit_callbacks
):
    cert, agent = centre
    owner = factories.citizen()
    dossier = in_review(cert=cert, agent=agent, owner=owner)
    with django_capture_on_commit_callbacks(execute=False):  # rendering not done yet
        issuing.documents_issue(dossier_ids=[dossier.pk], kind=DocumentKind.RECEIPT)
    before = factories.snapshot(dossier)

    pending = api_client(owner).get(url(dossier, "receipt.pdf"))
    missing = api_client(owner).get(url(dossier, "certificate.pdf"))

    assert pending.status_code == 409
    assert pending.json()["errors"][0]["rule"] == "document_not_rendered"
    assert "en cours de production" in pending.json()["errors"][0]["message"]
    assert missing.status_code == 404
    assert "Aucun document" in missing.json()["errors"][0]["message"]
    assert factories.snapshot(dossier) == before


def test_batch_zip_holds_each_requested_certificate(issue, centre):
    _cert, agent = centre
    dossiers = [issue(factories.citizen()) for _ in range(2)]

    response = api_client(agent).post(
        BATCH,
        {"references": [d.reference for d in dossiers], "kind": "certificate", "format": "zip"},
        format="json",
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(f"{d.reference}-certificat.pdf" for d in dossiers)
    for dossier in dossiers:
        assert archive.read(f"{dossier.reference}-certificat.pdf") == stored(
            dossier, DocumentKind.CERTIFICATE
        )


def test_batch_merged_pdf_has_the_pages_of_each_cpi_in_order(issue):
    organisation = factories.OrganisationFactory()
    staff = factories.dealer(organisation=organisation)
    dossiers = [issue(staff) for _ in range(3)]

    response = api_client(staff).post(
        BATCH,
        {"references": [d.reference for d in reversed(dossiers)], "kind": "cpi", "format": "pdf"},
        format="json",
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    merged = PdfReader(io.BytesIO(response.content))
    parts = [PdfReader(io.BytesIO(stored(d, DocumentKind.CPI))) for d in reversed(dossiers)]
    assert len(merged.pages) == sum(len(p.pages) for p in parts)
    # Each CPI's serial is printed on its page, in the requested order.
    serials = [
        IssuedDocument.objects.get(dossier=d, kind=DocumentKind.CPI).serial for d in reversed(dossiers)
    ]
    texts = [page.extract_text() for page in merged.pages]
    first_pages = [0]
    for part in parts[:-1]:
        first_pages.append(first_pages[-1] + len(part.pages))
    assert [serial in texts[index] for serial, index in zip(serials, first_pages, strict=True)] == [True] * 3


def test_batch_reports_every_reference_it_cannot_serve_and_returns_nothing(issue, centre):
    _cert, agent = centre
    mine = issue(factories.citizen())
    elsewhere_cert = factories.CertFactory()
    other_agent = factories.agent(cert=elsewhere_cert)
    elsewhere = in_review(cert=elsewhere_cert, agent=other_agent)
    before = factories.snapshot(mine, elsewhere)

    response = api_client(agent).post(
        BATCH,
        {"references": [mine.reference, elsewhere.reference, "CG-2026-9999999"], "kind": "certificate"},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["field"], e["rule"]) for e in errors] == [
        ("references.1", "not_found"),
        ("references.2", "not_found"),
    ]
    assert elsewhere.reference in errors[0]["message"]
    assert factories.snapshot(mine, elsewhere) == before


def test_batch_is_for_agents_and_dealers_not_citizens(issue):
    owner = factories.citizen()
    dossier = issue(owner)
    before = factories.snapshot(dossier)

    response = api_client(owner).post(
        BATCH, {"references": [dossier.reference], "kind": "certificate"}, format="json"
    )

    assert response.status_code == 403
    assert factories.snapshot(dossier) == before
