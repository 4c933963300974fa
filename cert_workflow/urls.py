from django.urls import include, path

urlpatterns = [
    path("", include("cert_workflow.review.urls")),
    path("", include("cert_workflow.supervision.urls")),
    path("", include("cert_workflow.stats.urls")),
    path("", include("cert_workflow.documents.urls")),
]
