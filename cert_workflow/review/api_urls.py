"""Agent API under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path

from cert_workflow.review import api

urlpatterns = [
    path("queue/", api.QueueApi.as_view(), name="api-queue"),
    path("queue/claim/", api.QueueClaimApi.as_view(), name="api-queue-claim"),
    path("queue/bulk-approve/", api.BulkApproveApi.as_view(), name="api-queue-bulk-approve"),
    path("dossiers/<str:reference>/decision/", api.DossierDecisionApi.as_view(), name="api-dossier-decision"),
    path("dossiers/<str:reference>/release/", api.DossierReleaseApi.as_view(), name="api-dossier-release"),
    path("dossiers/<str:reference>/lease/", api.DossierLeaseApi.as_view(), name="api-dossier-lease"),
    path(
        "dossiers/<str:reference>/complement/",
        api.DossierComplementAnswerApi.as_view(),
        name="api-dossier-complement",
    ),
]
