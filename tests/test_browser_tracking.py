"""A citizen answers a complement from the dossier page in Chromium: sees what is asked and by
when, forgets the document (every error shown at once, the summary first), then uploads it and
corrects the address; the dossier goes back to its centre. No serious accessibility violation on
/mon-espace/ nor on the dossier page."""

import pytest

from tests import factories
from tests.browser import serious_violations


@pytest.fixture
def complement_asked(settings, tmp_path):
    """Written before the browser starts (see test_browser_login)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    owner = factories.citizen(email="camille@example.fr")
    dossier, _agent = factories.awaiting_complement(
        owner=owner, items=("identity", "address_line"), message="La pièce d'identité est illisible."
    )
    document = tmp_path / "carte-identite.pdf"
    document.write_bytes(factories.pdf("Carte d'identite lisible"))
    return dossier, document


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_answers_a_complement_from_the_dossier_page(live_server, complement_asked, page, screenshots):
    from playwright.sync_api import expect

    dossier, document = complement_asked
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Adresse électronique").fill("camille@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/mon-espace/")
    expect(page.get_by_text("Action attendue de votre part")).to_be_visible()
    screenshots.take("mon-espace")
    assert serious_violations(page) == []

    page.get_by_role("link", name=dossier.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier {dossier.reference}")
    expect(page.get_by_text("À vous : répondez à la demande de complément.")).to_be_visible()
    expect(page.get_by_text("Pièce à déposer : Pièce d'identité")).to_be_visible()
    expect(page.get_by_text("La pièce d'identité est illisible.").first).to_be_visible()
    screenshots.take("dossier-complement-demande")
    assert serious_violations(page) == []

    # Sent without the document and with an empty address: both errors at once, summary focused.
    page.get_by_role("button", name="Envoyer ma réponse").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page.locator("#complement-identity-error")).to_contain_text("Déposez la pièce demandée")
    expect(page.locator("#complement-address_line-error")).to_contain_text("Saisissez la valeur corrigée")
    screenshots.take("dossier-erreurs")
    assert serious_violations(page) == []

    page.locator("#complement-identity").set_input_files(str(document))
    page.locator("#complement-address_line").fill("8 rue des Tilleuls")
    page.get_by_role("button", name="Envoyer ma réponse").click()
    expect(page.get_by_text("Votre réponse est envoyée")).to_be_visible()
    expect(page.get_by_text("Vous avez répondu à la demande de complément")).to_be_visible()
    expect(page.get_by_role("heading", name="Complément demandé")).to_have_count(0)
    screenshots.take("dossier-reponse-envoyee")
    assert serious_violations(page) == []
