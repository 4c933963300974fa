"""The citizen journeys of issue 13, end to end in Chromium, each step screenshotted:

- a visitor signs up, confirms the address from the mail, files a duplicate after a loss for their
  registered vehicle, uploads a document, pays with the fake provider, submits and follows the dossier
  (timeline, estimated date, receipt);
- a holder declares a sale and reads the code de cession; a buyer files the change of owner with it;
- axe-core finds no serious or critical violation on the main pages, as each role.

After a submission the receipt is rendered by a task: in-process after the commit without REDIS_URL
(the embedded mode), by a real Celery worker on Redis and PostgreSQL otherwise (as CI runs).
"""

import os
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests import factories
from tests.browser import serious_violations
from tests.celery_worker import wait_until

PASSWORD = "Clio-rouge-1998!"
SOLD_ON = (timezone.localdate() - timedelta(days=2)).isoformat()


@pytest.fixture
def tasks_run(request, settings, tmp_path):
    """Where the tasks of a submission run: in-process (no REDIS_URL), or on a real worker that
    shares the test's media folder. Requested before any row is written (the worker purges the broker)."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    if not os.environ.get("REDIS_URL"):
        return None
    start = request.getfixturevalue("start_celery_worker")
    return start(env={"MEDIA_ROOT": str(media)})


def _worker_log(worker) -> str:
    return f"\n{worker.log()[-4000:]}" if worker else ""


def _console_problems(page) -> list[str]:
    """Script errors and CSP violations (both land in the console), collected as the test goes."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _log_in(page, base: str, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base}/connexion/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/mon-espace/")


def _upload_every_piece(page, text: str) -> None:
    """A genuine small PDF in each input of the pieces asked for this dossier."""
    inputs = page.locator("input[type=file]:not([name=file_other])")
    for index in range(inputs.count()):
        inputs.nth(index).set_input_files(
            {"name": f"piece-{index}.pdf", "mimeType": "application/pdf", "buffer": factories.pdf(text)}
        )


def _pay_on_the_fake_bank(page, base: str, screenshots, found: list[str]) -> None:
    """From the fees step: the payment page, the fake bank's page, "Payer", back to the fees."""
    from playwright.sync_api import expect

    fees_url = page.url
    page.get_by_role("link", name="Payer").click()
    page.wait_for_url(f"{base}/mon-espace/dossiers/*/paiement/**")
    screenshots.take("paiement")
    found += serious_violations(page)
    page.get_by_role("button", name="Payer").click()
    page.wait_for_url(f"{base}/paiement-simule/**")
    screenshots.take("banque-simulee")
    found += serious_violations(page)
    page.get_by_role("button", name="Payer", exact=True).click()
    page.wait_for_url(fees_url)
    expect(page.get_by_text("Les taxes sont payées.")).to_be_visible()
    screenshots.take("taxes-payees")


@pytest.fixture
def durand_title_and_a_measured_centre(nine_certs):
    """Camille Durand's car in the register (the account comes later, from the sign-up page), and
    one decision of the Besançon centre (where a Doubs address goes) in the last days, so that the
    centre has a measured rate and the dossier page an estimated date. Before the browser starts."""
    besancon = next(cert for cert in nine_certs if cert.city == "Besançon")
    factories.awaiting_complement(cert=besancon)
    return factories.registered(
        holder=factories.holder_data(last_name="Durand", first_names="Camille", birth_date="1985-04-12")
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_citizen_signs_up_files_a_duplicate_pays_and_follows_it(
    tasks_run, durand_title_and_a_measured_centre, live_server, page, screenshots
):
    from playwright.sync_api import expect

    title = durand_title_and_a_measured_centre
    plate, formule = title.vehicle.plate, title.formule_number
    base, found = live_server.url, []
    problems = _console_problems(page)

    page.goto(f"{base}/inscription/")
    screenshots.take("inscription")
    found += serious_violations(page)
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Nom", exact=True).fill("Durand")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_label("Mot de passe Au moins").fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{base}/inscription/envoyee/")
    screenshots.take("inscription-envoyee")

    # The live server runs in this process: its mails are in the locmem outbox.
    [message] = [sent for sent in mail.outbox if sent.to == ["camille.durand@example.fr"]]
    page.goto(base + factories.mail_link(message, "/inscription/confirmer/"))
    page.wait_for_url(f"{base}/connexion/")
    expect(page.get_by_text("Votre adresse électronique est confirmée")).to_be_visible()
    screenshots.take("adresse-confirmee")
    page.get_by_label("Adresse électronique").fill("camille.durand@example.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/mon-espace/")
    screenshots.take("mon-espace")

    page.goto(f"{base}/demarches/")
    screenshots.take("demarches")
    page.get_by_role("link", name="Duplicata").click()
    expect(page.locator("#documents-needed")).to_contain_text("Pièce d'identité")
    screenshots.take("duplicata-avant-de-commencer")
    page.get_by_role("button", name="Commencer la démarche").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 1 sur 7")
    page.get_by_label("Immatriculation (A)").fill(plate)
    page.get_by_label("Numéro de formule").fill(formule)
    page.get_by_label("Nom du titulaire").fill("Durand")
    page.get_by_label("Date de naissance du titulaire").fill("1985-04-12")
    screenshots.take("vehicule")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 2 sur 7")
    expect(page.get_by_label("Prénoms")).to_have_value("Camille")
    page.get_by_label("Adresse", exact=False).first.fill("12 rue des Lilas")
    page.get_by_label("Code postal").fill("25000")
    page.get_by_label("Commune").fill("Besançon")
    screenshots.take("titulaire")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 3 sur 7")
    page.locator("label[for=id_duplicate_reason]").click()  # DSFR draws the radio under its label
    expect(page.get_by_label("Perte")).to_be_checked()
    screenshots.take("motif")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 4 sur 7")
    screenshots.take("recapitulatif")
    page.get_by_role("button", name="Confirmer et créer mon dossier").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 5 sur 7")
    _upload_every_piece(page, "Piece du duplicata")
    screenshots.take("pieces")
    page.get_by_role("button", name="Enregistrer et continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 6 sur 7")
    expect(page.locator("#fees-table")).to_contain_text("Montant total")
    screenshots.take("taxes")
    found += serious_violations(page)
    _pay_on_the_fake_bank(page, base, screenshots, found)
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 7 sur 7")
    screenshots.take("depot")
    page.get_by_role("button", name="Déposer mon dossier").click()
    page.wait_for_url(f"{base}/mon-espace/dossiers/*/")
    reference = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier {reference}")

    # The checks, the routing and the receipt are tasks run after the commit: wait for the
    # receipt's link and the estimated date, page by page.
    receipt = page.get_by_role("link", name="Accusé de dépôt")
    estimate = page.locator("#estimate")

    def receipt_and_estimate_shown() -> bool:
        page.reload()
        return receipt.count() == 1 and "Inconnue" not in estimate.inner_text()

    wait_until(
        receipt_and_estimate_shown,
        60,
        interval=0.5,
        message=lambda: (
            f"no receipt or no estimate on the dossier page: {page.locator('main').inner_text()}"
            + _worker_log(tasks_run)
        ),
    )
    timeline = page.locator(".cg-timeline")
    expect(timeline).to_contain_text("déposé")
    timeline_text = timeline.inner_text()
    for code in ("submitted", "draft", "duplicate", "receipt", "in_review", "queued"):
        assert code not in timeline_text, f"a stored code in the timeline: {timeline_text}"
    expect(estimate).to_contain_text(str(timezone.localdate().year))
    expect(page.get_by_text("Cette date est estimée à partir de la place de votre dossier")).to_be_visible()
    expect(page.get_by_text("Votre dossier est le prochain de sa file")).to_be_visible()
    expect(page.get_by_text("Au centre : CERT de Besançon instruit votre dossier.")).to_be_visible()
    screenshots.take("dossier")
    found += serious_violations(page)

    response = page.request.get(base + receipt.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.body().startswith(b"%PDF")
    assert found == [], "\n".join(found)
    assert problems == []


@pytest.fixture
def seller_and_buyer():
    """The holder of a registered car (a citizen account) and the buyer, before the browser starts."""
    factories.citizen(email="paul.vendeur@example.fr", first_name="Paul", last_name="Vendeur")
    factories.citizen(email="lea.acheteuse@example.fr", first_name="Léa", last_name="Acheteuse")
    return factories.registered(
        holder=factories.holder_data(last_name="Vendeur", first_names="Paul", birth_date="1970-06-01")
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_seller_declares_a_sale_and_buyer_files_the_change_of_owner_with_the_code(
    tasks_run, seller_and_buyer, nine_certs, live_server, page, screenshots
):
    from playwright.sync_api import expect

    title = seller_and_buyer
    base, found = live_server.url, []
    problems = _console_problems(page)

    _log_in(page, base, "paul.vendeur@example.fr")
    page.goto(f"{base}/demarches/")
    page.get_by_role("link", name="Déclaration de cession").click()
    screenshots.take("cession-avant-de-commencer")
    page.get_by_role("button", name="Commencer la démarche").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 1 sur 7")
    page.get_by_label("Immatriculation (A)").fill(title.vehicle.plate)
    page.get_by_label("Numéro de formule").fill(title.formule_number)
    page.get_by_label("Nom du titulaire").fill("Vendeur")
    page.get_by_label("Date de naissance du titulaire").fill("1970-06-01")
    screenshots.take("cession-vehicule")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 2 sur 7")
    page.get_by_label("Date de naissance").fill("1970-06-01")
    page.get_by_label("Adresse", exact=False).first.fill("3 place du Marché")
    page.get_by_label("Code postal").fill("25000")
    page.get_by_label("Commune").fill("Besançon")
    screenshots.take("cession-titulaire")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 3 sur 7")
    page.get_by_label("Date de la cession").fill(SOLD_ON)
    page.get_by_label("Heure de la cession").fill("10:00")
    page.get_by_label("Kilométrage au compteur").fill("84000")
    screenshots.take("cession-vente")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 4 sur 7")
    screenshots.take("cession-recapitulatif")
    page.get_by_role("button", name="Confirmer et créer mon dossier").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 5 sur 7")
    _upload_every_piece(page, "Certificat de cession signe")
    screenshots.take("cession-pieces")
    page.get_by_role("button", name="Enregistrer et continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 6 sur 7")
    screenshots.take("cession-taxes")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 7 sur 7")
    screenshots.take("cession-depot")
    page.get_by_role("button", name="Déposer mon dossier").click()

    page.wait_for_url(f"{base}/demarches/brouillon/*/termine/")
    code = page.locator("#code-de-cession").inner_text().strip()
    assert code
    screenshots.take("cession-code")
    found += serious_violations(page)
    acknowledgement = page.get_by_role("link", name="Télécharger l'accusé d'enregistrement de la cession")
    response = page.request.get(base + acknowledgement.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.body().startswith(b"%PDF")
    page.get_by_role("button", name="Se déconnecter").click()
    screenshots.take("vendeur-deconnecte")

    _log_in(page, base, "lea.acheteuse@example.fr")
    page.goto(f"{base}/demarches/")
    page.get_by_role("link", name="Changement de titulaire").click()
    screenshots.take("achat-avant-de-commencer")
    page.get_by_role("button", name="Commencer la démarche").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 1 sur 7")
    page.get_by_label("Immatriculation (A)").fill(title.vehicle.plate)
    page.get_by_label("Code de cession").fill(code)
    screenshots.take("achat-vehicule")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 2 sur 7")
    page.get_by_label("Date de naissance").fill("1992-03-08")
    page.get_by_label("Adresse", exact=False).first.fill("8 rue des Tilleuls")
    page.get_by_label("Code postal").fill("39100")
    page.get_by_label("Commune").fill("Dole")
    screenshots.take("achat-titulaire")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 3 sur 7")
    page.get_by_label("Date de la cession").fill(SOLD_ON)
    page.get_by_label("Heure de la cession").fill("10:00")
    page.get_by_label("Kilométrage au compteur").fill("84000")
    screenshots.take("achat-vente")
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 4 sur 7")
    screenshots.take("achat-recapitulatif")
    page.get_by_role("button", name="Confirmer et créer mon dossier").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 5 sur 7")
    _upload_every_piece(page, "Piece de l'acheteur")
    screenshots.take("achat-pieces")
    page.get_by_role("button", name="Enregistrer et continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 6 sur 7")
    expect(page.locator("#fees-table")).to_contain_text("Montant total")
    screenshots.take("achat-taxes")
    _pay_on_the_fake_bank(page, base, screenshots, found)
    page.get_by_role("button", name="Continuer").click()

    expect(page.locator(".fr-stepper__state")).to_have_text("Étape 7 sur 7")
    screenshots.take("achat-depot")
    page.get_by_role("button", name="Déposer mon dossier").click()
    page.wait_for_url(f"{base}/mon-espace/dossiers/*/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dossier ")
    expect(page.get_by_text("Changement de titulaire")).to_be_visible()
    screenshots.take("achat-dossier")
    found += serious_violations(page)
    assert found == [], "\n".join(found)
    assert problems == []


@pytest.fixture
def one_account_per_role(media_in_tmp):
    """A citizen with a submitted dossier, a dealer with a draft, an agent and a supervisor, written
    before the browser starts."""
    owner = factories.citizen(email="citoyen@example.fr")
    dossier = factories.submitted(owner=owner)
    dealer = factories.dealer(email="garage@example.fr")
    factories.draft(filed_by=dealer)
    factories.agent(email="agent@cert.example.fr")
    factories.supervisor(email="superviseur@example.fr")
    return dossier


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_have_no_serious_accessibility_violation_for_each_role(
    one_account_per_role, live_server, page, screenshots
):
    from filing.steps import WEB_PROCEDURES

    base, found = live_server.url, []
    problems = _console_problems(page)

    def check(path: str, name: str) -> None:
        page.goto(base + path)
        screenshots.take(name)
        found.extend(serious_violations(page))

    for path, name in (("/", "accueil"), ("/inscription/", "inscription"), ("/connexion/", "connexion")):
        check(path, f"anonyme-{name}")

    _log_in(page, base, "citoyen@example.fr")
    check("/", "citoyen-accueil")
    check("/mon-espace/", "citoyen-mon-espace")
    check(f"/mon-espace/dossiers/{one_account_per_role.reference}/", "citoyen-dossier")
    check("/demarches/", "citoyen-demarches")
    for procedure in WEB_PROCEDURES:
        check(f"/demarches/{procedure}/", f"citoyen-{procedure}")
        page.get_by_role("button", name="Commencer la démarche").click()
        page.wait_for_url(f"{base}/demarches/brouillon/*/vehicle/")
        screenshots.take(f"citoyen-{procedure}-etape-1")
        found.extend(serious_violations(page))
    page.context.clear_cookies()

    for email, role, landing in (
        ("garage@example.fr", "professionnel", "/mon-espace/"),
        ("agent@cert.example.fr", "agent", "/instruction/"),
        ("superviseur@example.fr", "superviseur", "/supervision/"),
    ):
        page.goto(f"{base}/connexion/?next={landing}")
        page.get_by_label("Adresse électronique").fill(email)
        page.get_by_label("Mot de passe").fill(factories.PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(base + landing)
        screenshots.take(f"{role}-{landing.strip('/')}")
        found.extend(serious_violations(page))
        check("/", f"{role}-accueil")
        page.context.clear_cookies()

    assert found == [], "\n".join(found)
    assert problems == []
