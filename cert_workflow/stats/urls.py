"""The public figures: /statistiques/ and the statistics API (included at the site root)."""

from django.urls import path

from cert_workflow.stats import views

urlpatterns = [
    path("statistiques/", views.stats_page, name="stats"),
    # A plain Django view, not DRF: DRF takes `?format=` for its own renderer selection.
    path("api/v1/stats/", views.stats_api, name="api-stats"),
]
