from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("mon-espace/", views.space, name="space"),
    path("", include("portal.account_urls")),
    path("", include("portal.organisation_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("portal.api_urls")),
    path("", include("dossiers.urls")),
    path("", include("cert_workflow.urls")),
    path("", include("filing.urls")),
    path("", include("payments.urls")),
    path("", include("tracking.urls")),
    path("", include("webhooks.urls")),
    path("", include("batches.urls")),
]
