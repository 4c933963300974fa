"""An agent in Chromium: downloads a dossier's certificate and another's rejection letter from the
review page; approving a dossier against a failed check is refused with an error summary that takes
the focus and links to each field (axe-core: no serious violation), then accepted once confirmed
with a reason, which the audit keeps."""

import io

import pytest
from django.db import transaction
from pypdf import PdfReader

from cert_workflow.checks import services as checks
from cert_workflow.review import claim
from dossiers import services, transitions
from dossiers.models import Dossier, DossierEvent, State
from tests import factories
from tests.browser import in_own_thread, serious_violations
from tests.factories import decide, in_review

AGENT_EMAIL = "instructrice@cert.example.fr"
REASON = "Facture vérifiée sur l'original présenté au guichet du garage."


def log_in(page, base: str, path: str) -> None:
    page.goto(f"{base}/connexion/?next={path}")
    page.get_by_label("Adresse électronique").fill(AGENT_EMAIL)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}{path}")


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def decided(issuing, django_capture_on_commit_callbacks):
    """In one centre: an approved dossier with its certificate and a refused one with its letter,
    both produced (tasks run in-process); the agent who reads them holds nothing."""
    # One transaction, as the browser test's own commits would run the submission's checks and
    # routing at once: the follow-ups left to run at its end find nothing still submitted.
    with transaction.atomic():
        cert = factories.CertFactory()
        agent = factories.agent(cert=cert, email=AGENT_EMAIL, first_name="Claude", last_name="Instructrice")
        colleague = factories.agent(cert=cert)
        approved = decide(
            django_capture_on_commit_callbacks, in_review(cert=cert, agent=colleague), colleague
        )
        refused = decide(
            django_capture_on_commit_callbacks,
            in_review(cert=cert, agent=colleague),
            colleague,
            decision="reject",
            reason="vehicle_data_mismatch",
            message="Le VIN de la facture diffère du certificat de conformité.",
        )
    return {"agent": agent, "approved": approved, "refused": refused}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_downloads_a_certificate_and_a_rejection_letter_from_the_page(
    live_server, decided, page, screenshots
):
    from playwright.sync_api import expect

    approved, refused = decided["approved"], decided["refused"]
    base = live_server.url
    log_in(page, base, f"/instruction/dossiers/{approved.reference}/")

    documents = page.locator("#documents-delivres + ul")
    link = documents.get_by_role("link", name="Certificat d'immatriculation")
    expect(link).to_be_visible()
    link.scroll_into_view_if_needed()
    screenshots.take("documents-delivres")
    with page.expect_download() as download:
        link.click()
    certificate = open(download.value.path(), "rb").read()  # noqa: SIM115 - Playwright keeps the file
    assert download.value.suggested_filename == f"{approved.reference}-certificat.pdf"
    assert certificate.startswith(b"%PDF")
    assert in_own_thread(lambda: approved.vehicle.vin) in pdf_text(certificate)

    page.goto(f"{base}/instruction/dossiers/{refused.reference}/")
    with page.expect_download() as download:
        page.locator("#documents-delivres + ul").get_by_role("link", name="Décision de refus").click()
    letter = open(download.value.path(), "rb").read()  # noqa: SIM115
    assert download.value.suggested_filename == f"{refused.reference}-decision-de-refus.pdf"
    assert letter.startswith(b"%PDF")
    assert "Le VIN de la facture diffère du certificat de conformité." in pdf_text(letter)


@pytest.fixture
def held_with_a_failed_check(media_in_tmp):
    """A first registration with its identity only (the documents check fails), checked, queued
    and claimed by the agent. Written before the browser starts."""
    with transaction.atomic():  # see `decided`
        cert = factories.CertFactory()
        agent = factories.agent(cert=cert, email=AGENT_EMAIL)
        owner = factories.citizen()
        dossier = factories.draft(filed_by=owner)
        factories.documents_attach(dossier=dossier, owner=owner, kinds=["identity"])
        dossier = services.dossier_submit(dossier=dossier, actor=owner)
        checks.dossiers_assess(dossier_ids=[dossier.pk])
        transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})
        held = claim.queue_claim_next(agent=agent)
    return held


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_approving_against_a_failed_check_asks_for_a_reason_with_a_focused_summary(
    live_server, held_with_a_failed_check, page, screenshots
):
    from playwright.sync_api import expect

    dossier = held_with_a_failed_check
    base = live_server.url
    path = f"/instruction/dossiers/{dossier.reference}/"
    log_in(page, base, path)
    expect(page.locator("#approve-objections")).to_contain_text("non conforme")

    page.get_by_role("button", name="Accepter le dossier").click()
    page.wait_for_load_state()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.evaluate("document.activeElement.getBoundingClientRect().top") < 800  # in view
    expect(summary.get_by_role("link")).to_have_count(2)
    screenshots.take("resume-des-erreurs")
    assert serious_violations(page) == []  # the page with its errors, as a screen reader meets it
    assert in_own_thread(lambda: Dossier.objects.get(pk=dossier.pk).state) == State.IN_REVIEW

    # Each link of the summary leads to its field.
    summary.get_by_role("link", name="Motif de l'acceptation", exact=False).click()
    expect(page.locator("#approve-message")).to_be_focused()
    page.keyboard.type(REASON)
    summary.get_by_role("link", name="Confirmation", exact=False).click()
    expect(page.locator("#approve-confirm")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#approve-confirm")).to_be_checked()
    screenshots.take("confirmation-et-motif")
    page.get_by_role("button", name="Accepter le dossier").click()
    page.wait_for_url(f"{base}/instruction/")
    expect(page.get_by_text(f"Le dossier {dossier.reference} est accepté.")).to_be_visible()

    def audit():
        event = DossierEvent.objects.get(dossier_id=dossier.pk, to_state=State.APPROVED)
        return event.reason, event.data["checks_confirmed"], event.actor.email

    reason, confirmed, actor = in_own_thread(audit)
    assert REASON in reason and "documents" in confirmed["failed"] and actor == AGENT_EMAIL
