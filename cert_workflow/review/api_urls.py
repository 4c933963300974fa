"""Agent API under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from cert_workflow.review import api

urlpatterns = [
    path("queue/", api.QueueApi.as_view(), name="api-queue"),
    path("queue/claim/", api.QueueClaimApi.as_view(), name="api-queue-claim"),
    path("queue/bulk-approve/", api.BulkApproveApi.as_view(), name="api-queue-bulk-approve"),
    path(
        "dossiers/<reference:reference>/decision/",
        api.DossierDecisionApi.as_view(),
        name="api-dossier-decision",
    ),
    path(
        "dossiers/<reference:reference>/release/", api.DossierReleaseApi.as_view(), name="api-dossier-release"
    ),
    path("dossiers/<reference:reference>/lease/", api.DossierLeaseApi.as_view(), name="api-dossier-lease"),
    path(
        "dossiers/<reference:reference>/complement/",
        api.DossierComplementAnswerApi.as_view(),
        name="api-dossier-complement",
    ),
]
