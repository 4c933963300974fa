"""Supervision pages under /supervision/ (included at the site root by cert_workflow/urls.py)."""

from django.urls import path

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
]
