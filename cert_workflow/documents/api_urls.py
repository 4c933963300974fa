"""Document downloads under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from cert_workflow.documents import api as api_documents
from cert_workflow.models import DocumentKind

urlpatterns = [
    path(
        "dossiers/<reference:reference>/certificate.pdf",
        api_documents.DossierDocumentPdfApi.as_view(kind=DocumentKind.CERTIFICATE),
        name="api-dossier-certificate",
    ),
    path(
        "dossiers/<reference:reference>/cpi.pdf",
        api_documents.DossierDocumentPdfApi.as_view(kind=DocumentKind.CPI),
        name="api-dossier-cpi",
    ),
    path(
        "dossiers/<reference:reference>/receipt.pdf",
        api_documents.DossierDocumentPdfApi.as_view(kind=DocumentKind.RECEIPT),
        name="api-dossier-receipt",
    ),
    path(
        "dossiers/<reference:reference>/rejection-letter.pdf",
        api_documents.DossierDocumentPdfApi.as_view(kind=DocumentKind.REJECTION_LETTER),
        name="api-dossier-rejection-letter",
    ),
    path(
        "dossiers/<reference:reference>/complement-letter.pdf",
        api_documents.DossierDocumentPdfApi.as_view(kind=DocumentKind.COMPLEMENT_LETTER),
        name="api-dossier-complement-letter",
    ),
    path("documents/batch/", api_documents.DocumentsBatchApi.as_view(), name="api-documents-batch"),
]
