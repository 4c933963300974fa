"""The dossier page and its downloads, under /mon-espace/ (included at the site root)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from tracking import views

urlpatterns = [
    path("mon-espace/dossiers/<reference:reference>/", views.dossier_detail, name="dossier-detail"),
    path(
        "mon-espace/dossiers/<reference:reference>/complement/",
        views.dossier_complement,
        name="dossier-complement",
    ),
    path(
        "mon-espace/dossiers/<reference:reference>/abandonner/",
        views.dossier_withdraw,
        name="dossier-withdraw",
    ),
    path(
        "mon-espace/dossiers/<reference:reference>/documents/<int:document_id>/",
        views.issued_document_download,
        name="dossier-issued-document",
    ),
    path(
        "mon-espace/dossiers/<reference:reference>/pieces/<int:document_id>/",
        views.upload_download,
        name="dossier-upload",
    ),
    path(
        "mon-espace/dossiers/<reference:reference>/declaration-de-cession.pdf",
        views.sale_acknowledgement,
        name="dossier-sale-acknowledgement",
    ),
]
