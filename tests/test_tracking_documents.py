"""Downloads from the dossier page: issued documents, the seller's acknowledgement of a sale
declaration, and the applicant's own uploads. Each is an attachment; another user's is a 404."""

import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from cert_workflow.models import IssuedDocument
from dossiers.models import Document
from tests import factories

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def issued(dossier, kind: str, *, rendered: bool = True, withdrawn: bool = False) -> IssuedDocument:
    document = IssuedDocument(
        dossier=dossier,
        kind=kind,
        serial=f"T{dossier.pk:05d}{kind[:4]}",
        rendered_at=timezone.now() if rendered else None,
        withdrawn_at=timezone.now() if withdrawn else None,
    )
    if rendered:
        document.file.save(f"{document.serial}.pdf", ContentFile(factories.pdf(kind)), save=False)
    document.save()
    return document


@pytest.mark.parametrize("kind", ["receipt", "certificate", "cpi", "rejection_letter"])
def test_each_issued_document_downloads_as_an_attachment_for_its_owner_only(media_in_tmp, kind):
    owner = factories.citizen()
    (dossier,) = factories.queued_dossiers(cert=factories.CertFactory(), owner=owner)
    document = issued(dossier, kind)
    url = f"/mon-espace/dossiers/{dossier.reference}/documents/{document.pk}/"
    page = signed_in(owner).get(f"/mon-espace/dossiers/{dossier.reference}/").content.decode()
    assert url in page
    response = signed_in(owner).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert body(response).startswith(b"%PDF")
    assert signed_in(factories.citizen()).get(url).status_code == 404


def test_complement_letter_is_offered_and_pending_or_withdrawn_documents_are_not(media_in_tmp):
    dossier, _agent = factories.awaiting_complement()
    owner = dossier.applicant
    request = dossier.complement_requests.get()
    letter = IssuedDocument.objects.create(
        dossier=dossier, kind="complement_letter", complement_request=request, serial="TLETTER01"
    )
    letter.file.save("letter.pdf", ContentFile(factories.pdf("lettre")), save=False)
    IssuedDocument.objects.filter(pk=letter.pk).update(file=letter.file.name, rendered_at=timezone.now())
    pending = issued(dossier, "receipt", rendered=False)
    withdrawn = issued(dossier, "cpi", withdrawn=True)
    client = signed_in(owner)
    page = client.get(f"/mon-espace/dossiers/{dossier.reference}/").content.decode()
    assert f"/documents/{letter.pk}/" in page
    assert f"/documents/{pending.pk}/" not in page and f"/documents/{withdrawn.pk}/" not in page
    for document in (pending, withdrawn):
        assert (
            client.get(f"/mon-espace/dossiers/{dossier.reference}/documents/{document.pk}/").status_code
            == 404
        )
    # Another dossier's document id under this reference: 404.
    (other,) = factories.queued_dossiers(cert=factories.CertFactory(), owner=factories.citizen())
    foreign = issued(other, "receipt")
    assert client.get(f"/mon-espace/dossiers/{dossier.reference}/documents/{foreign.pk}/").status_code == 404


def test_own_uploads_download_as_attachments_scoped_to_the_dossier(media_in_tmp):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    factories.documents_attach(dossier=dossier, owner=owner, kinds=["identity"])
    document = Document.objects.get(dossier=dossier)
    url = f"/mon-espace/dossiers/{dossier.reference}/pieces/{document.pk}/"
    assert url in signed_in(owner).get(f"/mon-espace/dossiers/{dossier.reference}/").content.decode()
    response = signed_in(owner).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert body(response) == document.file.open("rb").read()
    assert signed_in(factories.citizen()).get(url).status_code == 404
    other = factories.draft(filed_by=owner)
    assert (
        signed_in(owner).get(f"/mon-espace/dossiers/{other.reference}/pieces/{document.pk}/").status_code
        == 404
    )


def test_seller_downloads_the_sale_declaration_acknowledgement_with_the_code(media_in_tmp):
    sale = factories.sale_declared(title=factories.registered())
    dossier = sale.dossier
    seller = dossier.applicant
    url = f"/mon-espace/dossiers/{dossier.reference}/declaration-de-cession.pdf"
    assert url in signed_in(seller).get(f"/mon-espace/dossiers/{dossier.reference}/").content.decode()
    response = signed_in(seller).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{dossier.reference}-declaration-de-cession.pdf"'
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert sale.code_de_cession in text
    assert dossier.vehicle.plate in text
    assert timezone.localtime(sale.code_expires_at).strftime("%d/%m/%Y") in text
    assert signed_in(factories.citizen()).get(url).status_code == 404
    # Not a sale declaration: no acknowledgement.
    other = factories.draft(filed_by=seller)
    assert (
        signed_in(seller)
        .get(f"/mon-espace/dossiers/{other.reference}/declaration-de-cession.pdf")
        .status_code
        == 404
    )
