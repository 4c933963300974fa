"""The agent's pages under /instruction/ (included at the site root by cert_workflow/urls.py)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from cert_workflow.review import views as views_agent

urlpatterns = [
    path("instruction/", views_agent.queue_view, name="agent-queue"),
    path("instruction/prendre/", views_agent.claim_view, name="agent-claim"),
    path("instruction/recherche/", views_agent.search_view, name="agent-search"),
    path("instruction/acceptation-groupee/", views_agent.bulk_approve_view, name="agent-bulk-approve"),
    path("instruction/dossiers/<reference:reference>/", views_agent.dossier_view, name="agent-dossier"),
    path(
        "instruction/dossiers/<reference:reference>/decision/", views_agent.decide_view, name="agent-decide"
    ),
    path(
        "instruction/dossiers/<reference:reference>/liberer/", views_agent.release_view, name="agent-release"
    ),
    path(
        "instruction/dossiers/<reference:reference>/prolonger/",
        views_agent.lease_renew_view,
        name="agent-renew",
    ),
    path(
        "instruction/dossiers/<reference:reference>/pieces/<int:document_id>/",
        views_agent.document_view,
        name="agent-document",
    ),
    path(
        "instruction/dossiers/<reference:reference>/documents/<int:document_id>/",
        views_agent.issued_document_view,
        name="agent-issued-document",
    ),
]
