"""A dealer's CPI, issued at submission, is withdrawn when its dossier ends without a certificate
(refused, or abandoned by the dealer): the public verification page stops calling it current and
says why, the portal stops handing the PDF out, and the sweep repairs a lost hook."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.documents import signing
from cert_workflow.models import DocumentKind, IssuedDocument, SweepAction
from cert_workflow.review import decisions
from dossiers import services, transitions
from dossiers.models import Procedure, State
from tests import factories
from tests.factories import decide, in_review

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _issuing(issuing):
    """Every test here issues documents: see the `issuing` fixture in conftest.py."""


def dealer_submission(capture, *, dealer=None, vehicle=None):
    """A dealer's first registration submitted with everything it starts run (CPI, receipt,
    checks, routing): queued in its centre, its CPI rendered."""
    factories.CertFactory(departments=["25"])
    dealer = dealer or factories.dealer()
    dossier = factories.draft(filed_by=dealer, vehicle=vehicle)
    with capture(execute=True):
        services.dossier_submit(dossier=dossier, actor=dealer)
    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED
    return dealer, dossier


def reject(capture, dossier, *, run_hooks=True):
    agent = factories.agent(cert=dossier.cert)
    transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    with capture(execute=run_hooks):
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="reject", reason="fees_not_paid", message="Impayé."
        )
    dossier.refresh_from_db()
    return dossier


def cpi_of(dossier) -> IssuedDocument:
    return IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.CPI)


def verify_page(client, document) -> str:
    response = client.get("/verifier/" + signing.document_token(document))
    assert response.status_code == 200
    return response.content.decode()


def test_cpi_of_a_rejected_dossier_is_withdrawn_and_its_page_says_it_is_no_longer_valid(
    client, django_capture_on_commit_callbacks
):
    _dealer, dossier = dealer_submission(django_capture_on_commit_callbacks)
    cpi = cpi_of(dossier)
    assert cpi.rendered_at is not None
    before = verify_page(client, cpi)
    assert "Document authentique" in before and "en cours de validité" in before

    dossier = reject(django_capture_on_commit_callbacks, dossier)

    assert dossier.state == State.REJECTED
    cpi.refresh_from_db()
    assert cpi.withdrawn_at == dossier.closed_at
    assert cpi.superseded_by is None
    verdict = signing.token_verify(signing.document_token(cpi))
    assert (verdict.status, verdict.current, verdict.withdrawn_because) == ("retiré", False, "rejected")
    page = verify_page(client, cpi)
    assert 'data-status="retiré"' in page
    assert "Document retiré" in page
    assert "la demande à laquelle il se rattache a été refusée" in page
    assert "Il n'est plus valable" in page
    assert "Document authentique" not in page and "en cours de validité." not in page
    assert dossier.vehicle.plate in page
    withdrawn_on = timezone.localdate(dossier.closed_at).strftime("%d/%m/%Y")
    assert f'<dd id="verify-withdrawn">{withdrawn_on}</dd>' in page
    # The audit says what happened to the document, next to the decision.
    event = dossier.events.get(action="document_withdrawn")
    assert (event.actor_role, event.data["serial"]) == ("system", cpi.serial)
    # The decision letter is issued as before.
    assert IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.REJECTION_LETTER).rendered_at


def test_cpi_of_a_dossier_withdrawn_by_the_dealer_says_the_request_was_abandoned(
    client, django_capture_on_commit_callbacks
):
    dealer, dossier = dealer_submission(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_withdraw(dossier=dossier, actor=dealer, reason="Vente annulée")

    cpi = cpi_of(dossier)
    assert cpi.withdrawn_at is not None
    page = verify_page(client, cpi)
    assert "Document retiré" in page
    assert "a été abandonnée" in page
    # Nothing else of the dossier is withdrawn: the receipt is no title.
    assert IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.RECEIPT).withdrawn_at is None


def test_withdrawn_cpi_is_no_longer_served_but_the_receipt_is(django_capture_on_commit_callbacks):
    dealer, dossier = dealer_submission(django_capture_on_commit_callbacks)
    api = factories.api_client(factories.dealer(organisation=dealer.organisation))
    url = f"/api/v1/dossiers/{dossier.reference}"
    assert api.get(f"{url}/cpi.pdf").status_code == 200

    dossier = reject(django_capture_on_commit_callbacks, dossier)

    gone = api.get(f"{url}/cpi.pdf")
    assert gone.status_code == 410
    error = gone.json()["errors"][0]
    assert error["rule"] == "document_withdrawn"
    assert "retiré le" in error["message"] and "n'est plus valable" in error["message"]
    assert api.get(f"{url}/receipt.pdf").status_code == 200
    before = factories.snapshot(dossier)
    # Out of scope is still a 404, withdrawn or not.
    assert factories.api_client(factories.dealer()).get(f"{url}/cpi.pdf").status_code == 404
    batch = api.post(
        "/api/v1/documents/batch/", {"references": [dossier.reference], "kind": "cpi"}, format="json"
    )
    assert batch.status_code == 400
    assert batch.json()["errors"][0]["rule"] == "withdrawn"
    assert factories.snapshot(dossier) == before


def test_verify_document_says_retire_for_the_stored_pdf_of_a_withdrawn_cpi(
    tmp_path, django_capture_on_commit_callbacks
):
    _dealer, dossier = dealer_submission(django_capture_on_commit_callbacks)
    cpi = cpi_of(dossier)
    path = tmp_path / "cpi.pdf"
    path.write_bytes(default_storage.open(cpi.file.name).read())
    reject(django_capture_on_commit_callbacks, dossier)

    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_document", str(path), stdout=out)

    assert exit_.value.code == 4
    assert "Verdict : retiré le" in out.getvalue()


def test_sweep_withdraws_the_cpi_a_lost_rejection_hook_left_current(
    client, django_capture_on_commit_callbacks
):
    _dealer, dossier = dealer_submission(django_capture_on_commit_callbacks)
    dossier = reject(django_capture_on_commit_callbacks, dossier, run_hooks=False)
    cpi = cpi_of(dossier)
    assert dossier.state == State.REJECTED and cpi.withdrawn_at is None

    with django_capture_on_commit_callbacks(execute=True):
        first = sweeps.sweep_run(now=timezone.now() + timedelta(minutes=1))
        second = sweeps.sweep_run(now=timezone.now() + timedelta(minutes=2))

    assert (first["cpis_withdrawn"], second["cpis_withdrawn"]) == (1, 0)
    assert "Document retiré" in verify_page(client, cpi)
    assert list(SweepAction.objects.filter(dossier=dossier).values_list("kind", flat=True)) == [
        "cpi_withdrawn"
    ]
    assert dossier.events.filter(action="document_withdrawn").count() == 1


def test_a_later_certificate_of_the_same_vehicle_leaves_the_withdrawn_cpi_withdrawn(
    django_capture_on_commit_callbacks,
):
    dealer, refused = dealer_submission(django_capture_on_commit_callbacks)
    refused = reject(django_capture_on_commit_callbacks, refused)
    vehicle = refused.vehicle
    vehicle.refresh_from_db()
    old_cpi = cpi_of(refused)

    # A later dossier of the same vehicle ends with a certificate, which replaces the vehicle's
    # current titles: the withdrawn CPI is none of them.
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    later = decide(
        django_capture_on_commit_callbacks,
        in_review(
            cert=cert,
            agent=agent,
            owner=dealer,
            procedure=Procedure.DUPLICATE,
            vehicle=factories.vehicle_data(vin=vehicle.vin, plate=vehicle.plate),
        ),
        agent,
    )

    assert later.vehicle_id == vehicle.pk and later.state == State.ISSUED
    old_cpi.refresh_from_db()
    assert old_cpi.withdrawn_at is not None and old_cpi.superseded_by is None
    assert signing.token_verify(signing.document_token(old_cpi)).status == "retiré"
    certificate = IssuedDocument.objects.get(dossier=later, kind=DocumentKind.CERTIFICATE)
    assert signing.token_verify(signing.document_token(certificate)).status == "authentique"
