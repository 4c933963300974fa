from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from dossiers import api

urlpatterns = [
    path("dossiers/", api.DossierListCreateApi.as_view(), name="api-dossiers"),
    path("dossiers/<reference:reference>/", api.DossierDetailApi.as_view(), name="api-dossier"),
    path("dossiers/<reference:reference>/submit/", api.DossierSubmitApi.as_view(), name="api-dossier-submit"),
    path(
        "dossiers/<reference:reference>/withdraw/",
        api.DossierWithdrawApi.as_view(),
        name="api-dossier-withdraw",
    ),
    path(
        "dossiers/<reference:reference>/documents/",
        api.DossierDocumentsApi.as_view(),
        name="api-dossier-documents",
    ),
    path("dossiers/<reference:reference>/events/", api.DossierEventsApi.as_view(), name="api-dossier-events"),
]
