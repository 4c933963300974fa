"""An organisation admin uses the staff and token pages in Chromium, on a phone-sized screen."""

import pytest

from tests import factories
from tests.browser import serious_violations


@pytest.fixture
def admin():
    """Written before the browser starts (see tests/test_browser_login.py)."""
    admin = factories.organisation_admin(
        email="garage@example.fr", first_name="Dominique", last_name="Garnier"
    )
    factories.dealer(admin.organisation, email="vendeur@example.fr")
    return admin


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_invites_and_creates_a_token_on_a_phone(live_server, admin, page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Adresse électronique").fill("garage@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/mon-espace/")

    page.get_by_role("link", name="Membres de l'organisation").click()
    expect(page.get_by_role("rowheader", name="Camille Martin")).to_be_visible()
    assert serious_violations(page) == []
    # A malformed address: the summary takes the focus and links to the field.
    page.get_by_label("Adresse électronique du membre à inviter").fill("alex@")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.locator("#error-summary")).to_be_focused()
    assert serious_violations(page) == []
    page.get_by_label("Adresse électronique du membre à inviter").fill("alex@example.fr")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Invitation envoyée à alex@example.fr")).to_be_visible()
    expect(page.get_by_role("rowheader", name="alex@example.fr")).to_be_visible()

    page.get_by_role("link", name="Jetons d'API de l'organisation").click()
    page.get_by_label("Nom du jeton").fill("Logiciel DMS")
    page.get_by_role("button", name="Créer le jeton").click()
    secret = page.get_by_label("Jeton d'API").input_value()
    assert secret.startswith("cgo_")
    assert serious_violations(page) == []
    page.get_by_role("link", name="J'ai copié le jeton, retour à la liste").click()
    expect(page.get_by_role("rowheader", name="Logiciel DMS")).to_be_visible()
    assert secret not in page.content()
    assert serious_violations(page) == []
