"""A citizen logs in through the real login form in Chromium and lands on their space."""

import pytest

from tests import factories


@pytest.fixture
def camille_draft():
    """A citizen with one draft. Written before the browser starts: ORM calls made while Playwright's
    loop runs would open a second connection, in another context, that the teardown never closes."""
    return factories.draft(filed_by=factories.citizen(email="camille@example.fr"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_logs_in_through_the_form_and_sees_their_space(live_server, camille_draft, page):
    from playwright.sync_api import expect

    problems: list[str] = []  # script errors and CSP violations both land in the console
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse électronique").fill("camille@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.wait_for_url(f"{live_server.url}/mon-espace/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon espace usager")
    expect(page.get_by_role("rowheader", name=camille_draft.reference)).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    # The DSFR script ran (it marks the document), so the CSP nonce let it through.
    expect(page.locator("html")).to_have_attribute("data-fr-js", "true")
    assert problems == []
