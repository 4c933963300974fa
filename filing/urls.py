from django.urls import path

from portal.stubs import not_built

urlpatterns = [
    path("demarches/", not_built, name="filing-start"),
]
