from django.urls import include, path

from portal import api

urlpatterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
    path("auth/tokens/", api.ApiTokenListApi.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", api.ApiTokenDetailApi.as_view(), name="api-token-detail"),
    path("", include("dossiers.api_urls")),
    path("", include("cert_workflow.review.api_urls")),
    path("", include("cert_workflow.documents.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("tracking.api_urls")),
    path("", include("batches.api_urls")),
]
