"""Supervision: national and per-centre figures for supervisors, and their actions on a centre."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cert_workflow.models import Assessment, DecisionDay, Risk, RoutingDecision, SweepAction
from cert_workflow.routing import services as routing
from cert_workflow.stats import decision_days
from cert_workflow.stats import services as stats
from cert_workflow.supervision import actions, queue_ages
from cert_workflow.supervision import selectors as supervision
from dossiers import services, transitions
from dossiers.models import Cert, Dossier, DossierEvent, State
from portal.models import Role
from tests import factories
from tests.factories import text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    return factories.supervisor()


@pytest.fixture
def boss_client(client, boss):
    client.force_login(boss)
    return client


def centre_state(code: str = "BES") -> tuple[dict, int]:
    """The centre's row and the number of supervisor audit rows, which a refused action leaves as they were."""
    return Cert.objects.filter(code=code).values().get(), SweepAction.objects.count()


def queued(cert, *, days_ago: float | None = None):
    owner = factories.citizen()
    dossier = services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)
    transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})
    if days_ago is not None:
        Dossier.objects.filter(pk=dossier.pk).update(queued_at=timezone.now() - timedelta(days=days_ago))
    return dossier


def claim(dossier, agent):
    return transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, 302),
        (Role.CITIZEN, 403),
        (Role.AGENT, 403),
        (Role.DEALER, 403),
        (Role.SUPERVISOR, 200),
        (Role.ADMIN, 200),
    ],
)
def test_supervision_pages_are_for_supervisors_and_administrators_only(client, role, expected):
    if role == Role.AGENT:
        client.force_login(factories.agent(cert=Cert.objects.get(code="BES")))
    elif role == Role.DEALER:
        client.force_login(factories.dealer())
    elif role is not None:
        client.force_login(factories.UserFactory(role=role))

    for url in ("/supervision/", "/supervision/centres/BES/"):
        response = client.get(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response["Location"].startswith("/connexion/")


def test_queue_age_percentiles_projected_wait_and_open_work_by_state():
    bes = Cert.objects.get(code="BES")
    Cert.objects.filter(pk=bes.pk).update(daily_capacity=2)
    for days_ago in (1, 2, 3, 10):
        queued(bes, days_ago=days_ago)
    claim(queued(bes), factories.agent(cert=bes))

    figures = supervision.supervision_overview()
    centre = next(row for row in figures["centres"] if row.cert.code == "BES")

    assert (centre.age_p50_days, centre.age_p90_days, centre.age_max_days) == (2.5, 7.9, 10.0)
    assert centre.by_state == {State.QUEUED: 4, State.IN_REVIEW: 1}
    assert centre.open == 5 and centre.queued == 4
    assert centre.wait_days == 2.5  # 4 queued and 1 in review at 2 a day, as routing sees it
    assert centre.wait_days == routing.centre_loads()["BES"].wait_days
    national = figures["national"]
    assert national.queued == 4 and national.age_max_days == 10.0
    assert national.stuck == 0
    empty = next(row for row in figures["centres"] if row.cert.code == "PAR")
    assert (empty.open, empty.age_p50_days, empty.wait_days) == (0, None, 0.0)


def test_decisions_per_day_and_agents_active_per_centre():
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    deciding, holding = factories.agent(cert=bes), factories.agent(cert=bes)
    for to in (State.APPROVED, State.REJECTED, State.AWAITING_COMPLEMENT):
        transitions.dossier_transition(dossier=claim(queued(bes), deciding), to=to, actor=deciding)
    claim(queued(bes), holding)  # holds a lease: active, no decision yet
    queued(par)

    figures = supervision.supervision_centre(cert=bes)["centre"]

    assert figures.decisions_per_day[-1] == 3
    assert (figures.decisions_7d, figures.decisions_30d) == (3, 3)
    assert (figures.agents_last_hour, figures.agents_last_day) == (2, 2)
    other = supervision.supervision_centre(cert=par)["centre"]
    assert (other.decisions_30d, other.agents_last_day) == (0, 0)


def test_straight_through_rate_comes_from_the_public_snapshot():
    owner = factories.citizen()
    for route in (Assessment.Route.STRAIGHT_THROUGH, Assessment.Route.REVIEW):
        dossier = services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)
        Assessment.objects.create(dossier=dossier, risk=Risk.LOW, route=route)
    stats.stats_refresh()

    figures = supervision.supervision_overview()

    assert figures["national"].straight_through_rate == 0.5
    assert next(r for r in figures["centres"] if r.cert.code == "BES").straight_through_rate == 0.5


def test_national_page_shows_every_centre_charts_and_zero_stuck(boss_client):
    bes = Cert.objects.get(code="BES")
    queued(bes, days_ago=3)

    response = boss_client.get("/supervision/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Supervision nationale" in page
    for cert in Cert.objects.all():
        assert f'href="/supervision/centres/{cert.code}/"' in page
    assert page.count('class="cg-chart ') == 4
    assert 'id="stuck-count">0<' in page and "Dossiers bloqués : 0" in page
    # The projected wait says in words which number it is.
    assert "dossiers en file et en instruction" in page and "le routage compare" in page


def test_stuck_dossier_shows_on_the_pages_until_the_sweep_moves_it(boss_client):
    from cert_workflow.sweeps import sweep_run

    bes = Cert.objects.get(code="BES")
    dossier = claim(queued(bes), factories.agent(cert=bes))
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() - timedelta(hours=1))

    assert "1 dossier bloqué" in text_of(boss_client.get("/supervision/"))
    assert 'id="stuck-count">1<' in text_of(boss_client.get("/supervision/centres/BES/"))
    sweep_run()
    assert 'id="stuck-count">0<' in text_of(boss_client.get("/supervision/centres/BES/"))


def test_centre_page_shows_its_figures_and_action_forms(boss_client):
    bes = Cert.objects.get(code="BES")
    queued(bes)

    response = boss_client.get("/supervision/centres/BES/")

    page = text_of(response)
    assert response.status_code == 200
    assert "CERT de Besançon" in page and 'id="state-queued">1<' in page
    assert page.count('class="cg-chart ') == 2
    for action in ("capacite", "deplacer"):
        assert f'action="/supervision/centres/BES/{action}/"' in page
    assert 'href="/supervision/centres/BES/suspendre/"' in page  # a page to confirm, not a button that acts
    assert 'name="csrfmiddlewaretoken"' in page
    assert boss_client.get("/supervision/centres/NOPE/").status_code == 404


def test_supervisor_sets_a_centre_capacity_and_it_is_audited(boss_client, boss):
    response = boss_client.post("/supervision/centres/BES/capacite/", {"daily_capacity": "120"}, follow=True)

    assert response.redirect_chain[-1][0] == "/supervision/centres/BES/"
    assert "Capacité de CERT de Besançon fixée à 120 dossiers par jour." in text_of(response)
    assert Cert.objects.get(code="BES").daily_capacity == 120
    audit = SweepAction.objects.get(kind="cert_capacity_set")
    assert audit.data["actor_id"] == boss.pk and audit.data["capacity"] == 120


@pytest.mark.parametrize("value", ["0", "-3", "beaucoup", ""])
def test_invalid_capacity_is_refused_on_the_page_and_changes_nothing(boss_client, value):
    before = centre_state()

    response = boss_client.post("/supervision/centres/BES/capacite/", {"daily_capacity": value})

    assert response.status_code == 400
    assert "fr-error-text" in response.content.decode()
    assert centre_state() == before


def test_pausing_a_centre_reroutes_its_queue_and_resuming_reopens_it(boss_client):
    bes = Cert.objects.get(code="BES")
    waiting = [queued(bes) for _ in range(3)]

    response = boss_client.post("/supervision/centres/BES/suspendre/", {"confirmed": "1"}, follow=True)

    assert "est suspendu" in text_of(response)
    assert not Cert.objects.get(code="BES").active
    assert not Dossier.objects.filter(pk__in=[d.pk for d in waiting], cert=bes).exists()
    assert RoutingDecision.objects.filter(kind=RoutingDecision.Kind.PAUSE).count() == 3
    assert 'action="/supervision/centres/BES/reprendre/"' in text_of(response)

    boss_client.post("/supervision/centres/BES/reprendre/")
    assert Cert.objects.get(code="BES").active


def test_supervisor_moves_the_oldest_dossiers_to_another_centre(boss_client):
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    oldest, older, recent = queued(bes, days_ago=5), queued(bes, days_ago=4), queued(bes, days_ago=1)

    response = boss_client.post(
        "/supervision/centres/BES/deplacer/", {"to_cert": "PAR", "count": "2", "confirmed": "1"}, follow=True
    )

    assert "2 dossier(s) déplacé(s) de CERT de Besançon vers CERT de Paris." in text_of(response)
    assert set(Dossier.objects.filter(cert=par).values_list("pk", flat=True)) == {oldest.pk, older.pk}
    assert Dossier.objects.get(pk=recent.pk).cert == bes


def test_moving_to_the_same_or_a_paused_centre_is_refused(boss_client):
    bes = Cert.objects.get(code="BES")
    Cert.objects.filter(code="AMI").update(active=False)
    dossier = queued(bes)
    before = factories.snapshot(dossier), centre_state(), centre_state("AMI")

    for target in ("BES", "AMI"):
        response = boss_client.post("/supervision/centres/BES/deplacer/", {"to_cert": target, "count": "1"})
        assert response.status_code == 400
        assert "fr-error-text" in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).cert == bes
    assert (factories.snapshot(dossier), centre_state(), centre_state("AMI")) == before


def test_actions_need_a_supervisor_and_a_csrf_token(client, boss):
    dossier = queued(Cert.objects.get(code="BES"))  # what a pause would reroute
    before = factories.snapshot(dossier), centre_state()
    client.force_login(factories.agent(cert=Cert.objects.get(code="BES")))
    assert client.post("/supervision/centres/BES/capacite/", {"daily_capacity": "1"}).status_code == 403
    assert client.post("/supervision/centres/BES/suspendre/").status_code == 403

    assert client.get("/supervision/centres/BES/suspendre/").status_code == 403

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(boss)
    assert strict.post("/supervision/centres/BES/capacite/", {"daily_capacity": "1"}).status_code == 403
    assert strict.post("/supervision/centres/BES/suspendre/", {"confirmed": "1"}).status_code == 403
    assert strict.get("/supervision/centres/BES/suspendre/").status_code == 200  # the confirmation only
    bes = Cert.objects.get(code="BES")
    assert bes.active and bes.daily_capacity != 1
    assert (factories.snapshot(dossier), centre_state()) == before


def test_supervisor_page_queries_can_all_use_an_index(postgres):
    """With sequential scans priced out, no query of the page reads the whole dossier table."""
    bes = Cert.objects.get(code="BES")
    queued(bes, days_ago=2)
    stats.stats_refresh()
    with CaptureQueriesContext(connection) as captured:
        supervision.supervision_overview()
    dossier_queries = [q["sql"] for q in captured.captured_queries if '"dossiers_dossier"' in q["sql"]]
    assert dossier_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in dossier_queries:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on dossiers_dossier" not in plan, f"{sql}\n{plan}"


@pytest.mark.parametrize("buckets", [1, 2, 3, 7, 512])
def test_queue_ages_from_the_index_equal_postgresql_percentile_cont(postgres, buckets):
    """Ranks read at a bucket's edge, inside a bucket, across centres and for a queue with no centre."""
    now = timezone.now()
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    spread = {bes: [0.5, 1, 1, 2, 3.3, 5, 8, 8, 13, 21, 21.5], par: [1, 4, 4, 4, 9], None: [2, 30]}
    for cert, ages in spread.items():
        for days_ago in ages:
            dossier = queued(cert or bes)
            Dossier.objects.filter(pk=dossier.pk).update(cert=cert, queued_at=now - timedelta(days=days_ago))
    fractions = (0.5, 0.9, 1.0)

    work = queue_ages.open_work(
        now=now, states=[State.QUEUED], cert_ids=None, fractions=fractions, buckets=buckets
    )

    per_cert, national = stats.grouped_percentiles(
        qs=Dossier.objects.filter(state=State.QUEUED),
        group="cert_id",
        expression=stats.age_expression(now=now, field="queued_at"),
        fractions=fractions,
    )
    for key, expected in [*per_cert.items(), ("national", national)]:
        got = work.national_ages if key == "national" else work.ages[key]
        assert [abs(g - e) < timedelta(milliseconds=1) for g, e in zip(got, expected, strict=True)] == [
            True
        ] * 3, (key, got, expected)
    assert work.counts == {(bes.pk, State.QUEUED): 11, (par.pk, State.QUEUED): 5, (None, State.QUEUED): 2}


def test_agents_count_as_active_for_an_hour_and_a_day_after_acting_and_while_holding_a_lease():
    bes = Cert.objects.get(code="BES")
    deciding, holding = factories.agent(cert=bes), factories.agent(cert=bes)
    transitions.dossier_transition(dossier=claim(queued(bes), deciding), to=State.APPROVED, actor=deciding)
    claim(queued(bes), holding)
    now = timezone.now()

    def active(later: timedelta) -> tuple[int, int, int]:
        figures = supervision.supervision_centre(cert=bes, now=now + later)["centre"]
        return figures.agents_last_hour, figures.agents_last_day, figures.decisions_30d

    assert active(timedelta(minutes=1)) == (2, 2, 1)
    assert active(timedelta(hours=2)) == (1, 2, 1)  # the lease holder is still at work
    assert active(timedelta(days=2)) == (1, 1, 1)


def decide(cert, to=State.APPROVED):
    agent = factories.agent(cert=cert)
    transitions.dossier_transition(dossier=claim(queued(cert), agent), to=to, actor=agent)


def decisions_shown(*, now) -> dict[str, list[int]]:
    overview = supervision.supervision_overview(now=now)
    shown = {row.cert.code: row.decisions_per_day for row in overview["centres"]}
    shown["national"] = overview["national"].decisions_per_day
    shown["BES page"] = supervision.supervision_centre(cert=Cert.objects.get(code="BES"), now=now)[
        "centre"
    ].decisions_per_day
    return shown


def test_recording_closed_days_changes_no_figure_and_records_each_day_once():
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    for to in (State.APPROVED, State.REJECTED, State.AWAITING_COMPLEMENT):
        decide(bes, to)
    decide(par)
    later = timezone.now() + timedelta(days=3)
    read_live = decisions_shown(now=later)

    stats.stats_refresh(now=later)

    record = DecisionDay.objects.get(day=timezone.localdate())
    assert record.counts == {str(bes.pk): 3, str(par.pk): 1}
    assert decisions_shown(now=later) == read_live
    assert read_live["BES"][-4] == read_live["BES page"][-4] == 3 and read_live["national"][-4] == 4
    assert decision_days.decision_days_record(now=later) == 0
    # A day without its record (the refresh missed it) is read from the audit again.
    DecisionDay.objects.filter(day=timezone.localdate()).delete()
    assert decisions_shown(now=later) == read_live


def test_closed_days_decisions_come_from_their_daily_record():
    bes = Cert.objects.get(code="BES")
    yesterday = timezone.localdate() - timedelta(days=1)
    DecisionDay.objects.create(day=yesterday, counts={str(bes.pk): 5, "": 1})
    decide(bes)

    shown = decisions_shown(now=timezone.now())

    assert shown["BES"][-2:] == shown["BES page"][-2:] == [5, 1]
    assert shown["national"][-2:] == [6, 1]
    assert shown["PAR"][-2:] == [0, 0]


def test_a_day_is_recorded_only_once_it_ended_an_hour_ago():
    bes = Cert.objects.get(code="BES")
    decide(bes)
    today = timezone.localdate()
    midnight = decision_days.day_start(today + timedelta(days=1))

    decision_days.decision_days_record(now=midnight + timedelta(minutes=59))
    assert not DecisionDay.objects.filter(day=today).exists()
    assert DecisionDay.objects.filter(day=today - timedelta(days=1), counts={}).exists()

    decision_days.decision_days_record(now=midnight + timedelta(minutes=61))
    assert DecisionDay.objects.get(day=today).counts == {str(bes.pk): 1}


def work_shown(*codes: str) -> dict[str, tuple[int, int, int]]:
    """Each centre's decisions (30 days) and agents active (hour, day), and the national ones."""
    overview = supervision.supervision_overview()
    shown = {
        row.cert.code: (row.decisions_30d, row.agents_last_hour, row.agents_last_day)
        for row in overview["centres"]
        if row.cert.code in codes
    }
    national = overview["national"]
    shown["national"] = (national.decisions_30d, national.agents_last_hour, national.agents_last_day)
    for code in codes:
        page = supervision.supervision_centre(cert=Cert.objects.get(code=code))["centre"]
        assert (page.decisions_30d, page.agents_last_hour, page.agents_last_day) == shown[code]
    return shown


def test_moving_dossiers_between_centres_moves_no_decision_and_no_active_agent(boss):
    """Work counts where it was done: moving (by hand and by a pause) dossiers that were decided in
    Besançon, and taking a decision as a supervisor, changes no centre's decisions or agents."""
    bes, par, ami = (Cert.objects.get(code=code) for code in ("BES", "PAR", "AMI"))
    besancon, paris = factories.agent(cert=bes), factories.agent(cert=par)
    # Besançon decides three dossiers; two asked for a complement come back to its queue.
    transitions.dossier_transition(dossier=claim(queued(bes), besancon), to=State.APPROVED, actor=besancon)
    returning = []
    for _ in range(2):
        dossier = transitions.dossier_transition(
            dossier=claim(queued(bes), besancon), to=State.AWAITING_COMPLEMENT, actor=besancon
        )
        returning.append(transitions.dossier_transition(dossier=dossier, to=State.QUEUED, actor=None))
    # A decision written before the audit recorded the centre counts in the agent's own centre.
    legacy = claim(queued(bes), besancon)
    Dossier.objects.filter(pk=legacy.pk).update(state=State.AWAITING_COMPLEMENT, claimed_by=None)
    DossierEvent.objects.create(
        dossier=legacy,
        actor=besancon,
        actor_role=Role.AGENT,
        action="transition",
        from_state=State.IN_REVIEW,
        to_state=State.AWAITING_COMPLEMENT,
        data={},
    )
    transitions.dossier_transition(dossier=legacy, to=State.QUEUED, actor=None)
    # Paris decides one; a supervisor decides one of Paris's dossiers: a decision, not an instructor.
    transitions.dossier_transition(dossier=claim(queued(par), paris), to=State.REJECTED, actor=paris)
    transitions.dossier_transition(dossier=claim(queued(par), boss), to=State.APPROVED, actor=boss)
    before = work_shown("BES", "PAR", "AMI")
    assert before["BES"] == (4, 1, 1) and before["PAR"] == (2, 1, 1) and before["AMI"] == (0, 0, 0)
    assert before["national"] == (6, 2, 2)  # the supervisor is no instructor

    moved = actions.dossiers_move_oldest(from_cert=bes, to_cert=par, count=2, actor=boss)
    assert moved == 2
    actions.cert_pause(cert=bes, actor=boss)  # the rest of Besançon's queue goes elsewhere

    assert not Dossier.objects.filter(cert=bes, state=State.QUEUED).exists()
    assert Dossier.objects.filter(pk__in=[d.pk for d in [*returning, legacy]]).exclude(cert=bes).count() == 3
    assert work_shown("BES", "PAR", "AMI") == before
    # The closed days' record counts them where they were made too.
    later = timezone.now() + timedelta(days=2)
    decision_days.decision_days_record(now=later)
    assert DecisionDay.objects.get(day=timezone.localdate()).counts == {str(bes.pk): 4, str(par.pk): 2}
    assert ami.active


def test_waiting_is_the_public_figure_and_the_observed_pace_gives_a_second_forecast():
    bes = Cert.objects.get(code="BES")
    Cert.objects.filter(pk=bes.pk).update(daily_capacity=10)
    for _ in range(3):
        queued(bes)
    agent = factories.agent(cert=bes)
    claim(queued(bes), agent)
    other = factories.agent(cert=bes)
    complement = transitions.dossier_transition(
        dossier=claim(queued(bes), other), to=State.AWAITING_COMPLEMENT, actor=other
    )
    owner = factories.citizen()
    services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)  # no centre yet
    # Two weeks ago and yesterday: 5 decisions over the last 14 closed days, half a day's pace.
    yesterday, long_ago = timezone.localdate() - timedelta(days=1), timezone.localdate() - timedelta(days=20)
    DecisionDay.objects.create(day=yesterday, counts={str(bes.pk): 4})
    DecisionDay.objects.create(day=yesterday - timedelta(days=13), counts={str(bes.pk): 1})
    DecisionDay.objects.create(day=long_ago, counts={str(bes.pk): 50})
    stats.stats_refresh()

    overview = supervision.supervision_overview()
    centre = next(row for row in overview["centres"] if row.cert.code == "BES")
    public = stats.stats_latest().payload

    assert complement.state == State.AWAITING_COMPLEMENT
    assert centre.waiting == 5 and centre.queued == 3  # queued, in review and awaiting a complement
    assert overview["national"].waiting == public["national"]["open"] == 6  # and the one not routed yet
    assert next(c for c in public["centres"] if c["code"] == "BES")["open"] == centre.waiting
    assert centre.wait_days == 0.4  # 4 queued and in review at 10 a day
    assert centre.recent_decisions == 5 and centre.observed_rate == 0.5
    assert centre.observed_wait_days == 8.0  # the same 4 at 0.5 a working day
    paris = next(row for row in overview["centres"] if row.cert.code == "PAR")
    assert (paris.observed_wait_days, paris.recent_decisions) == (0.0, 0)


def test_pause_is_confirmed_first_on_a_page_that_says_where_the_queue_goes(boss_client):
    bes = Cert.objects.get(code="BES")
    Cert.objects.filter(code__in=["PAR", "AMI"]).update(daily_capacity=1000)
    waiting = [queued(bes, days_ago=d) for d in (3, 2, 1)]
    claim(queued(bes), factories.agent(cert=bes))
    before = factories.snapshot(*waiting), centre_state(), RoutingDecision.objects.count()

    for response in (
        boss_client.get("/supervision/centres/BES/suspendre/"),
        boss_client.post("/supervision/centres/BES/suspendre/"),  # a POST without the confirmation
    ):
        page = text_of(response)
        assert response.status_code == 200
        assert "Suspendre CERT de Besançon ?" in page
        assert "les 3 dossiers de sa file partiront vers les autres centres" in page
        assert "1 dossier en cours d'instruction reste avec son instructeur" in page
        shown = {
            code: int(n)
            for code, n in re.findall(r'id="receives-([A-Z]+)">(\d+)<', response.content.decode())
        }
        assert sum(shown.values()) == 3
        assert 'name="confirmed" value="1"' in page and "Confirmer la suspension" in page
    assert (factories.snapshot(*waiting), centre_state(), RoutingDecision.objects.count()) == before

    response = boss_client.post("/supervision/centres/BES/suspendre/", {"confirmed": "1"}, follow=True)

    assert "3 dossiers de sa file sont réorientés" in text_of(response)
    went = dict(
        Dossier.objects.filter(pk__in=[d.pk for d in waiting])
        .values_list("cert__code")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert went == shown  # where the confirmation said


def test_move_is_confirmed_first_on_a_page_that_says_how_many_go_where(boss_client):
    bes, par = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    dossiers = [queued(bes, days_ago=d) for d in (5, 4, 1)]
    before = factories.snapshot(*dossiers), centre_state(), SweepAction.objects.count()

    response = boss_client.post("/supervision/centres/BES/deplacer/", {"to_cert": "PAR", "count": "2"})

    page = text_of(response)
    assert response.status_code == 200
    assert "Déplacer des dossiers de CERT de Besançon vers CERT de Paris ?" in page
    assert (
        "2 dossiers, les plus anciens de la file, partiront de CERT de Besançon vers CERT de Paris." in page
    )
    assert 'name="confirmed" value="1"' in page and 'name="count" value="2"' in page
    assert (factories.snapshot(*dossiers), centre_state(), SweepAction.objects.count()) == before

    response = boss_client.post(
        "/supervision/centres/BES/deplacer/", {"to_cert": "PAR", "count": "5", "confirmed": "0"}
    )
    assert "Vous en avez demandé 5" in text_of(response) and "3 dossiers" in text_of(response)
    assert Dossier.objects.filter(cert=par).count() == 0
