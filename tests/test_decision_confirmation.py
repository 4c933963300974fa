"""Approving against the automatic checks: a failed check, or checks that never ran, needs the
agent's explicit confirmation and a reason, both kept in the audit; without them nothing changes
(service, API and the review page's form)."""

import html

import pytest
from django.urls import reverse

from cert_workflow.checks import services as checks
from cert_workflow.models import CheckResult, Outcome
from cert_workflow.review import claim, complements, decisions
from dossiers import services, transitions
from dossiers.errors import InvalidInput
from dossiers.models import Dossier, DossierEvent, Procedure, State
from tests import factories
from tests.factories import COMPLETE, api_client

pytestmark = pytest.mark.django_db

REASON = "Facture vérifiée sur l'original présenté au guichet du garage."


@pytest.fixture
def centre(media_in_tmp):
    cert = factories.CertFactory()
    return cert, factories.agent(cert=cert)


def checked_and_claimed(*, cert, agent, documents: list[str] | None = None) -> Dossier:
    """A first registration with these uploads, submitted, checked by the real checks, queued in
    `cert` and claimed by `agent` (the claim hands out checked dossiers only)."""
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    kinds = COMPLETE[Procedure.FIRST_REGISTRATION] if documents is None else documents
    factories.documents_attach(dossier=dossier, owner=owner, kinds=kinds)
    dossier = services.dossier_submit(dossier=dossier, actor=owner)
    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]
    transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})
    claimed = claim.queue_claim_next(agent=agent)
    assert claimed.pk == dossier.pk
    return claimed


def failed_codes(dossier: Dossier) -> set[str]:
    return set(
        CheckResult.objects.filter(dossier=dossier, outcome=Outcome.FAILED).values_list("code", flat=True)
    )


def approval_event(dossier: Dossier) -> DossierEvent:
    return DossierEvent.objects.get(dossier=dossier, to_state=State.APPROVED)


# --- the service ---------------------------------------------------------------------------------


def test_approving_against_a_failed_check_without_confirmation_changes_nothing(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])
    assert "documents" in failed_codes(dossier)
    before = factories.snapshot(dossier)

    with pytest.raises(InvalidInput) as refused:
        decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve")

    rules = {error.field: error.rule for error in refused.value.errors}
    assert rules == {"confirm_checks": "checks_not_passed", "message": "required"}
    assert "non conforme" in refused.value.errors[0].message
    assert factories.snapshot(dossier) == before
    assert Dossier.objects.get(pk=dossier.pk).state == State.IN_REVIEW


def test_a_confirmation_with_too_short_a_reason_is_refused_too(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])
    before = factories.snapshot(dossier)

    with pytest.raises(InvalidInput) as refused:
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="approve", confirm_checks=True, message="Vu."
        )

    assert [(e.field, e.rule) for e in refused.value.errors] == [("message", "min_length")]
    assert factories.snapshot(dossier) == before


def test_a_confirmed_approval_keeps_the_confirmation_and_the_reason_in_the_audit(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])
    failed = failed_codes(dossier)

    approved = decisions.dossier_decide(
        dossier=dossier, agent=agent, decision="approve", confirm_checks=True, message=REASON
    )

    assert approved.state == State.APPROVED
    event = approval_event(dossier)
    assert event.actor == agent
    assert event.data["checks_confirmed"] == {"failed": sorted(failed), "never_ran": False}
    assert REASON in event.reason and "malgré les contrôles automatiques" in event.reason


def test_a_dossier_whose_checks_never_ran_needs_the_confirmation_as_well(centre):
    cert, agent = centre
    dossier = factories.in_review(cert=cert, agent=agent)  # put in review directly: never checked
    before = factories.snapshot(dossier)

    with pytest.raises(InvalidInput) as refused:
        decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve", message=REASON)

    assert [(e.field, e.rule) for e in refused.value.errors] == [("confirm_checks", "checks_not_passed")]
    assert "jamais été faits" in refused.value.errors[0].message
    assert factories.snapshot(dossier) == before

    decisions.dossier_decide(
        dossier=dossier, agent=agent, decision="approve", confirm_checks=True, message=REASON
    )
    assert approval_event(dossier).data["checks_confirmed"] == {"failed": [], "never_ran": True}


def test_a_dossier_whose_checks_all_passed_is_approved_in_one_click(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent)
    assert failed_codes(dossier) == set()

    decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve")

    event = approval_event(dossier)
    assert "checks_confirmed" not in event.data and event.reason == ""


def test_rejecting_or_asking_a_complement_against_failed_checks_needs_no_confirmation(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])

    decisions.dossier_decide(dossier=dossier, agent=agent, decision="reject", reason="document_unreadable")

    assert Dossier.objects.get(pk=dossier.pk).state == State.REJECTED


# --- the API -------------------------------------------------------------------------------------


def test_api_refuses_an_unconfirmed_approval_with_a_specific_rule_and_changes_nothing(centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])
    url = reverse("api-dossier-decision", args=[dossier.reference])
    before = factories.snapshot(dossier)

    refused = api_client(agent).post(url, {"decision": "approve", "message": "ok"}, format="json")

    assert refused.status_code == 400
    assert factories.errors_of(refused) == {"confirm_checks": "checks_not_passed", "message": "min_length"}
    assert factories.snapshot(dossier) == before

    accepted = api_client(agent).post(
        url, {"decision": "approve", "confirm_checks": True, "message": REASON}, format="json"
    )

    assert accepted.status_code == 200
    assert accepted.json()["state"] == State.APPROVED
    event = approval_event(dossier)
    assert "documents" in event.data["checks_confirmed"]["failed"] and REASON in event.reason


# --- the review page -----------------------------------------------------------------------------


def test_review_page_asks_for_the_confirmation_and_shows_every_error_in_a_summary(client, centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=["identity"])
    client.force_login(agent)
    page_url = reverse("agent-dossier", args=[dossier.reference])
    decide_url = reverse("agent-decide", args=[dossier.reference])

    page = html.unescape(client.get(page_url).content.decode())
    assert 'name="confirm_checks"' in page and 'id="approve-message"' in page
    assert (
        "Un contrôle automatique est non conforme" in page
        or "contrôles automatiques sont non conformes" in page
    )
    before = factories.snapshot(dossier)

    refused = client.post(decide_url, {"decision": "approve", "message": ""})

    assert refused.status_code == 400
    body = html.unescape(refused.content.decode())
    summary = body[body.index('id="error-summary"') : body.index("</div>", body.index('id="error-summary"'))]
    assert 'href="#approve-confirm"' in summary and 'href="#approve-message"' in summary
    assert 'id="error-summary" role="alert" tabindex="-1" autofocus' in body
    assert factories.snapshot(dossier) == before

    accepted = client.post(decide_url, {"decision": "approve", "confirm_checks": "1", "message": REASON})

    assert accepted.status_code == 302
    assert REASON in approval_event(dossier).reason


def test_review_page_of_a_clean_dossier_has_no_confirmation_to_give(client, centre):
    cert, agent = centre
    dossier = checked_and_claimed(cert=cert, agent=agent)
    client.force_login(agent)

    page = client.get(reverse("agent-dossier", args=[dossier.reference])).content.decode()

    assert 'name="confirm_checks"' not in page and 'id="error-summary"' not in page


def test_a_complement_answer_reruns_the_checks_so_a_cured_failure_needs_no_confirmation(centre):
    cert, agent = centre
    incomplete = [kind for kind in COMPLETE[Procedure.FIRST_REGISTRATION] if kind != "insurance"]
    dossier = checked_and_claimed(cert=cert, agent=agent, documents=incomplete)
    assert "documents" in failed_codes(dossier)
    decisions.dossier_decide(dossier=dossier, agent=agent, decision="request_complement", items=["insurance"])
    owner = dossier.applicant
    factories.documents_attach(dossier=dossier, owner=owner, kinds=["insurance"])

    complements.complement_answer(dossier=dossier, actor=owner)

    assert failed_codes(dossier) == set()
    again = claim.queue_claim_next(agent=agent)
    assert again.pk == dossier.pk
    decisions.dossier_decide(dossier=again, agent=agent, decision="approve")  # no confirmation asked
    assert Dossier.objects.get(pk=dossier.pk).state == State.APPROVED
