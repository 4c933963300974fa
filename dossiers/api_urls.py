from django.urls import path

from dossiers import api

urlpatterns = [
    path("dossiers/", api.DossierListCreateApi.as_view(), name="api-dossiers"),
    path("dossiers/<str:reference>/", api.DossierDetailApi.as_view(), name="api-dossier"),
    path("dossiers/<str:reference>/submit/", api.DossierSubmitApi.as_view(), name="api-dossier-submit"),
    path("dossiers/<str:reference>/withdraw/", api.DossierWithdrawApi.as_view(), name="api-dossier-withdraw"),
    path(
        "dossiers/<str:reference>/documents/", api.DossierDocumentsApi.as_view(), name="api-dossier-documents"
    ),
    path("dossiers/<str:reference>/events/", api.DossierEventsApi.as_view(), name="api-dossier-events"),
]
