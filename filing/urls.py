from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from filing import dealer_views, views

urlpatterns = [
    path("demarches/", views.start, name="filing-start"),
    path("demarches/brouillon/<int:pk>/", views.resume, name="filing-resume"),
    path("demarches/brouillon/<int:pk>/termine/", views.done, name="filing-done"),
    path("demarches/brouillon/<int:pk>/<slug:name>/", views.step, name="filing-step"),
    path("demarches/dossier/<reference:reference>/reprendre/", views.adopt, name="filing-adopt"),
    path("demarches/pieces/<int:pk>/", views.document, name="filing-document"),
    path("demarches/<slug:procedure>/", views.procedure_start, name="filing-procedure"),
    path("mon-espace/vehicules-neufs/nouveau/", dealer_views.registration_new, name="dealer-registration"),
    path(
        "mon-espace/vehicules-neufs/<reference:reference>/depot/",
        dealer_views.registration_submit,
        name="dealer-registration-submit",
    ),
]
