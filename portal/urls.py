from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import error_views, legal_views, views

handler400 = error_views.bad_request
handler403 = error_views.permission_denied
handler404 = error_views.page_not_found
handler500 = error_views.server_error

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accessibilite/", legal_views.accessibility, name="accessibility"),
    path("mentions-legales/", legal_views.legal_notice, name="legal-notice"),
    path("donnees-personnelles/", legal_views.personal_data, name="personal-data"),
    path("plan-du-site/", legal_views.sitemap, name="sitemap"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("mon-espace/", views.space, name="space"),
    path("", include("portal.account_urls")),
    path("", include("portal.organisation_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="portal/api_docs.html"),
        name="api-docs",
    ),
    path("api/v1/", include("portal.api_urls")),
    path("", include("dossiers.urls")),
    path("", include("cert_workflow.urls")),
    path("", include("filing.urls")),
    path("", include("payments.urls")),
    path("", include("tracking.urls")),
    path("", include("webhooks.urls")),
    path("", include("batches.urls")),
]
