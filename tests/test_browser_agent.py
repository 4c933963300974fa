"""An agent, in Chromium: logs in, takes the next dossier, sees its documents inline, asks for a
complement; the applicant's answer arrives (through the service until the citizen space exists);
the agent takes the dossier again, ahead of newer work, and approves it."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cert_workflow.models import Assessment, Risk
from cert_workflow.review import complements
from dossiers.documents import document_attach
from dossiers.models import Dossier, State
from tests import factories
from tests.browser import in_own_thread
from tests.factories import queued_dossiers

AGENT_EMAIL = "instructeur@cert.example.fr"


@pytest.fixture
def centre_with_work(settings, tmp_path):
    """An agent's centre with an old dossier (with a PDF and a scan) and a newer one. Written before
    the browser starts."""
    settings.MEDIA_ROOT = tmp_path
    cert = factories.CertFactory()
    factories.agent(cert=cert, email=AGENT_EMAIL, first_name="Dominique", last_name="Instructeur")
    owner = factories.citizen(email="camille@example.fr")
    old = factories.draft(filed_by=owner)
    document_attach(
        dossier=old,
        kind="identity",
        uploaded=SimpleUploadedFile("cni.pdf", factories.pdf()),
        actor=owner,
    )
    document_attach(
        dossier=old,
        kind="previous_certificate",
        uploaded=SimpleUploadedFile("ancien-titre.png", factories.image()),
        actor=owner,
    )
    Dossier.objects.filter(pk=old.pk).update(
        state=State.QUEUED, cert=cert, queued_at=timezone.now() - timedelta(days=2)
    )
    # Its checks' assessment, as the workflow leaves it (the claim hands out checked dossiers only).
    Assessment.objects.create(dossier=old, risk=Risk.MEDIUM, route=Assessment.Route.REVIEW)
    (newer,) = queued_dossiers(
        cert=cert, owner=factories.citizen(), since=timezone.now() - timedelta(hours=1)
    )
    return {"old": old, "newer": newer, "owner": owner}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_takes_asks_for_a_complement_takes_it_again_and_approves(live_server, centre_with_work, page):
    from playwright.sync_api import expect

    old, owner = centre_with_work["old"], centre_with_work["owner"]
    problems: list[str] = []  # script errors and CSP violations both land in the console
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    documents: list[tuple[int, str, str]] = []
    page.on(
        "response",
        lambda response: (
            documents.append((response.status, response.headers.get("content-type", ""), response.url))
            if "/pieces/" in response.url
            else None
        ),
    )

    page.goto(f"{live_server.url}/connexion/?next=/instruction/")
    page.get_by_label("Adresse électronique").fill(AGENT_EMAIL)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/instruction/")

    page.get_by_role("button", name="Prendre le dossier suivant").click()
    page.wait_for_url(f"{live_server.url}/instruction/dossiers/{old.reference}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier {old.reference}")
    expect(page.locator("#dossier-state")).to_have_text("En cours d'instruction")
    scan = page.locator("img.cg-document")
    expect(scan).to_be_visible()
    assert scan.evaluate("image => image.complete && image.naturalWidth === 4")
    expect(page.locator('object[type="application/pdf"]')).to_have_count(1)

    # The DSFR draws the box over the input; tick it from the keyboard, as a screen-reader user would.
    page.get_by_label("Justificatif de domicile").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Justificatif de domicile")).to_be_checked()
    page.get_by_label("Message au demandeur").fill("Merci de joindre un justificatif de moins de six mois.")
    page.get_by_role("button", name="Demander le complément").click()
    page.wait_for_url(f"{live_server.url}/instruction/")
    expect(page.get_by_text(f"Le complément est demandé pour le dossier {old.reference}")).to_be_visible()

    # The applicant answers (the citizen space will call the same service).
    def answer():
        dossier = Dossier.objects.get(pk=old.pk)
        document_attach(
            dossier=dossier,
            kind="proof_of_address",
            uploaded=SimpleUploadedFile("edf.pdf", factories.pdf("Facture EDF de juin")),
            actor=owner,
        )
        return complements.complement_answer(dossier=dossier, actor=owner)

    in_own_thread(answer)

    page.reload()
    page.get_by_role("button", name="Prendre le dossier suivant").click()
    page.wait_for_url(f"{live_server.url}/instruction/dossiers/{old.reference}/")  # ahead of the newer one
    expect(page.get_by_text("Justificatif de domicile.")).to_be_visible()  # the request, in the page
    # The answer re-ran the checks, which still miss pieces: the approval is confirmed with a reason.
    page.get_by_label("Motif de l'acceptation").fill("Pièces manquantes vérifiées sur les originaux.")
    page.locator("#approve-confirm").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Accepter le dossier").click()
    page.wait_for_url(f"{live_server.url}/instruction/")
    expect(page.get_by_text(f"Le dossier {old.reference} est accepté.")).to_be_visible()

    page.get_by_label("Rechercher un dossier").fill(old.reference)
    page.get_by_role("button", name="Rechercher").click()
    # Approved; where tasks run in-process (no REDIS_URL) its certificate is already produced.
    expect(page.get_by_role("row", name=old.reference)).to_contain_text(
        re.compile("Accepté|Certificat délivré")
    )

    # Both pieces were fetched by the page itself (the PDF viewer fetches its stream a second time).
    assert documents and all(status == 200 for status, _type, _url in documents)
    assert {content_type for _status, content_type, _url in documents if content_type} == {
        "application/pdf",
        "image/png",
    }
    assert problems == []

    # The approval stays in the history; the certificate may already be produced (in-process tasks).
    def outcome():
        dossier = Dossier.objects.get(pk=old.pk)
        approvals = dossier.events.filter(to_state=State.APPROVED).values_list("actor__email", flat=True)
        return dossier.state, list(approvals)

    state, approved_by = in_own_thread(outcome)
    assert state in (State.APPROVED, State.ISSUED)
    assert approved_by == [AGENT_EMAIL]
