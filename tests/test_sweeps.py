"""The periodic sweep: every open dossier whose clock ran out is put back where it can move, each
action is recorded, a second run does nothing, and `stuck` is empty afterwards."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.models import ComplementItem, ComplementRequest, SweepAction
from dossiers import services, transitions
from dossiers.models import Dossier, State
from portal.celery import app
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    """Tasks run in-process, as in the embedded mode, even when REDIS_URL is set for the session."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def submitted(owner=None):
    owner = owner or factories.citizen()
    return services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)


def queued(cert, owner=None):
    dossier = submitted(owner)
    return transitions.dossier_transition(
        dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert}
    )


def in_review(cert, agent, owner=None):
    dossier = queued(cert, owner)
    return transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )


def awaiting_complement(cert, agent, owner=None):
    dossier = transitions.dossier_transition(
        dossier=in_review(cert, agent, owner), to=State.AWAITING_COMPLEMENT, actor=agent
    )
    request = ComplementRequest.objects.create(
        dossier=dossier, cert=cert, requested_by=agent, deadline=dossier.due_at
    )
    ComplementItem.objects.create(request=request, code="proof_of_address")
    return dossier


def approved(cert, agent):
    return transitions.dossier_transition(dossier=in_review(cert, agent), to=State.APPROVED, actor=agent)


def later(**delta):
    return timezone.now() + timedelta(**delta)


def kinds(dossier):
    return list(SweepAction.objects.filter(dossier=dossier).order_by("pk").values_list("kind", flat=True))


def test_expired_lease_returns_the_dossier_to_its_centre_at_its_old_place():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert, agent)
    queued_at = dossier.queued_at
    still_working = in_review(cert, colleague := factories.agent(cert=cert))
    Dossier.objects.filter(pk=still_working.pk).update(due_at=later(hours=2))

    result = sweeps.sweep_run(now=later(minutes=31))

    assert result["leases_expired"] == 1
    dossier.refresh_from_db()
    assert (dossier.state, dossier.cert, dossier.claimed_by, dossier.queued_at) == (
        State.QUEUED,
        cert,
        None,
        queued_at,
    )
    event = dossier.events.filter(action="transition").last()
    assert (event.actor, event.actor_role, event.from_state, event.to_state) == (
        None,
        "system",
        State.IN_REVIEW,
        State.QUEUED,
    )
    assert event.data["sweep"] == "lease_expired" and event.data["agent"] == agent.pk
    # Put in review directly (never checked), back in the queue it gets its checks at once.
    assert kinds(dossier) == ["lease_expired", "checks_run_queued"]
    still_working.refresh_from_db()
    assert (still_working.state, still_working.claimed_by) == (State.IN_REVIEW, colleague)


def test_lost_check_task_is_enqueued_again_and_the_dossier_moves_on(
    eager_tasks, django_capture_on_commit_callbacks
):
    dossier = submitted()

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_run(now=later(minutes=16))

    assert result["checks_requeued"] == 1
    dossier.refresh_from_db()
    assert dossier.state in (State.QUEUED, State.APPROVED)
    action = SweepAction.objects.get(dossier=dossier)
    assert (action.kind, action.data["attempt"]) == ("checks_requeued", 1)
    assert dossier.events.filter(action="checks_requeued", actor_role="system").count() == 1


def test_requeued_checks_push_the_deadline_so_the_next_sweep_waits_for_them(
    django_capture_on_commit_callbacks,
):
    dossier = submitted()
    now = later(minutes=16)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = sweeps.sweep_run(now=now)
        second = sweeps.sweep_run(now=now + timedelta(minutes=1))

    assert (first["checks_requeued"], second["checks_requeued"]) == (1, 0)
    assert len(callbacks) == 1  # one enqueue for the chunk, after commit
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    assert dossier.due_at == now + timedelta(minutes=15)


def test_checks_are_requeued_within_a_budget_then_the_dossier_shows_as_stuck(
    settings, django_capture_on_commit_callbacks
):
    settings.SWEEP_CHECK_RETRIES = 2
    dossier = submitted()
    start = timezone.now()

    # Every enqueued task is lost (the callbacks never run): the sweep retries twice, then stops.
    with django_capture_on_commit_callbacks(execute=False):
        counts = [sweeps.sweep_run(now=start + timedelta(minutes=m))["checks_requeued"] for m in (16, 32, 48)]

    assert counts == [1, 1, 0]
    assert kinds(dossier) == ["checks_requeued", "checks_requeued"]
    assert not sweeps.stuck_dossiers(now=start + timedelta(minutes=40)).filter(pk=dossier.pk).exists()
    assert sweeps.stuck_dossiers(now=start + timedelta(minutes=60)).filter(pk=dossier.pk).exists()


def test_unanswered_complement_rejects_the_dossier_and_tells_the_applicant(
    django_capture_on_commit_callbacks,
):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen(email="camille.martin@example.fr")
    dossier = awaiting_complement(cert, agent, owner)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    other = awaiting_complement(cert, agent)

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_run()

    assert result["complements_expired"] == 1
    dossier.refresh_from_db()
    assert dossier.state == State.REJECTED
    assert dossier.decided_at is not None and dossier.closed_at is not None
    event = dossier.events.filter(action="transition").last()
    assert event.actor_role == "system" and "complément" in event.reason
    request = ComplementRequest.objects.get(dossier=dossier)
    assert request.expired_at is not None and request.answered_at is None
    assert kinds(dossier) == ["complement_expired"]

    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["camille.martin@example.fr"]
    assert notice.subject == f"Votre demande {dossier.reference} est refusée : complément non reçu"
    assert dossier.reference in notice.body and "n'a pas été reçu dans le délai" in notice.body
    # The same text as HTML, for the clients that show it.
    [(html, mimetype)] = notice.alternatives
    assert mimetype == "text/html" and '<html lang="fr">' in html
    assert f"<strong>{dossier.reference}</strong>" in html and "n'a pas été reçu dans le délai" in html

    other.refresh_from_db()
    assert other.state == State.AWAITING_COMPLEMENT
    assert ComplementRequest.objects.get(dossier=other).expired_at is None


def test_complement_notice_also_goes_to_the_holder_and_only_after_commit(django_capture_on_commit_callbacks):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.dealer(email="atelier@garage.example.fr")
    dossier = services.dossier_submit(
        dossier=factories.draft(filed_by=owner, holder=factories.holder_data(email="titulaire@example.fr")),
        actor=owner,
    )
    transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})
    transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    transitions.dossier_transition(dossier=dossier, to=State.AWAITING_COMPLEMENT, actor=agent)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweeps.sweep_run(now=later(days=32))
    assert mail.outbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    assert [sorted(m.to) for m in mail.outbox] == [["atelier@garage.example.fr", "titulaire@example.fr"]]


def test_a_mail_server_outage_does_not_undo_the_refusal(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = awaiting_complement(cert, agent, factories.citizen(email="camille.martin@example.fr"))

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.sweep_run(now=later(days=32))

    assert result["complements_expired"] == 1
    dossier.refresh_from_db()
    assert dossier.state == State.REJECTED
    assert ComplementRequest.objects.get(dossier=dossier).expired_at is not None
    assert kinds(dossier) == ["complement_expired"]
    assert mail.outbox == []


def test_abandoned_draft_is_withdrawn_by_the_system():
    draft = factories.draft(filed_by=factories.citizen())
    fresh = factories.draft(filed_by=factories.citizen())
    Dossier.objects.filter(pk=fresh.pk).update(due_at=later(days=400))

    result = sweeps.sweep_run(now=later(days=184))

    assert result["drafts_abandoned"] == 1
    draft.refresh_from_db()
    assert draft.state == State.WITHDRAWN and draft.closed_at is not None
    event = draft.events.filter(action="transition").last()
    assert (event.actor, event.actor_role, event.to_state) == (None, "system", State.WITHDRAWN)
    assert kinds(draft) == ["draft_abandoned"]
    fresh.refresh_from_db()
    assert fresh.state == State.DRAFT


def test_approved_dossier_without_certificate_is_recorded_once_per_clock_period():
    cert = factories.CertFactory()
    dossier = approved(cert, factories.agent(cert=cert))
    start = timezone.now()

    counts = [sweeps.sweep_run(now=start + timedelta(minutes=m))["renders_overdue"] for m in (31, 32, 62)]

    assert counts == [1, 0, 1]
    dossier.refresh_from_db()
    assert dossier.state == State.APPROVED
    assert kinds(dossier) == ["render_overdue", "render_overdue"]
    assert dossier.events.filter(action="render_overdue", actor_role="system").count() == 2


def test_second_sweep_finds_nothing_to_do_and_nothing_is_stuck_after_the_first(
    django_capture_on_commit_callbacks,
):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    overdue = [
        factories.draft(filed_by=factories.citizen()),
        submitted(),
        in_review(cert, factories.agent(cert=cert)),
        awaiting_complement(cert, agent),
        approved(cert, agent),
    ]
    now = later(days=184)
    assert set(sweeps.stuck_dossiers(now=now).values_list("pk", flat=True)) == {d.pk for d in overdue}

    with django_capture_on_commit_callbacks(execute=False):
        first = sweeps.sweep_run(now=now)
        second = sweeps.sweep_run(now=now)

    assert first == {
        "deadlines_set": 0,
        "leases_expired": 1,
        "checks_requeued": 1,
        "complements_expired": 1,
        "drafts_abandoned": 1,
        "renders_overdue": 1,
        "cpis_withdrawn": 0,
        "checks_run_queued": 1,  # the lease's dossier, never checked, back in its queue
    }
    assert set(second.values()) == {0}
    assert not sweeps.stuck_dossiers(now=now).exists()
    assert SweepAction.objects.count() == 6


def test_dossier_without_a_deadline_is_stuck_until_the_sweep_starts_its_clock():
    cert = factories.CertFactory()
    dossier = queued(cert)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=None)
    assert list(sweeps.stuck_dossiers()) == [dossier]

    now = timezone.now()
    result = sweeps.sweep_run(now=now)

    assert result["deadlines_set"] == 1
    dossier.refresh_from_db()
    assert dossier.due_at == now + timedelta(days=5)
    assert kinds(dossier) == ["deadline_set", "checks_run_queued"]  # queued unchecked: checked too
    assert not sweeps.stuck_dossiers().exists()


def test_queued_dossier_is_stuck_only_when_no_agent_can_claim_it():
    active, paused = factories.CertFactory(), factories.CertFactory(active=False)
    waiting = queued(active)
    orphan = queued(paused)
    long_waiting = queued(active)
    Dossier.objects.filter(pk=long_waiting.pk).update(due_at=later(days=-10))  # past target, still owned

    assert list(sweeps.stuck_dossiers()) == [orphan]
    assert list(sweeps.stuck_dossiers(cert=active)) == []
    assert waiting.pk not in sweeps.stuck_dossiers().values_list("pk", flat=True)


@pytest.mark.django_db(transaction=True)
def test_sweep_leaves_a_dossier_an_agent_holds_and_takes_it_once_released(postgres):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert, agent)
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            other.set_autocommit(False)
            cursor.execute("SELECT id FROM dossiers_dossier WHERE id = %s FOR UPDATE", [dossier.pk])
            held = sweeps.sweep_run(now=later(minutes=31))
            other.rollback()
    finally:
        other.close()
    released = sweeps.sweep_run(now=later(minutes=31))

    assert (held["leases_expired"], released["leases_expired"]) == (0, 1)
    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED
