"""Routing: the pure policy, the centres' loads, and routing submitted dossiers set-based."""

import pytest

from cert_workflow.models import RoutingDecision
from cert_workflow.routing import policy
from cert_workflow.routing import services as routing
from dossiers import services
from dossiers.models import Cert, Dossier, Procedure, State
from tests import factories
from tests.factories import agents, bulk_dossiers, centre, ids

# --- Test data, fast: bulk rows rather than one service call per dossier ---------------------------


# --- The policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("home", "waits", "margin", "expected"),
    [
        ("BES", {"BES": 3.0, "PAR": 2.0}, 2.0, ("BES", "home")),
        ("BES", {"BES": 4.0, "PAR": 2.0}, 2.0, ("BES", "home")),  # exactly the margin: stays home
        ("BES", {"BES": 4.01, "PAR": 2.0}, 2.0, ("PAR", "home_overloaded")),
        ("BES", {"BES": 9.0, "PAR": 2.0, "AMI": 1.0}, 2.0, ("AMI", "home_overloaded")),  # the best one
        ("BES", {"BES": 0.5, "PAR": 0.0}, 0.0, ("PAR", "home_overloaded")),
        ("BES", {"BES": 30.0}, 2.0, ("BES", "home")),  # the only candidate, however loaded
        (None, {"BES": 3.0, "PAR": 2.0}, 2.0, ("PAR", "no_home_centre")),
        ("NIM", {"BES": 3.0, "PAR": 2.0}, 2.0, ("PAR", "home_inactive")),  # home paused: not a candidate
        (None, {"PAR": 1.0, "AMI": 1.0, "BES": 1.0}, 2.0, ("AMI", "no_home_centre")),  # tie: smallest code
        ("BES", {"PAR": 1.0, "BES": 4.0, "AMI": 1.0}, 2.0, ("AMI", "home_overloaded")),
        ("BES", {"BES": 2.1 - 0.1, "PAR": 0.0}, 2.0, ("BES", "home")),  # float noise is not "more than"
    ],
)
def test_route_policy_keeps_home_unless_it_is_worse_than_the_best_by_more_than_the_margin(
    home, waits, margin, expected
):
    assert policy.route_policy(home=home, waits=waits, margin_days=margin) == expected


def test_route_policy_without_any_candidate_says_so():
    with pytest.raises(policy.NoCentreAvailable):
        policy.route_policy(home="BES", waits={}, margin_days=2.0)


# --- Loads ----------------------------------------------------------------------------------------


def test_centre_load_counts_queued_and_claimed_work_only(centres):
    bes = centre("BES", capacity=4)
    centre("PAR", capacity=10, procedures=[Procedure.CHANGE_OF_ADDRESS])
    bulk_dossiers(3, state=State.QUEUED, cert=bes)
    bulk_dossiers(2, state=State.IN_REVIEW, cert=bes, claimed_by=agents(2, cert=bes))
    bulk_dossiers(4, state=State.AWAITING_COMPLEMENT, cert=bes)
    bulk_dossiers(5, state=State.APPROVED, cert=bes)
    bulk_dossiers(6, state=State.SUBMITTED)

    loads = routing.centre_loads()
    assert (loads["BES"].queued, loads["BES"].in_review, loads["BES"].open) == (3, 2, 5)
    assert loads["BES"].wait_days == 5 / 4
    assert loads["PAR"].open == 0 and loads["PAR"].wait_days == 0
    assert list(routing.centre_loads(procedure=Procedure.DUPLICATE)) == ["BES"]


def test_home_centre_is_found_by_department_and_an_active_centre_wins_a_shared_department(centres):
    centre("AAA", departments=["25", "39"], active=False)
    centre("BES", departments=["25", "70"])
    homes = routing.home_centres(loads=routing.centre_loads())
    assert homes == {"25": "BES", "39": "AAA", "70": "BES"}


# --- Routing submitted dossiers -------------------------------------------------------------------


def test_overloaded_home_centre_overflows_and_the_decision_records_why(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 2
    bes = centre("BES", capacity=10, departments=["25"])
    par = centre("PAR", capacity=20, departments=["75"])
    bulk_dossiers(50, state=State.QUEUED, cert=bes)  # 5 days
    bulk_dossiers(20, state=State.QUEUED, cert=par)  # 1 day
    owner = factories.citizen()
    dossier = services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)  # Doubs

    assert routing.dossiers_route(dossier_ids=[dossier.pk]) == [dossier.pk]

    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED and dossier.cert == par and dossier.queued_at is not None
    decision = RoutingDecision.objects.get(dossier=dossier)
    assert (decision.kind, decision.reason, decision.home_cert, decision.to_cert) == (
        "route",
        "home_overloaded",
        bes,
        par,
    )
    assert decision.projected_waits == {"BES": 5.0, "PAR": 1.0}
    event = dossier.events.get(to_state=State.QUEUED)
    assert event.actor is None and event.actor_role == "system"
    assert event.data["routing"] == {"reason": "home_overloaded", "home": "BES"}


def test_home_centre_keeps_the_dossier_while_within_the_margin(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 2
    bes = centre("BES", capacity=10, departments=["25"])
    par = centre("PAR", capacity=10, departments=["75"])
    bulk_dossiers(25, state=State.QUEUED, cert=bes)  # 2.5 days
    bulk_dossiers(5, state=State.QUEUED, cert=par)  # 0.5 day
    [dossier] = bulk_dossiers(1, department="25")

    routing.dossiers_route(dossier_ids=[dossier.pk])

    decision = RoutingDecision.objects.get(dossier=dossier)
    assert (decision.to_cert, decision.reason) == (bes, "home")
    assert Dossier.objects.get(pk=dossier.pk).cert == bes


def test_a_batch_spreads_over_centres_instead_of_piling_on_its_home(centres, settings):
    settings.ROUTING_MARGIN_DAYS = 2
    bes = centre("BES", capacity=10, departments=["25"])
    par = centre("PAR", capacity=10, departments=["75"])
    batch = bulk_dossiers(100, department="25")

    routing.dossiers_route(dossier_ids=ids(batch))

    # Home keeps work until it is 2 days (20 dossiers) ahead, then every other one overflows.
    assert Dossier.objects.filter(cert=bes, state=State.QUEUED).count() == 60
    assert Dossier.objects.filter(cert=par, state=State.QUEUED).count() == 40
    assert RoutingDecision.objects.filter(reason="home_overloaded", to_cert=par).count() == 40


@pytest.mark.parametrize("size", [20, 200])
def test_routing_a_batch_takes_the_same_few_queries_whatever_its_size(
    centres, size, django_assert_max_num_queries
):
    centre("BES", capacity=50, departments=["25"])
    centre("PAR", capacity=50, departments=["75"])
    batch = bulk_dossiers(size // 2, department="25") + bulk_dossiers(size // 2, department="75")

    # 11 on PostgreSQL; SQLite's limit on query parameters splits the bulk writes a little more.
    with django_assert_max_num_queries(16):
        moved = routing.dossiers_route(dossier_ids=ids(batch))

    assert len(moved) == size
    assert RoutingDecision.objects.count() == size


def test_routing_again_moves_nothing_and_writes_no_second_decision(centres):
    centre("BES", departments=["25"])
    batch = bulk_dossiers(5, department="25")
    assert len(routing.dossiers_route(dossier_ids=ids(batch))) == 5

    assert routing.dossiers_route(dossier_ids=ids(batch)) == []
    assert RoutingDecision.objects.count() == 5


def test_paused_home_or_unknown_department_goes_to_the_least_loaded_centre(centres):
    centre("BES", departments=["25"], active=False)
    centre("PAR", capacity=10, departments=["75"])
    ami = centre("AMI", capacity=10, departments=["80"])
    bulk_dossiers(10, state=State.QUEUED, cert=Cert.objects.get(code="PAR"))
    [from_paused_home] = bulk_dossiers(1, department="25")
    [from_nowhere] = bulk_dossiers(1, department="988")

    routing.dossiers_route(dossier_ids=[from_paused_home.pk, from_nowhere.pk])

    assert RoutingDecision.objects.get(dossier=from_paused_home).reason == "home_inactive"
    assert RoutingDecision.objects.get(dossier=from_nowhere).reason == "no_home_centre"
    assert set(
        Dossier.objects.filter(pk__in=[from_paused_home.pk, from_nowhere.pk]).values_list("cert", flat=True)
    ) == {ami.pk}


def test_only_centres_handling_the_procedure_are_candidates(centres):
    centre("BES", departments=["25"], procedures=[Procedure.CHANGE_OF_ADDRESS])
    par = centre("PAR", capacity=1, departments=["75"])
    bulk_dossiers(30, state=State.QUEUED, cert=par)
    [dossier] = bulk_dossiers(1, department="25", procedure=Procedure.IMPORT)

    routing.dossiers_route(dossier_ids=[dossier.pk])

    decision = RoutingDecision.objects.get(dossier=dossier)
    assert (decision.to_cert, decision.reason) == (par, "home_inactive")
    assert decision.projected_waits == {"PAR": 30.0}


def test_a_dossier_no_active_centre_handles_stays_submitted(centres):
    centre("BES", departments=["25"], procedures=[Procedure.CHANGE_OF_ADDRESS])
    [dossier] = bulk_dossiers(1, department="25", procedure=Procedure.IMPORT)

    assert routing.dossiers_route(dossier_ids=[dossier.pk]) == []

    assert Dossier.objects.get(pk=dossier.pk).state == State.SUBMITTED
    assert not RoutingDecision.objects.exists()


@pytest.mark.parametrize(
    ("open_work", "capacity", "wait"),
    [(0, 10, 0.0), (5, 4, 1.25), (500, 500, 1.0), (3, 0, None), (0, 0, 0.0)],
)
def test_projected_wait_is_open_work_over_daily_capacity(open_work, capacity, wait):
    assert policy.projected_wait_days(open_work=open_work, daily_capacity=capacity) == wait
