from django.urls import include, path

from portal import api

urlpatterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
    path("", include("dossiers.api_urls")),
    path("", include("cert_workflow.review.api_urls")),
    path("", include("cert_workflow.documents.api_urls")),
]
