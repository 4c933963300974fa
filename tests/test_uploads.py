"""Uploads (issue 12, finding 8): the type from the bytes, PDFs without active content or
encryption, images decoded under a pixel limit and re-encoded, no empty file, a cap per dossier;
agents see a stored file only in a way that cannot run active content. Each hostile file is built
here, sent through the API, and refused with nothing stored."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from cert_workflow.checks import services as checks_services
from cert_workflow.review import claim
from dossiers.models import Document, Dossier, State
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

HTML = b"<html><body><script>fetch('/api/v1/dossiers/').then(r=>r.text()).then(alert)</script></body></html>"


def _writer_pdf(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _blank_writer() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return writer


def _upload(client, reference: str, content: bytes, *, kind: str = "invoice", name: str = "piece.pdf"):
    return client.post(
        reverse("api-dossier-documents", args=[reference]),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


@pytest.fixture
def applicant():
    user = factories.citizen()
    return user, factories.draft(filed_by=user), factories.api_client(user)


def _assert_refused(applicant, content: bytes, rule: str, *, words: str, name: str = "piece.pdf"):
    _user, dossier, client = applicant
    before = factories.snapshot(dossier)
    response = _upload(client, dossier.reference, content, name=name)
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("file", rule)
    assert words in error["message"]
    # Nothing stored: no Document row, no file in storage, no audit event.
    assert factories.snapshot(dossier) == before


def test_a_pdf_with_an_open_action_running_javascript_is_refused(applicant):
    writer = _blank_writer()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    _assert_refused(applicant, _writer_pdf(writer), "pdf_active_content", words="contenu actif")


def test_a_pdf_with_document_javascript_or_an_embedded_file_is_refused(applicant):
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.launchURL('https://attacker.example/', true);"),
        }
    )
    scripted = _blank_writer()
    scripted._root_object[NameObject("/Names")] = DictionaryObject(
        {
            NameObject("/JavaScript"): DictionaryObject(
                {NameObject("/Names"): ArrayObject([TextStringObject("go"), scripted._add_object(script)])}
            )
        }
    )
    _assert_refused(applicant, _writer_pdf(scripted), "pdf_active_content", words="contenu actif")
    # Deep in the tree: a page's additional action launching a program.
    launching = _blank_writer()
    launching.pages[0][NameObject("/AA")] = DictionaryObject(
        {
            NameObject("/O"): DictionaryObject(
                {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")}
            )
        }
    )
    _assert_refused(applicant, _writer_pdf(launching), "pdf_active_content", words="contenu actif")
    attached = _blank_writer()
    attached.add_attachment("payload.html", HTML)
    _assert_refused(applicant, _writer_pdf(attached), "pdf_active_content", words="contenu actif")


def test_an_aes_encrypted_pdf_is_refused(applicant):
    writer = _blank_writer()
    writer.encrypt(user_password="", owner_password="secret", algorithm="AES-256")
    _assert_refused(applicant, _writer_pdf(writer), "pdf_encrypted", words="chiffré")


def test_a_pdf_html_polyglot_is_refused(applicant):
    _assert_refused(applicant, factories.pdf() + HTML, "pdf_invalid", words="après sa fin")


def test_a_file_that_only_starts_like_a_pdf_is_refused(applicant):
    _assert_refused(applicant, b"%PDF-1.4\n" + HTML, "pdf_invalid", words="illisible")


def test_html_or_an_executable_is_refused_whatever_its_name(applicant):
    _assert_refused(applicant, HTML, "file_type", words="PDF, JPEG ou PNG", name="scan.png")
    _assert_refused(applicant, b"MZ\x90\x00 not a pdf", "file_type", words="PDF, JPEG ou PNG")


def test_an_empty_file_is_refused(applicant):
    _assert_refused(applicant, b"", "file_empty", words="vide")


def test_a_png_claiming_30000_by_30000_pixels_is_refused_without_being_decoded(applicant):
    _assert_refused(applicant, factories.png_claiming(30_000, 30_000), "image_too_large", words="mégapixels")


def test_an_image_over_the_configured_pixel_limit_is_refused(applicant, settings):
    # Under Pillow's own bomb limit, over the portal's: the portal's limit decides.
    settings.DOCUMENT_MAX_PIXELS = 1_000_000
    big = factories.image(size=(1200, 1000))
    _assert_refused(applicant, big, "image_too_large", words="1 mégapixels", name="scan.png")


def test_a_truncated_image_is_refused(applicant):
    _assert_refused(applicant, factories.image()[:40], "image_invalid", words="illisible", name="x.png")


def test_a_png_html_polyglot_is_stored_re_encoded_without_the_html(applicant):
    _user, dossier, client = applicant
    response = _upload(client, dossier.reference, factories.image() + HTML, kind="identity", name="cni.png")
    assert response.status_code == 201, response.content
    document = Document.objects.get(pk=response.json()["id"])
    with default_storage.open(document.file.name, "rb") as stored:
        content = stored.read()
    assert b"<script" not in content and b"<html" not in content
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest() == document.sha256
    assert response.json()["size"] == len(content)
    assert Image.open(io.BytesIO(content)).size == (4, 3)


def test_a_genuine_pdf_and_jpeg_are_accepted_and_the_jpeg_loses_its_metadata(applicant):
    _user, dossier, client = applicant
    pdf = factories.pdf("Facture du garage")
    response = _upload(client, dossier.reference, pdf, kind="invoice", name="facture.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "application/pdf"
    assert response.json()["sha256"] == hashlib.sha256(pdf).hexdigest()

    exif = Image.Exif()
    exif[0x010E] = "GPS 48.8566 2.3522 domicile"  # ImageDescription
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(out, format="JPEG", exif=exif)
    response = _upload(client, dossier.reference, out.getvalue(), kind="identity", name="cni.jpg")
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/jpeg"
    document = Document.objects.get(pk=response.json()["id"])
    with default_storage.open(document.file.name, "rb") as stored:
        content = stored.read()
    assert b"domicile" not in content and Image.open(io.BytesIO(content)).size == (32, 24)
    assert Document.objects.filter(dossier=dossier).count() == 2


def test_the_file_after_the_cap_per_dossier_is_refused(applicant, settings):
    settings.DOCUMENT_MAX_PER_DOSSIER = 3
    _user, dossier, client = applicant
    for n in range(3):
        assert _upload(client, dossier.reference, factories.pdf(f"page {n}")).status_code == 201
    _assert_refused(applicant, factories.pdf("page 3"), "too_many_files", words="3 pièces")
    # The same file again is the stored one, not a new piece: still answered as before.
    assert _upload(client, dossier.reference, factories.pdf("page 0")).status_code == 201
    assert Document.objects.filter(dossier=dossier).count() == 3


def test_the_agent_gets_a_stored_file_sandboxed_with_its_detected_type_and_our_name(client):
    from dossiers.documents import document_attach

    owner = factories.citizen()
    draft = factories.draft(filed_by=owner)
    document = document_attach(
        dossier=draft,
        kind="identity",
        uploaded=SimpleUploadedFile('cni"; filename=evil.html', factories.image() + HTML),
        actor=owner,
    )
    cert = factories.CertFactory()
    Dossier.objects.filter(pk=draft.pk).update(state=State.QUEUED, cert=cert, queued_at=timezone.now())
    checks_services.checks_run_queued(dossier_ids=[draft.pk])
    agent = factories.agent(cert=cert)
    claim.queue_claim_next(agent=agent)
    client.force_login(agent)

    response = client.get(reverse("agent-document", args=[draft.reference, document.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert response["Content-Disposition"] == f'inline; filename="identity-{document.pk}.png"'
    assert b"<script" not in b"".join(response.streaming_content)
