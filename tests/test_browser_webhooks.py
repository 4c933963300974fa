"""A dealer adds a webhook endpoint in Chromium: a private address is refused next to the field,
a valid one shows its secret once; both pages pass axe-core."""

import pytest

from tests import factories
from tests.browser import serious_violations


@pytest.fixture
def dealer():
    """Written before the browser starts (see tests/test_browser_login.py)."""
    return factories.dealer(email="garage@example.fr")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dealer_adds_an_endpoint_after_a_refused_private_address(
    live_server, dealer, page, settings, screenshots
):
    from playwright.sync_api import expect

    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Adresse électronique").fill("garage@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/mon-espace/")
    page.get_by_role("link", name="Webhooks de l'organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks de l'organisation")

    page.get_by_label("Adresse de réception (URL)").fill("https://10.0.0.1/hooks")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator(".fr-error-text")).to_contain_text("adresse publique")
    screenshots.take("refused")
    assert serious_violations(page) == []

    page.get_by_label("Adresse de réception (URL)").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    expect(page.get_by_role("rowheader", name="http://127.0.0.1:9/hooks")).to_be_visible()
    screenshots.take("secret")
    assert serious_violations(page) == []
