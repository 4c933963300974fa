"""The footer's legal pages, as anyone reads them: reachable from every page's footer, French,
and true to what the code does (session lengths from the settings, the cookies the site sets)."""

import pytest
from django.urls import reverse

from tests import factories
from tests.factories import text_of

pytestmark = pytest.mark.django_db

LEGAL_PAGES = {
    "accessibility": "Déclaration d'accessibilité",
    "legal-notice": "Mentions légales",
    "personal-data": "Données personnelles",
    "sitemap": "Plan du site",
}


def test_every_page_footer_links_the_four_legal_pages(client):
    html = client.get(reverse("home")).content.decode()
    for name in LEGAL_PAGES:
        assert f'href="{reverse(name)}"' in html
    assert "Accessibilité : non conforme" in html


@pytest.mark.parametrize(("name", "heading"), LEGAL_PAGES.items())
def test_legal_pages_are_public_and_in_french(client, name, heading):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert '<html lang="fr"' in response.content.decode()
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_accessibility_statement_says_non_conforme_what_was_tested_and_what_is_not_accessible(client):
    text = text_of(client.get(reverse("accessibility")))
    assert "non conforme" in text and "aucun audit de conformité RGAA" in text
    assert "axe-core" in text and "clavier" in text and "375 × 740" in text
    assert "Contenus non accessibles connus" in text and "PDF" in text
    assert "Défenseur des droits" in text and "contact@carte-grise.example.fr" in text


def test_personal_data_page_states_the_session_lengths_the_code_enforces(client, settings):
    settings.SESSION_PUBLIC_IDLE_SECONDS = 45 * 60
    text = text_of(client.get(reverse("personal-data")))
    assert "après 45 minutes sans activité" in text
    for cookie in ("sessionid", "csrftoken", "messages"):
        assert cookie in text
    assert "aucun cookie de mesure d'audience" in text


def test_the_site_sets_no_cookie_beyond_those_the_personal_data_page_lists(client):
    """Log in, visit and post as a citizen: every cookie the site set is one the page names."""
    owner = factories.citizen()
    client.post(reverse("login"), {"username": owner.email, "password": factories.PASSWORD})
    client.get(reverse("space"))
    client.get(reverse("profile"))
    text = text_of(client.get(reverse("personal-data")))
    assert set(client.cookies) <= {"sessionid", "csrftoken", "messages"}
    assert all(name in text for name in client.cookies)


def test_sitemap_links_every_public_page_and_each_roles_space(client):
    html = client.get(reverse("sitemap")).content.decode()
    for name in (
        "home", "stats", "login", "signup", "password_reset", "api-docs", "accessibility",
        "legal-notice", "personal-data", "space", "profile", "filing-start", "dealer-registration",
        "batch-list", "organisation-staff", "organisation-tokens", "webhook-endpoints",
        "agent-queue", "agent-search", "supervision",
    ):  # fmt: skip
        assert f'href="{reverse(name)}"' in html, name
