"""Downloads of issued documents: one PDF per dossier and document, or a batch as a ZIP or one PDF.

Rights are the dossier's scope (dossiers.selectors): the holder's own, the filing organisation's,
the centre's, everything for supervisors; another user's dossier is a 404, never a 403, so that a
reference says nothing about dossiers the caller may not see. A document issued but not rendered
yet is a 409 with the reason (the caller retries in a moment); none issued is a 404.

A CPI withdrawn with its refused or abandoned dossier is a 410 Gone, for everyone in scope: a
fresh copy of a provisional certificate that no longer lets anyone drive must not be handed out
(printed, it would still read "valable jusqu'au ..."). The record stays: its verification page
says when and why it was withdrawn, and the refusal letter is the dealer's document of the outcome.
A superseded CPI, replaced by its certificate, stays downloadable: it was valid until then.
"""

import io
import json
import zipfile
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers import selectors
from dossiers.models import Dossier
from portal.models import Role

BATCH_MAX = 500
BATCH_KINDS = (DocumentKind.CERTIFICATE, DocumentKind.CPI)
BATCH_ROLES = frozenset({Role.AGENT, Role.DEALER, Role.SUPERVISOR, Role.ADMIN})
_FILE_LABELS = {
    DocumentKind.CERTIFICATE: "certificat",
    DocumentKind.CPI: "cpi",
    DocumentKind.RECEIPT: "accuse-de-depot",
    DocumentKind.REJECTION_LETTER: "decision-de-refus",
    DocumentKind.COMPLEMENT_LETTER: "demande-de-complement",
}


class PdfRenderer(BaseRenderer):
    """Lets clients ask for application/pdf; errors are still written as the API's JSON."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, ensure_ascii=False).encode()


class ZipRenderer(PdfRenderer):
    media_type = "application/zip"
    format = "zip"


class DocumentNotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "document_not_rendered"


class DocumentWithdrawn(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "document_withdrawn"


def withdrawn_message(document: IssuedDocument) -> str:
    """Why a withdrawn document is no longer handed out, and since when."""
    return _(
        "Le document « %(kind)s » a été retiré le %(date)s : la demande n'a pas abouti (refusée ou "
        "abandonnée). Il n'est plus valable et n'est plus délivré."
    ) % {
        "kind": DocumentKind(document.kind).label,
        "date": timezone.localdate(document.withdrawn_at).strftime("%d/%m/%Y"),
    }


def _file_name(*, reference: str, kind: str) -> str:
    return f"{reference}-{_FILE_LABELS.get(kind, kind)}.pdf"


def file_name(*, reference: str, document: IssuedDocument) -> str:
    """The attachment's name: `<reference>-<kind>.pdf`, and the serial for a complement letter (a
    dossier may have several)."""
    if document.kind == DocumentKind.COMPLEMENT_LETTER:
        return f"{reference}-{_FILE_LABELS[document.kind]}-{document.serial}.pdf"
    return _file_name(reference=reference, kind=document.kind)


def document_for_download(*, user, reference: str, kind: str) -> IssuedDocument:
    """The rendered `kind` document of a dossier in `user`'s scope: Http404 if none or out of
    scope, DocumentWithdrawn if withdrawn, DocumentNotReady while it is being produced."""
    try:
        dossier = selectors.dossier_get(user=user, reference=reference)
    except Dossier.DoesNotExist as exc:
        raise Http404 from exc
    # One of each kind, but a complement letter per request: the latest is the one that counts.
    document = IssuedDocument.objects.filter(dossier=dossier, kind=kind).order_by("-issued_at", "-pk").first()
    if document is None:
        raise exceptions.NotFound(
            _("Aucun document « %(kind)s » n'a été délivré pour ce dossier.")
            % {"kind": DocumentKind(kind).label}
        )
    if document.withdrawn_at is not None:
        raise DocumentWithdrawn(withdrawn_message(document))
    if document.rendered_at is None:
        raise DocumentNotReady(
            _("Le document « %(kind)s » est en cours de production : réessayez dans quelques instants.")
            % {"kind": DocumentKind(kind).label}
        )
    return document


class DossierDocumentPdfApi(APIView):
    """One issued document of a dossier as a PDF attachment (certificate, CPI, receipt, rejection
    letter, the latest complement letter)."""

    kind: str = DocumentKind.CERTIFICATE
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="Le PDF, en pièce jointe."
            ),
            404: OpenApiResponse(description="Dossier inconnu, hors de vos droits, ou document non délivré."),
            409: OpenApiResponse(description="Document délivré mais encore en cours de production."),
            410: OpenApiResponse(
                description="Certificat provisoire retiré : la demande a été refusée ou abandonnée."
            ),
        }
    )
    def get(self, request, reference: str):
        document = document_for_download(user=request.user, reference=reference, kind=self.kind)
        return FileResponse(
            default_storage.open(document.file.name, "rb"),
            as_attachment=True,
            filename=file_name(reference=reference, document=document),
            content_type="application/pdf",
        )


@dataclass(frozen=True)
class BatchProblem:
    index: int
    reference: str
    rule: str
    message: str


def documents_for_batch(
    *, user, references: list[str], kind: str
) -> tuple[list[tuple[str, IssuedDocument]], list[BatchProblem]]:
    """The rendered `kind` documents of these references in `user`'s scope, in the given order,
    and one problem per reference that is unknown, out of scope, without the document, withdrawn
    or not rendered yet (unknown and out of scope read the same)."""
    dossiers = {
        d.reference: d for d in selectors.dossiers_for_user(user=user).filter(reference__in=references)
    }
    documents = {
        d.dossier_id: d for d in IssuedDocument.objects.filter(dossier__in=list(dossiers.values()), kind=kind)
    }
    found, problems = [], []
    for index, reference in enumerate(references):
        dossier = dossiers.get(reference)
        document = documents.get(dossier.pk) if dossier else None
        if dossier is None:
            problems.append(
                BatchProblem(index, reference, "not_found", _("Dossier inconnu ou hors de vos droits."))
            )
        elif document is None:
            problems.append(
                BatchProblem(index, reference, "not_issued", _("Aucun document de ce type pour ce dossier."))
            )
        elif document.withdrawn_at is not None:
            problems.append(BatchProblem(index, reference, "withdrawn", withdrawn_message(document)))
        elif document.rendered_at is None:
            problems.append(
                BatchProblem(index, reference, "not_rendered", _("Document encore en cours de production."))
            )
        else:
            found.append((reference, document))
    return found, problems


def batch_zip(*, documents: list[tuple[str, IssuedDocument]], kind: str) -> bytes:
    """One ZIP holding each PDF under `<reference>-<kind>.pdf` (stored: PDFs are compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for reference, document in documents:
            with default_storage.open(document.file.name, "rb") as pdf:
                archive.writestr(_file_name(reference=reference, kind=kind), pdf.read())
    return buffer.getvalue()


def batch_pdf(*, documents: list[tuple[str, IssuedDocument]]) -> bytes:
    """One PDF with every document's pages in order, for printing."""
    from pypdf import PdfReader, PdfWriter  # loaded only by the processes that render

    writer = PdfWriter()
    for _reference, document in documents:
        with default_storage.open(document.file.name, "rb") as pdf:
            writer.append(PdfReader(io.BytesIO(pdf.read())))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class DocumentsBatchApi(APIView):
    """Agents and dealers: many certificates or CPIs at once, as one ZIP or one merged PDF.

    All or nothing: a print run is never silently short. Any reference that cannot be served is
    reported with its index and why, and nothing is returned (400; 409 when the only problem is
    documents still being produced).
    """

    renderer_classes = [JSONRenderer, PdfRenderer, ZipRenderer]

    class BatchInput(serializers.Serializer):
        references = serializers.ListField(
            child=serializers.CharField(max_length=20), min_length=1, max_length=BATCH_MAX
        )
        kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in BATCH_KINDS])
        format = serializers.ChoiceField(choices=[("zip", "ZIP"), ("pdf", "PDF")], default="zip")

    @extend_schema(
        request=BatchInput,
        responses={
            (200, "application/zip"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="Les PDF dans une archive ZIP."
            ),
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="Un seul PDF, documents à la suite."
            ),
            400: OpenApiResponse(
                description="Références inconnues, hors de vos droits, sans document ou document retiré."
            ),
            409: OpenApiResponse(description="Documents encore en cours de production."),
        },
    )
    def post(self, request):
        if request.user.role not in BATCH_ROLES:
            raise exceptions.PermissionDenied(
                _("Les lots de documents sont réservés aux agents des CERT et aux professionnels.")
            )
        data = self.BatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        references = list(dict.fromkeys(data.validated_data["references"]))
        kind = data.validated_data["kind"]
        documents, problems = documents_for_batch(user=request.user, references=references, kind=kind)
        if problems:
            only_pending = all(p.rule == "not_rendered" for p in problems)
            return Response(
                {
                    "errors": [
                        {
                            "field": f"references.{p.index}",
                            "rule": p.rule,
                            "message": f"{p.reference} : {p.message}",
                            "expected": "",
                        }
                        for p in problems
                    ]
                },
                status=status.HTTP_409_CONFLICT if only_pending else status.HTTP_400_BAD_REQUEST,
            )
        label = _FILE_LABELS[kind]
        if data.validated_data["format"] == "pdf":
            content, content_type, name = batch_pdf(documents=documents), "application/pdf", f"{label}s.pdf"
        else:
            content = batch_zip(documents=documents, kind=kind)
            content_type, name = "application/zip", f"{label}s.zip"
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
