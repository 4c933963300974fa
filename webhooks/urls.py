from django.urls import path

from webhooks import views

urlpatterns = [
    path("mon-espace/organisation/webhooks/", views.endpoints, name="webhook-endpoints"),
    path(
        "mon-espace/organisation/webhooks/<int:endpoint_id>/desactiver/",
        views.endpoint_deactivate,
        name="webhook-endpoint-deactivate",
    ),
]
