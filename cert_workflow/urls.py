from django.urls import include, path

urlpatterns = [
    path("", include("cert_workflow.urls_agent")),
    path("", include("cert_workflow.urls_supervision")),
    path("", include("cert_workflow.urls_verify")),
]
