"""Straight-through: low-risk dossiers approved without a human, a random sample still reviewed."""

import importlib.util
import random
from decimal import Decimal

import pytest
from celery.signals import task_prerun
from django.core.exceptions import PermissionDenied

from cert_workflow.checks import services as checks
from cert_workflow.models import Assessment, Risk, StraightThroughRule
from dossiers.errors import InvalidInput
from dossiers.models import Dossier, DossierEvent, Procedure, State
from portal.celery import app
from tests import factories
from tests.celery_worker import wait_until
from tests.factories import submitted

ROUTING_BUILT = importlib.util.find_spec("cert_workflow.routing.services") is not None
needs_routing = pytest.mark.skipif(
    not ROUTING_BUILT, reason="cert_workflow.routing.services is not written yet"
)

Route = Assessment.Route


@pytest.fixture(autouse=True)
def _media_in_tmp(media_in_tmp):
    """Every test here uploads documents: see `media_in_tmp` in conftest.py."""


def rule(procedure: str = Procedure.CHANGE_OF_ADDRESS, *, enabled: bool = True, rate: str = "0"):
    return checks.straight_through_rule_set(
        procedure=procedure, enabled=enabled, sampling_rate=Decimal(rate), actor=factories.supervisor()
    )


@pytest.mark.django_db
def test_default_rules_approve_only_free_declarations_and_sample_five_percent():
    rules = checks.straight_through_rules()

    assert set(rules) == set(Procedure.values)
    assert {p for p, r in rules.items() if r.enabled} == {
        Procedure.CHANGE_OF_ADDRESS,
        Procedure.SALE_DECLARATION,
    }
    assert {r.sampling_rate for r in rules.values()} == {Decimal("0.05")}
    assert checks.straight_through_rule_for(Procedure.IMPORT) == rules[Procedure.IMPORT]
    assert StraightThroughRule.objects.count() == len(Procedure.values)


@pytest.mark.django_db
def test_supervisor_sets_the_rule_and_nobody_else_may():
    chief = factories.supervisor()
    saved = checks.straight_through_rule_set(
        procedure=Procedure.DUPLICATE, enabled=True, sampling_rate=Decimal("0.2"), actor=chief
    )
    assert (saved.enabled, saved.sampling_rate, saved.updated_by) == (True, Decimal("0.2"), chief)

    with pytest.raises(PermissionDenied):
        checks.straight_through_rule_set(
            procedure=Procedure.DUPLICATE, enabled=False, sampling_rate=Decimal(0), actor=factories.citizen()
        )
    with pytest.raises(InvalidInput) as error:
        checks.straight_through_rule_set(
            procedure=Procedure.DUPLICATE, enabled=True, sampling_rate=Decimal("1.5"), actor=chief
        )
    assert error.value.errors[0].field == "sampling_rate"
    assert StraightThroughRule.objects.get(procedure=Procedure.DUPLICATE).sampling_rate == Decimal("0.2")


@pytest.mark.django_db
def test_low_risk_dossier_is_approved_by_the_system_when_nothing_is_sampled():
    rule(rate="0")
    dossier = submitted()

    checks.checks_run(dossier_ids=[dossier.pk])

    dossier.refresh_from_db()
    assert dossier.state == State.APPROVED and dossier.decided_at is not None
    assessment = dossier.assessment
    assert (assessment.risk, assessment.route) == (Risk.LOW, Route.STRAIGHT_THROUGH)
    assert assessment.straight_through_enabled and assessment.sampling_rate == 0
    assert 0 <= assessment.sample_draw < 1
    event = dossier.events.get(to_state=State.APPROVED)
    assert (event.actor, event.actor_role, event.from_state) == (None, "system", State.SUBMITTED)
    assert event.data["assessment"]["route"] == Route.STRAIGHT_THROUGH
    assert event.data["assessment"]["sample_draw"] == assessment.sample_draw


@pytest.mark.django_db
def test_low_risk_dossier_drawn_in_the_sample_goes_to_a_human():
    rule(rate="1")
    dossier = submitted()

    assert checks.dossiers_assess(dossier_ids=[dossier.pk], rng=random.Random(7)) == [dossier.pk]

    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED  # routing takes it from here
    assert (dossier.assessment.risk, dossier.assessment.route) == (Risk.LOW, Route.SAMPLED)
    assert dossier.assessment.sampling_rate == 1 and dossier.assessment.sample_draw is not None
    assert not dossier.events.filter(to_state=State.APPROVED).exists()


@pytest.mark.django_db
@needs_routing
def test_sampled_dossier_is_routed_to_a_centre_in_the_same_run():
    rule(rate="1")
    dossier = submitted()

    checks.checks_run(dossier_ids=[dossier.pk])
    checks.checks_run(dossier_ids=[dossier.pk])  # a retried task changes nothing

    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED and dossier.cert is not None
    assert dossier.events.filter(to_state=State.QUEUED).count() == 1
    assert dossier.assessment.route == Route.SAMPLED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("enabled", "documents", "risk"),
    [
        (False, None, Risk.LOW),  # rule off: every dossier of the procedure is reviewed
        (True, ["identity"], Risk.HIGH),  # a failed check
    ],
)
def test_dossier_goes_to_review_when_the_rule_is_off_or_the_risk_is_not_low(enabled, documents, risk):
    rule(enabled=enabled, rate="0")
    dossier = submitted(documents=documents)

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]

    assessment = Assessment.objects.get(dossier=dossier)
    assert (assessment.risk, assessment.route, assessment.sample_draw) == (risk, Route.REVIEW, None)
    assert Dossier.objects.get(pk=dossier.pk).state == State.SUBMITTED


@pytest.mark.django_db
def test_medium_risk_is_reviewed_even_under_an_enabled_rule():
    rule(Procedure.FIRST_REGISTRATION, rate="0")
    # P.6 of 30 CV for this engine is implausible: a warning, so a medium risk.
    dossier = submitted(
        procedure=Procedure.FIRST_REGISTRATION, vehicle=factories.vehicle_data(fiscal_power=30)
    )

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]
    assert (dossier.assessment.risk, dossier.assessment.route) == (Risk.MEDIUM, Route.REVIEW)


@pytest.mark.django_db
def test_sampled_share_is_close_to_the_rate_and_every_draw_is_recorded():
    rule(rate="0.2")
    owner = factories.citizen()
    ids = [submitted(owner=owner).pk for _ in range(200)]

    to_review = checks.dossiers_assess(dossier_ids=ids, rng=random.Random(20261128))

    assessments = Assessment.objects.filter(dossier_id__in=ids)
    sampled = {a.dossier_id for a in assessments if a.sample_draw < 0.2}
    assert set(to_review) == sampled
    assert {a.dossier_id for a in assessments if a.route == Route.SAMPLED} == sampled
    assert 0.13 <= len(sampled) / len(ids) <= 0.27
    approved = set(Dossier.objects.filter(pk__in=ids, state=State.APPROVED).values_list("pk", flat=True))
    assert approved == set(ids) - sampled
    assert DossierEvent.objects.filter(dossier_id__in=ids, to_state=State.APPROVED).count() == len(approved)


@pytest.mark.django_db
def test_a_retried_run_keeps_the_recorded_draw_instead_of_drawing_again():
    rule(rate="1")
    dossier = submitted()
    checks.dossiers_assess(dossier_ids=[dossier.pk], rng=random.Random(1))
    first_draw = Assessment.objects.get(dossier=dossier).sample_draw

    assert checks.dossiers_assess(dossier_ids=[dossier.pk], rng=random.Random(2)) == [dossier.pk]

    assert Assessment.objects.get(dossier=dossier).sample_draw == first_draw


@pytest.mark.django_db
def test_enqueue_sends_one_task_per_chunk_and_each_chunk_is_checked(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    # The tasks run in this process so that the test sees them; a worker runs the same code.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    settings.CHECK_CHUNK_SIZE = 2
    rule(rate="0")
    owner = factories.citizen()
    ids = [submitted(owner=owner).pk for _ in range(5)]
    chunks = []

    def record(sender=None, args=None, **kwargs):
        if sender.name == "cert_workflow.tasks.check_dossiers":
            chunks.append(args[0])

    task_prerun.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert checks.checks_enqueue(dossier_ids=[*ids, ids[0]]) == 3
    finally:
        task_prerun.disconnect(record)

    assert sorted(len(chunk) for chunk in chunks) == [1, 2, 2]
    assert sorted(i for chunk in chunks for i in chunk) == sorted(ids)
    # Approved straight through, then (tasks in-process) the certificate is rendered: issued.
    assert set(Dossier.objects.filter(pk__in=ids).values_list("state", flat=True)) == {State.ISSUED}


@pytest.mark.services
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_approves_a_low_risk_dossier_straight_through(celery_worker):
    rule(rate="0")
    dossier = submitted()

    checks.checks_enqueue(dossier_ids=[dossier.pk])

    # The same worker renders the certificate right after the approval, so the dossier may
    # already be issued when it is first read: the approval event is what stays.
    wait_until(
        lambda: dossier.events.filter(to_state=State.APPROVED).exists(),
        30,
        message=lambda: f"the dossier was not approved:\n{celery_worker.log()[-4000:]}",
    )
    event = dossier.events.get(to_state=State.APPROVED)
    assert (event.actor, event.actor_role, event.from_state) == (None, "system", State.SUBMITTED)
    assert Dossier.objects.get(pk=dossier.pk).state in (State.APPROVED, State.ISSUED)
    assert Assessment.objects.get(dossier=dossier).route == Route.STRAIGHT_THROUGH
