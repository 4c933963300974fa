"""The public verification pages under /verifier/ (included at the site root by cert_workflow/urls.py)."""

from django.urls import path

from cert_workflow.documents import views as views_verify

urlpatterns = [
    # Before the token route: "cle-publique" would otherwise be read as a (bad) token.
    path("verifier/cle-publique", views_verify.public_key_view, name="verify-public-key"),
    path("verifier/<str:token>", views_verify.verify_view, name="verify"),
]
