"""Moving queued work between centres: the periodic rebalance and the supervisor's actions."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction

from cert_workflow.models import RoutingDecision, SweepAction
from cert_workflow.routing import services as routing
from cert_workflow.supervision import actions
from dossiers.errors import InvalidInput
from dossiers.models import Cert, Dossier, DossierEvent, Procedure, State
from portal.models import Role
from tests import factories
from tests.factories import T0, OrganisationFactory, agents, bulk_dossiers, centre, ids, user

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def queue_of(cert: Cert) -> list[int]:
    """A centre's unclaimed dossiers in the order its agents take them."""
    return list(
        Dossier.objects.filter(cert=cert, state=State.QUEUED)
        .order_by("-priority", "queued_at")
        .values_list("pk", flat=True)
    )


# --- Rebalance ------------------------------------------------------------------------------------


def test_rebalance_moves_the_oldest_overflow_nationally_first_and_keeps_it_in_age_order(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 0
    a, b, c = centre("AAA", capacity=10), centre("BBB", capacity=10), centre("CCC", capacity=1)
    # Ages interleave between the two overloaded centres: A has the even minutes, B the odd ones.
    in_a = bulk_dossiers(100, state=State.QUEUED, cert=a, first_queued_at=T0, step=2 * MINUTE)
    in_b = bulk_dossiers(100, state=State.QUEUED, cert=b, first_queued_at=T0 + MINUTE, step=2 * MINUTE)
    oldest_first = sorted(in_a + in_b, key=lambda d: d.queued_at)
    queued_at_before = {d.pk: d.queued_at for d in oldest_first}

    # National mean 200/21 = 9.52 days: C has room for 9, A and B each overflow by 5.
    moved = routing.queues_rebalance()

    assert moved == 9
    assert queue_of(c) == ids(oldest_first[:9])
    moved_rows = Dossier.objects.filter(cert=c)
    assert all(d.state == State.QUEUED and d.queued_at == queued_at_before[d.pk] for d in moved_rows)
    decision = RoutingDecision.objects.get(dossier=oldest_first[0])
    assert (decision.kind, decision.from_cert, decision.to_cert, decision.reason) == (
        "rebalance",
        a,
        c,
        "above_national_mean",
    )
    assert decision.projected_waits == {"AAA": 10.0, "BBB": 10.0, "CCC": 0.0}
    event = DossierEvent.objects.get(dossier=oldest_first[1], action="rerouted")
    assert event.data == {"kind": "rebalance", "from": "BBB", "to": "CCC"} and event.actor_role == "system"
    assert DossierEvent.objects.filter(action="rerouted").count() == RoutingDecision.objects.count() == 9


def test_rebalance_never_moves_a_claimed_dossier(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 0
    a, b = centre("AAA", capacity=10), centre("BBB", capacity=10)
    reviewers = agents(10, cert=a)
    claimed = bulk_dossiers(10, state=State.IN_REVIEW, cert=a, claimed_by=reviewers, first_queued_at=T0)
    waiting = bulk_dossiers(50, state=State.QUEUED, cert=a, first_queued_at=T0 + 60 * MINUTE)

    # A holds 60 of 60 open dossiers: it gives down to the mean of 3 days, i.e. 30 dossiers.
    assert routing.queues_rebalance() == 30

    assert queue_of(b) == ids(waiting[:30])
    still_claimed = Dossier.objects.filter(pk__in=ids(claimed))
    assert {(d.cert_id, d.state, d.claimed_by_id) for d in still_claimed} == {
        (a.pk, State.IN_REVIEW, reviewer.pk) for reviewer in reviewers
    }


def test_rebalance_leaves_an_answered_complement_with_the_centre_that_asked_for_it(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 0
    a, b = centre("AAA", capacity=10), centre("BBB", capacity=10)
    answered = bulk_dossiers(5, state=State.QUEUED, cert=a, first_queued_at=T0)
    Dossier.objects.filter(pk__in=ids(answered)).update(priority=10)
    waiting = bulk_dossiers(55, state=State.QUEUED, cert=a, first_queued_at=T0 + 60 * MINUTE)

    assert routing.queues_rebalance() == 30

    assert set(Dossier.objects.filter(pk__in=ids(answered)).values_list("cert", flat=True)) == {a.pk}
    assert queue_of(b) == ids(waiting[:30])


def test_rebalance_leaves_centres_within_the_margin_alone(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 2
    a, b = centre("AAA", capacity=10), centre("BBB", capacity=10)
    bulk_dossiers(40, state=State.QUEUED, cert=a)  # 4 days, mean 3: within 2 days of the mean
    bulk_dossiers(20, state=State.QUEUED, cert=b)

    assert routing.queues_rebalance() == 0
    assert not RoutingDecision.objects.exists()


def test_rebalance_sends_work_only_to_centres_handling_its_procedure(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 0
    a = centre("AAA", capacity=10)
    centre("BBB", capacity=10, procedures=[Procedure.CHANGE_OF_ADDRESS])
    # The imports are the oldest, but B cannot take them: the overflow is made of the others.
    imports = bulk_dossiers(30, state=State.QUEUED, cert=a, procedure=Procedure.IMPORT)
    addresses = bulk_dossiers(
        30,
        state=State.QUEUED,
        cert=a,
        procedure=Procedure.CHANGE_OF_ADDRESS,
        first_queued_at=T0 + 60 * MINUTE,
    )

    moved = routing.queues_rebalance()

    assert moved == 30
    assert Dossier.objects.filter(pk__in=ids(imports), cert=a).count() == 30
    assert Dossier.objects.filter(pk__in=ids(addresses)).exclude(cert=a).count() == 30


def test_rebalance_reroutes_queued_work_left_in_a_paused_centre(centres):
    a, b = centre("AAA", departments=["25"], active=False), centre("BBB")
    left = bulk_dossiers(3, state=State.QUEUED, cert=a, department="25")

    assert routing.queues_rebalance() == 3

    assert queue_of(b) == ids(left)
    assert set(RoutingDecision.objects.values_list("kind", "reason")) == {("pause", "home_inactive")}


@pytest.mark.django_db(transaction=True)
def test_rebalance_skips_a_dossier_being_claimed_instead_of_waiting(postgres, centres, settings):
    settings.ROUTING_MARGIN_DAYS = 0
    a, b = centre("AAA", capacity=10), centre("BBB", capacity=10)
    waiting = bulk_dossiers(20, state=State.QUEUED, cert=a)
    locked, release = threading.Event(), threading.Event()

    def claim_in_progress() -> None:
        try:
            with transaction.atomic():
                Dossier.objects.select_for_update().get(pk=waiting[0].pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    claimer = threading.Thread(target=claim_in_progress)
    claimer.start()
    try:
        assert locked.wait(5)
        moved = routing.queues_rebalance()
    finally:
        release.set()
        claimer.join()

    assert moved == 10
    assert Dossier.objects.get(pk=waiting[0].pk).cert == a
    assert queue_of(b) == ids(waiting[1:11])


# --- Supervisor actions ---------------------------------------------------------------------------


def test_pausing_a_centre_reroutes_its_unclaimed_work_by_the_policy_and_keeps_claimed_work(centres):
    a, b, c = centre("AAA", departments=["25"]), centre("BBB"), centre("CCC")
    boss = user(Role.SUPERVISOR)
    queued = bulk_dossiers(6, state=State.QUEUED, cert=a, department="25")
    claimed = bulk_dossiers(2, state=State.IN_REVIEW, cert=a, claimed_by=agents(2, cert=a))
    bulk_dossiers(20, state=State.QUEUED, cert=c)

    assert actions.cert_pause(cert=a, actor=boss) == 6

    a.refresh_from_db()
    assert a.active is False
    assert queue_of(a) == [] and queue_of(b) == ids(queued)
    assert Dossier.objects.filter(pk__in=ids(claimed), cert=a, state=State.IN_REVIEW).count() == 2
    decisions = RoutingDecision.objects.filter(kind="pause")
    assert {(d.from_cert, d.to_cert, d.home_cert, d.reason, d.actor) for d in decisions} == {
        (a, b, a, "home_inactive", boss)
    }
    assert DossierEvent.objects.filter(action="rerouted", actor=boss).count() == 6
    assert SweepAction.objects.get(kind="cert_paused").data == {"cert": "AAA", "actor_id": boss.pk}


def test_the_last_active_centre_cannot_be_paused(centres):
    a = centre("AAA")
    centre("BBB", active=False)
    with pytest.raises(InvalidInput) as excinfo:
        actions.cert_pause(cert=a, actor=user(Role.SUPERVISOR))
    assert excinfo.value.errors[0].rule == "last_active_centre"
    assert Cert.objects.get(pk=a.pk).active is True
    assert not SweepAction.objects.exists()


def test_a_resumed_centre_gets_new_work_again(centres):
    a, _b = centre("AAA", departments=["25"], active=False), centre("BBB")
    boss = user(Role.ADMIN)

    actions.cert_resume(cert=a, actor=boss)
    [dossier] = bulk_dossiers(1, department="25")
    routing.dossiers_route(dossier_ids=[dossier.pk])

    assert Cert.objects.get(pk=a.pk).active is True
    assert Dossier.objects.get(pk=dossier.pk).cert == a
    assert SweepAction.objects.filter(kind="cert_resumed", data__cert="AAA").count() == 1


def test_setting_a_capacity_is_audited_with_the_previous_value(centres):
    a, boss = centre("AAA", capacity=10), user(Role.SUPERVISOR)

    actions.cert_set_capacity(cert=a, capacity=250, actor=boss)

    assert Cert.objects.get(pk=a.pk).daily_capacity == 250
    assert SweepAction.objects.get(kind="cert_capacity_set").data == {
        "cert": "AAA",
        "actor_id": boss.pk,
        "previous": 10,
        "capacity": 250,
    }


@pytest.mark.parametrize("capacity", [0, -5, 2.5, "10", True, None, 100_001])
def test_a_capacity_that_is_not_a_positive_whole_number_is_refused(centres, capacity):
    a = centre("AAA", capacity=10)
    with pytest.raises(InvalidInput) as excinfo:
        actions.cert_set_capacity(cert=a, capacity=capacity, actor=user(Role.SUPERVISOR))
    assert [(e.field, e.rule) for e in excinfo.value.errors] == [("daily_capacity", "capacity_range")]
    assert Cert.objects.get(pk=a.pk).daily_capacity == 10
    assert not SweepAction.objects.exists()


def test_moving_n_oldest_takes_the_oldest_unclaimed_and_keeps_their_age(centres):
    a, b = centre("AAA"), centre("BBB")
    boss = user(Role.SUPERVISOR)
    bulk_dossiers(
        2, state=State.IN_REVIEW, cert=a, claimed_by=agents(2, cert=a), first_queued_at=T0 - 60 * MINUTE
    )
    waiting = bulk_dossiers(10, state=State.QUEUED, cert=a)
    in_b = bulk_dossiers(3, state=State.QUEUED, cert=b, first_queued_at=T0 + 150 * SECOND, step=5 * MINUTE)

    assert actions.dossiers_move_oldest(from_cert=a, to_cert=b, count=4, actor=boss) == 4

    moved = Dossier.objects.filter(pk__in=ids(waiting[:4]))
    assert {d.cert_id for d in moved} == {b.pk}
    assert [d.queued_at for d in moved.order_by("queued_at")] == [d.queued_at for d in waiting[:4]]
    # In B's queue they take their place by age among B's own work.
    w, own = ids(waiting), ids(in_b)
    assert queue_of(b) == [w[0], w[1], w[2], own[0], w[3], own[1], own[2]]
    assert set(RoutingDecision.objects.values_list("kind", "reason", "actor")) == {
        ("manual", "supervisor", boss.pk)
    }
    assert SweepAction.objects.get(kind="dossiers_moved").data["moved"] == 4


def test_moving_more_than_there_is_moves_what_there_is_and_only_procedures_the_target_handles(centres):
    a = centre("AAA")
    b = centre("BBB", procedures=[Procedure.CHANGE_OF_ADDRESS])
    addresses = bulk_dossiers(3, state=State.QUEUED, cert=a, procedure=Procedure.CHANGE_OF_ADDRESS)
    bulk_dossiers(3, state=State.QUEUED, cert=a, procedure=Procedure.IMPORT)

    assert actions.dossiers_move_oldest(from_cert=a, to_cert=b, count=50, actor=user(Role.SUPERVISOR)) == 3
    assert queue_of(b) == ids(addresses)


@pytest.mark.parametrize(
    ("count", "same", "target_active", "expected"),
    [
        (0, False, True, [("count", "count_positive")]),
        (-3, False, True, [("count", "count_positive")]),
        ("3", False, True, [("count", "count_positive")]),
        (3, True, True, [("to_cert", "same_centre")]),
        (3, False, False, [("to_cert", "centre_paused")]),
        (0, True, True, [("count", "count_positive"), ("to_cert", "same_centre")]),
    ],
)
def test_a_bad_move_request_says_what_is_wrong_and_moves_nothing(
    centres, count, same, target_active, expected
):
    a = centre("AAA")
    b = a if same else centre("BBB", active=target_active)
    bulk_dossiers(5, state=State.QUEUED, cert=a)
    before = factories.snapshot()
    with pytest.raises(InvalidInput) as excinfo:
        actions.dossiers_move_oldest(from_cert=a, to_cert=b, count=count, actor=user(Role.SUPERVISOR))
    assert [(e.field, e.rule) for e in excinfo.value.errors] == expected
    assert len(queue_of(a)) == 5 and not RoutingDecision.objects.exists()
    assert factories.snapshot() == before


@pytest.mark.parametrize("role", [Role.AGENT, Role.CITIZEN, Role.DEALER])
@pytest.mark.parametrize("action", ["capacity", "pause", "resume", "move"])
def test_only_supervisors_and_admins_act_on_centres(centres, role, action):
    a, b = centre("AAA"), centre("BBB")
    extra = {"cert": a} if role == Role.AGENT else {}
    if role == Role.DEALER:
        extra = {"organisation": OrganisationFactory()}
    actor = user(role, **extra)
    bulk_dossiers(2, state=State.QUEUED, cert=a)
    before = factories.snapshot()
    calls = {
        "capacity": lambda: actions.cert_set_capacity(cert=a, capacity=5, actor=actor),
        "pause": lambda: actions.cert_pause(cert=a, actor=actor),
        "resume": lambda: actions.cert_resume(cert=a, actor=actor),
        "move": lambda: actions.dossiers_move_oldest(from_cert=a, to_cert=b, count=1, actor=actor),
    }
    with pytest.raises(PermissionDenied):
        calls[action]()
    a.refresh_from_db()
    assert (a.active, a.daily_capacity, len(queue_of(a))) == (True, 10, 2)
    assert not SweepAction.objects.exists()
    assert factories.snapshot() == before
