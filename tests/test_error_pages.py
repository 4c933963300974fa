"""Production error pages (the tests run with DEBUG off): French, DSFR, lang="fr", a way back to
the home page, the person's space and the contact address; the 500 and 400 pages render with no
database and no request context."""

import pytest
from django.test import Client, RequestFactory
from django.urls import path, reverse

from dossiers.models import Dossier
from portal import error_views
from portal import urls as portal_urls
from portal.models import OrganisationInvitation
from tests import factories
from tests.factories import text_of


def _boom(request):
    raise RuntimeError("a bug in a view")


# This module is the URL configuration of the tests marked `urls` below: the site plus a view that
# fails, with the site's handlers.
urlpatterns = [path("essai/panne/", _boom), *portal_urls.urlpatterns]
handler400 = portal_urls.handler400
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500


def assert_error_page(response, *, status: int, heading: str) -> str:
    """The page a person sees: the status, French and DSFR, its heading, and the way back."""
    html = response.content.decode()
    assert response.status_code == status
    assert '<html lang="fr"' in html
    assert "fr-header" in html and "fr-footer" in html and "République" in html
    assert f"Erreur {status}" in html
    assert f"<h1>{heading}</h1>" in html
    assert f'href="{reverse("home")}"' in html and f'href="{reverse("space")}"' in html
    assert 'href="mailto:contact@carte-grise.example.fr"' in html
    assert f'href="{reverse("accessibility")}"' in html  # the footer's legal links
    assert "Not Found" not in html and "Forbidden" not in html and "Server Error" not in html
    return text_of(response)


@pytest.mark.django_db
def test_unknown_address_is_the_french_404_page(client):
    assert_error_page(client.get("/cette-page-nexiste-pas/"), status=404, heading="Page non trouvée")


@pytest.mark.django_db
def test_another_citizens_dossier_is_the_french_404_page_and_shows_nothing_of_it(client):
    dossier = factories.submitted(owner=factories.citizen())
    client.force_login(factories.citizen())
    response = client.get(reverse("dossier-detail", args=[dossier.reference]))
    text = assert_error_page(response, status=404, heading="Page non trouvée")
    assert dossier.reference not in text and dossier.vehicle.vin not in text


@pytest.mark.django_db
def test_a_citizen_on_the_agents_queue_gets_the_french_403_page_with_the_reason(client):
    client.force_login(factories.citizen())
    text = assert_error_page(client.get(reverse("agent-queue")), status=403, heading="Accès refusé")
    assert "Réservé aux instructeurs et aux superviseurs." in text


@pytest.mark.django_db
def test_a_dealer_who_is_not_admin_cannot_invite_and_gets_the_french_403_page(client):
    member = factories.dealer()
    client.force_login(member)
    response = client.post(reverse("organisation-staff"), {"email": "nouveau@garage.example.fr"})
    text = assert_error_page(response, status=403, heading="Accès refusé")
    assert "Seul un administrateur de l'organisation peut faire cette modification." in text
    assert not OrganisationInvitation.objects.exists()


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_the_french_page_and_changes_nothing(client):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    response = strict.post(reverse("profile"), {"first_name": "Autre"})
    text = assert_error_page(response, status=403, heading="Formulaire expiré")
    assert "rien n'a été enregistré" in text
    owner.refresh_from_db()
    assert owner.first_name != "Autre"
    assert Dossier.objects.get(pk=dossier.pk).state == dossier.state


@pytest.mark.django_db
def test_a_request_for_an_unknown_host_gets_the_french_400_page(client):
    response = client.get("/", HTTP_HOST="intrus.example.com")
    assert_error_page(response, status=400, heading="Requête incorrecte")


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.django_db
def test_a_failing_view_gets_the_french_500_page():
    client = Client(raise_request_exception=False)
    response = client.get("/essai/panne/")
    text = assert_error_page(response, status=500, heading="Erreur inattendue")
    assert "a bug in a view" not in text and "RuntimeError" not in text


def test_the_500_and_400_pages_render_without_database_nor_request_context():
    """No `db` mark: any query would fail the test. The pages carry no script (nothing to nonce)."""
    request = RequestFactory().get("/")
    for response, status in (
        (error_views.server_error(request), 500),
        (error_views.bad_request(request, ValueError("bad")), 400),
    ):
        html = response.content.decode()
        assert response.status_code == status
        assert '<html lang="fr"' in html and "dsfr" in html and "<script" not in html
