"""Supervision pages, public figures and the public statistics API (included at the site root)."""

from django.urls import path

from cert_workflow.stats import views as views_stats
from cert_workflow.supervision import views as views_supervision

urlpatterns = [
    path("supervision/", views_supervision.overview, name="supervision"),
    path("supervision/centres/<str:code>/", views_supervision.centre, name="supervision-centre"),
    path(
        "supervision/centres/<str:code>/capacite/",
        views_supervision.centre_capacity,
        name="supervision-capacity",
    ),
    path(
        "supervision/centres/<str:code>/suspendre/", views_supervision.centre_pause, name="supervision-pause"
    ),
    path(
        "supervision/centres/<str:code>/reprendre/",
        views_supervision.centre_resume,
        name="supervision-resume",
    ),
    path("supervision/centres/<str:code>/deplacer/", views_supervision.centre_move, name="supervision-move"),
    path("statistiques/", views_stats.stats_page, name="stats"),
    # A plain Django view, not DRF: DRF takes `?format=` for its own renderer selection.
    path("api/v1/stats/", views_stats.stats_api, name="api-stats"),
]
