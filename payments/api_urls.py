"""payments API under /api/v1/ (included by portal/api_urls.py)."""

from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from payments import api

urlpatterns = [
    path("fees/quote/", api.FeesQuoteApi.as_view(), name="api-fees-quote"),
    path(
        "dossiers/<reference:reference>/payments/",
        api.DossierPaymentsApi.as_view(),
        name="api-dossier-payments",
    ),
]
