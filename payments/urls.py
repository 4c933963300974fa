from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from portal.stubs import not_built

urlpatterns = [
    path("mon-espace/dossiers/<reference:reference>/paiement/", not_built, name="payment-start"),
]
