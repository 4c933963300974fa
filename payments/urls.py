from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from payments import views

urlpatterns = [
    path("mon-espace/dossiers/<reference:reference>/paiement/", views.payment_start, name="payment-start"),
    path("paiement/retour/", views.payment_return, name="payment-return"),
    path("paiement/notification/<slug:provider>/", views.payment_notification, name="payment-notification"),
    path("paiement-simule/<slug:session_id>/", views.fake_provider_page, name="fake-provider-page"),
]
