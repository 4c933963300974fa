"""A visitor signs up in Chromium, confirms the address from the mail, logs in and fills the
profile; every page on the way passes axe-core with no serious or critical violation."""

import pytest
from django.core import mail

from tests import factories
from tests.browser import serious_violations

PASSWORD = "Clio-rouge-1998!"


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_up_confirm_log_in_and_fill_the_profile(live_server, page, screenshots):
    from playwright.sync_api import expect

    problems: list[str] = []  # script errors and CSP violations both land in the console
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/")
    assert serious_violations(page) == []
    screenshots.take("home")
    page.get_by_role("link", name="Créer un compte").first.click()
    page.wait_for_url(f"{live_server.url}/inscription/")
    assert serious_violations(page) == []
    screenshots.take("signup")

    # The empty form: every error at once, the summary on top holding the focus.
    page.get_by_role("button", name="Créer mon compte").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Le formulaire contient 5 erreurs")
    assert focused_id(page) == "error-summary"
    expect(page.locator(".fr-error-text")).to_have_count(5)
    assert serious_violations(page) == []
    screenshots.take("signup-errors")

    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Durand")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_label("Mot de passe Au moins").fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{live_server.url}/inscription/envoyee/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    screenshots.take("signup-sent")

    # Logging in before confirming says why it fails.
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("n'est pas encore confirmée")
    expect(page.get_by_role("link", name="Recevoir un nouveau lien de confirmation")).to_be_visible()
    assert serious_violations(page) == []
    screenshots.take("login-unconfirmed")

    # The live server runs in this process: its mails are in the locmem outbox.
    [message] = mail.outbox
    page.goto(live_server.url + factories.mail_link(message, "/inscription/confirmer/"))
    page.wait_for_url(f"{live_server.url}/connexion/")
    expect(page.get_by_text("Votre adresse électronique est confirmée")).to_be_visible()
    assert serious_violations(page) == []
    screenshots.take("login")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/mon-espace/")

    page.get_by_role("link", name="Mon profil").click()
    page.wait_for_url(f"{live_server.url}/mon-espace/profil/")
    assert serious_violations(page) == []
    screenshots.take("profile")
    page.get_by_label("Date de naissance").fill("14/07/1985")
    page.get_by_label("Lieu de naissance").fill("Lyon")
    page.get_by_label("Adresse Numéro et voie").fill("12 rue de la Paix")
    page.get_by_label("Code postal").fill("6900")
    page.get_by_label("Commune", exact=True).fill("Lyon")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "Le code postal doit comporter exactement 5 chiffres."
    )
    assert focused_id(page) == "error-summary"
    assert serious_violations(page) == []
    screenshots.take("profile-errors")
    page.get_by_label("Code postal").fill("69002")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Votre profil est enregistré.")).to_be_visible()
    expect(page.get_by_label("Code postal")).to_have_value("69002")
    expect(page.get_by_label("Date de naissance")).to_have_value("14/07/1985")
    screenshots.take("profile-saved")

    page.get_by_role("button", name="Se déconnecter").click()
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.wait_for_url(f"{live_server.url}/mot-de-passe/oublie/")
    assert serious_violations(page) == []
    screenshots.take("password-reset")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_role("button", name="Recevoir le lien").click()
    page.wait_for_url(f"{live_server.url}/mot-de-passe/envoye/")
    assert mail.outbox[-1].subject == "Choisissez un nouveau mot de passe — Portail carte grise"
    page.goto(live_server.url + factories.mail_link(mail.outbox[-1], "/mot-de-passe/nouveau/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisir un nouveau mot de passe")
    assert serious_violations(page) == []
    screenshots.take("password-reset-confirm")
    assert problems == []
