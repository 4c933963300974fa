"""A citizen pays a draft's fees through the fake provider in Chromium."""

import pytest
from django.db import connection

from dossiers.models import Payment
from tests import factories
from tests.browser import serious_violations


@pytest.fixture
def unpaid_draft():
    """Written before the browser starts (see tests/test_browser_login.py)."""
    owner = factories.citizen(email="payeur@example.fr")
    return factories.draft(filed_by=owner, paid=False)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_pays_a_draft_on_the_fake_bank_page(live_server, unpaid_draft, page, screenshots):
    from playwright.sync_api import expect

    reference = unpaid_draft.reference
    page.goto(f"{live_server.url}/connexion/?next=/mon-espace/dossiers/{reference}/paiement/")
    page.get_by_label("Adresse électronique").fill("payeur@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.wait_for_url(f"{live_server.url}/mon-espace/dossiers/{reference}/paiement/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Frais du dossier {reference}")
    expect(page.get_by_role("rowheader", name="Taxe régionale")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Montant total")).to_be_visible()
    screenshots.take("frais")
    assert serious_violations(page) == []

    page.get_by_role("button", name="Payer").click()
    page.wait_for_url(f"{live_server.url}/paiement-simule/**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Paiement sécurisé (simulation)")
    expect(page.get_by_role("button", name="Refuser le paiement")).to_be_visible()
    expect(page.get_by_role("button", name="Abandonner")).to_be_visible()
    screenshots.take("banque-simulee")
    assert serious_violations(page) == []

    page.get_by_role("button", name="Payer", exact=True).click()
    page.wait_for_url(f"{live_server.url}/mon-espace/dossiers/{reference}/paiement/")
    expect(page.get_by_text("Paiement accepté")).to_be_visible()
    expect(page.get_by_text("Les frais sont réglés")).to_be_visible()
    screenshots.take("paye")
    assert serious_violations(page) == []
    # A query made while Playwright's loop runs opens a connection of its own: closed here, or the
    # teardown could not drop the PostgreSQL test database ("accessed by other users").
    recorded = Payment.objects.filter(dossier=unpaid_draft).count()
    connection.close()
    assert recorded == 1
