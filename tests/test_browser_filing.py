"""A citizen files a duplicate after a loss in Chromium, by keyboard-friendly fields, up to the fees;
an empty step puts the focus on the error summary; axe-core finds no serious violation on the
procedure chooser and on the first step of each procedure."""

import pytest

from filing.steps import WEB_PROCEDURES
from tests import factories
from tests.browser import serious_violations

EMAIL = "camille.filing@example.fr"


@pytest.fixture
def camille_and_her_car():
    """The citizen and the register's title of her car, written before the browser starts."""
    factories.citizen(email=EMAIL)
    return factories.registered()


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/connexion/?next=/demarches/")
    page.get_by_label("Adresse électronique").fill(EMAIL)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/demarches/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_duplicate_after_a_loss_up_to_the_fees(
    live_server, camille_and_her_car, page, screenshots, settings, tmp_path
):
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = tmp_path
    title = camille_and_her_car
    plate, formule = title.vehicle.plate, title.formule_number
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = live_server.url

    _log_in(page, base)
    screenshots.take("demarches")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Duplicata").click()
    expect(page.locator("#documents-needed")).to_contain_text("Pièce d'identité")
    screenshots.take("avant-de-commencer")
    page.get_by_role("button", name="Commencer la démarche").click()

    # Step 1, sent empty: every error at once, the summary has the focus.
    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 1 sur 7")
    page.get_by_label("Nom du titulaire").fill("")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Le formulaire contient 4 erreurs")
    screenshots.take("erreurs")
    assert serious_violations(page) == []

    page.get_by_label("Immatriculation (A)").fill(plate)
    page.get_by_label("Numéro de formule").fill(formule)
    page.get_by_label("Nom du titulaire").fill("Martin")
    page.get_by_label("Date de naissance du titulaire").fill("1985-04-12")
    page.get_by_label("Date de naissance du titulaire").press("Enter")  # the keyboard sends the form

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 2 sur 7")
    expect(page.get_by_label("Prénoms")).to_have_value("Camille")
    page.get_by_label("Adresse", exact=False).first.fill("12 rue des Lilas")
    page.get_by_label("Code postal").fill("25000")
    page.get_by_label("Commune").fill("Besançon")
    screenshots.take("titulaire")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 3 sur 7")
    page.get_by_label("Perte").focus()  # by keyboard: DSFR draws the radio under its label
    page.keyboard.press("Space")
    expect(page.get_by_label("Perte")).to_be_checked()
    screenshots.take("motif")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 4 sur 7")
    expect(page.get_by_text("RENAULT MEGANE")).to_be_visible()
    screenshots.take("recapitulatif")
    page.get_by_role("button", name="Confirmer et créer mon dossier").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 5 sur 7")
    for label in ("Pièce d'identité", "Justificatif de domicile"):
        page.get_by_label(label).set_input_files(
            {"name": "piece.pdf", "mimeType": "application/pdf", "buffer": factories.pdf(label)}
        )
    screenshots.take("pieces")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    # (Checked on the pages, not through the ORM: a query made while Playwright's loop runs would
    # open a connection that the teardown never closes.)

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 6 sur 7")
    expect(page.locator("#fees-table")).to_contain_text("Montant total")
    screenshots.take("taxes")
    assert serious_violations(page) == []
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_first_step_of_each_procedure_has_no_serious_accessibility_violation(
    live_server, camille_and_her_car, page, screenshots
):
    base = live_server.url
    _log_in(page, base)
    found = []
    for procedure in WEB_PROCEDURES:
        page.goto(f"{base}/demarches/{procedure}/")
        found += serious_violations(page)
        page.get_by_role("button", name="Commencer la démarche").click()
        page.wait_for_url(f"{base}/demarches/brouillon/*/vehicle/")
        screenshots.take(procedure)
        found += serious_violations(page)
    assert found == []
