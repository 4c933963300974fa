"""The applicant is told by e-mail at each change that concerns them, with a link to the dossier's
page and never a document attached; the complement reminder is sent once however often the sweep
runs."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.models import ComplementRequest
from cert_workflow.review import claim, decisions
from dossiers.models import DossierEvent, State
from tests import factories
from tracking import notices, reminders

pytestmark = pytest.mark.django_db

SITE = "https://carte-grise.example.fr"


def sent(subject_part: str) -> list:
    return [message for message in mail.outbox if subject_part in message.subject]


def assert_notice(message, dossier) -> None:
    """French, text and HTML, a link to the dossier's page, nothing attached."""
    link = f"{SITE}/mon-espace/dossiers/{dossier.reference}/"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html
    assert message.attachments == []
    assert dossier.reference in message.body


def claimed():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    factories.queued_dossiers(cert=cert, owner=owner)
    return claim.queue_claim_next(agent=agent), agent, owner


def test_submission_is_confirmed_by_mail(issuing, django_capture_on_commit_callbacks):
    owner = factories.citizen()
    with django_capture_on_commit_callbacks(execute=True):
        dossier = factories.submitted(owner=owner)
    (message,) = sent("est déposée")
    assert message.to[0] == owner.email or owner.email in message.to
    assert_notice(message, dossier)


def test_complement_request_is_mailed_with_what_and_by_when(issuing, django_capture_on_commit_callbacks):
    dossier, agent, owner = claimed()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="request_complement", items=["identity", "address_line"]
        )
    (message,) = sent("un complément vous est demandé")
    assert owner.email in message.to
    assert "Pièce d'identité" in message.body and "C.3 — Adresse" in message.body
    deadline = timezone.localtime(ComplementRequest.objects.get(dossier=dossier).deadline)
    assert str(deadline.year) in message.body
    assert_notice(message, dossier)


def test_refusal_is_mailed_with_its_reason(issuing, django_capture_on_commit_callbacks):
    dossier, agent, owner = claimed()
    with django_capture_on_commit_callbacks(execute=True):
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="reject", reason="fees_not_paid", message="Y.6 impayé."
        )
    (message,) = sent("est refusée")
    assert "Taxes non acquittées : Y.6 impayé." in message.body
    assert_notice(message, dossier)


def test_refusal_mails_of_a_set_read_the_refusals_in_one_query(issuing):
    refused = []
    for _ in range(3):
        dossier, agent, _owner = claimed()
        decisions.dossier_decide(
            dossier=dossier, agent=agent, decision="reject", reason="fees_not_paid", message="Y.6 impayé."
        )
        refused.append(dossier.pk)
    with CaptureQueriesContext(connection) as one:
        assert len(notices.rejected_notices(dossier_ids=refused[:1])) == 1
    with CaptureQueriesContext(connection) as three:
        assert len(notices.rejected_notices(dossier_ids=refused)) == 3
    assert len(three.captured_queries) == len(one.captured_queries)


def test_issued_certificate_mail_links_to_the_dossier_page(issuing, django_capture_on_commit_callbacks):
    dossier, agent, _owner = claimed()
    dossier = factories.decide(django_capture_on_commit_callbacks, dossier, agent)
    assert dossier.state == State.ISSUED
    (message,) = sent("est disponible")
    assert_notice(message, dossier)


def test_refusal_after_an_unanswered_complement_is_mailed_once(issuing, django_capture_on_commit_callbacks):
    dossier, _agent = factories.awaiting_complement()
    later = ComplementRequest.objects.get(dossier=dossier).deadline + timedelta(hours=1)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep_run(now=later)
    dossier.refresh_from_db()
    assert dossier.state == State.REJECTED
    assert len(mail.outbox) == 1
    assert_notice(mail.outbox[0], dossier)


def test_deadline_near_reminder_is_sent_once_however_often_the_sweep_runs(
    settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = SITE
    settings.COMPLEMENT_REMINDER_DAYS = 7
    near, _agent = factories.awaiting_complement(items=("identity",))
    far, _agent = factories.awaiting_complement(items=("identity",))
    now = timezone.now()
    ComplementRequest.objects.filter(dossier=near).update(deadline=now + timedelta(days=3))
    ComplementRequest.objects.filter(dossier=far).update(deadline=now + timedelta(days=20))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.complement_reminders_send(now=now) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.complement_reminders_send(now=now + timedelta(hours=1)) == 0
    (message,) = mail.outbox
    assert near.reference in message.subject
    assert "Pièce d'identité" in message.body
    assert_notice(message, near)
    assert DossierEvent.objects.filter(dossier=near, action=reminders.REMINDER_ACTION).count() == 1
    assert not DossierEvent.objects.filter(dossier=far, action=reminders.REMINDER_ACTION).exists()


def test_the_reminder_task_is_scheduled(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tracking.tasks.send_complement_reminders" in entries
