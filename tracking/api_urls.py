"""tracking API under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from tracking import api

urlpatterns = [
    path(
        "dossiers/<reference:reference>/tracking/",
        api.DossierTrackingApi.as_view(),
        name="api-dossier-tracking",
    ),
    path(
        "dossiers/<reference:reference>/documents/<int:document_id>/file/",
        api.UploadFileApi.as_view(),
        name="api-dossier-upload-file",
    ),
    path(
        "dossiers/<reference:reference>/complement/corrections/",
        api.ComplementCorrectionsApi.as_view(),
        name="api-dossier-complement-corrections",
    ),
]
