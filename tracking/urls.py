from django.urls import path

import portal.converters  # noqa: F401  (registers the <reference:...> converter)
from portal.stubs import not_built

urlpatterns = [
    path("mon-espace/dossiers/<reference:reference>/", not_built, name="dossier-detail"),
    path(
        "mon-espace/dossiers/<reference:reference>/declaration-de-cession.pdf",
        not_built,
        name="dossier-sale-acknowledgement",
    ),
]
