"""What supervisors see, per centre and nationally: the open work by state, the age of each queue,
the decisions per day, who is working, the projected wait (at the configured capacity and at the
pace of the last two weeks' decisions), the straight-through rate and the stuck count. Reads only
(the actions are routing's services).

Work counts where it was done: decisions and active agents in the centre of the agent at decision
time (stats.decision_days.decision_centre), never in the centre the dossier is in now; only agents
are counted as instructors. "Waiting" is stats.waiting, the figure /statistiques/ publishes.

Every query is bounded by an index: open states through dossier_state_due_idx, the queue through
its partial index dossier_queue_idx, recent activity through the audit's created_at index. The
straight-through rate comes from the latest public snapshot (refreshed every five minutes).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Case, Count, DateField, F, Q, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from cert_workflow.routing.policy import projected_wait_days
from cert_workflow.stats.decision_days import DECISION, day_start, decision_centre, decision_days_read
from cert_workflow.stats.services import days, stats_latest, waiting
from cert_workflow.supervision.queue_ages import open_work, planned_for_short_reads
from cert_workflow.sweeps import stuck_dossiers
from dossiers.models import Cert, Dossier, DossierEvent, State
from portal.models import Role

# The open states that are the administration's work (drafts are still the applicant's).
SHOWN_STATES = (State.SUBMITTED, State.QUEUED, State.IN_REVIEW, State.AWAITING_COMPLEMENT, State.APPROVED)
DAYS = 30
# The observed pace: decisions over the last two whole weeks (closed days), ten working days.
RATE_DAYS = 14
RATE_WORKING_DAYS = 10


@dataclass
class Figures:
    """The supervision figures of one centre, or of all of them (cert is None)."""

    cert: Cert | None
    daily_capacity: int
    by_state: dict[str, int] = field(default_factory=dict)
    age_p50_days: float | None = None
    age_p90_days: float | None = None
    age_max_days: float | None = None
    decisions_per_day: list[int] = field(default_factory=lambda: [0] * DAYS)
    agents_last_hour: int = 0
    agents_last_day: int = 0
    straight_through_rate: float | None = None
    stuck: int = 0

    @property
    def open(self) -> int:
        return sum(self.by_state.get(state, 0) for state in SHOWN_STATES)

    @property
    def queued(self) -> int:
        return self.by_state.get(State.QUEUED, 0)

    @property
    def wait_days(self) -> float | None:
        """The projected wait routing uses (routing.policy.projected_wait_days): dossiers queued and
        in review over the daily capacity, to a tenth of a day (None when nothing can clear it)."""
        wait = projected_wait_days(
            open_work=self.queued + self.by_state.get(State.IN_REVIEW, 0), daily_capacity=self.daily_capacity
        )
        return None if wait is None else round(wait, 1)

    @property
    def waiting(self) -> int:
        """Dossiers waiting for a decision: the figure /statistiques/ publishes (stats.waiting)."""
        return waiting(self.by_state)

    @property
    def recent_decisions(self) -> int:
        """Decisions of the last RATE_DAYS closed days (today, still running, left out)."""
        return sum(self.decisions_per_day[-RATE_DAYS - 1 : -1])

    @property
    def observed_rate(self) -> float:
        """Decisions per working day over the last RATE_DAYS closed days (two whole weeks: ten
        working days), to a tenth."""
        return round(self.recent_decisions / RATE_WORKING_DAYS, 1)

    @property
    def observed_wait_days(self) -> float | None:
        """The projected wait at the pace the centre actually decided over the last RATE_DAYS
        days, beside wait_days at its configured capacity: working days to clear the dossiers
        queued and in review (None when it decided nothing, so nothing clears them)."""
        work = self.queued + self.by_state.get(State.IN_REVIEW, 0)
        if not self.recent_decisions:
            return None if work else 0.0
        return round(work * RATE_WORKING_DAYS / self.recent_decisions, 1)

    @property
    def decisions_7d(self) -> int:
        return sum(self.decisions_per_day[-7:])

    @property
    def decisions_30d(self) -> int:
        return sum(self.decisions_per_day)

    @property
    def state_counts(self) -> list[tuple[str, str, int]]:
        return [(state, State(state).label, self.by_state.get(state, 0)) for state in SHOWN_STATES]


def day_list(*, now: datetime, count: int = DAYS) -> list[date]:
    """The last `count` days (local dates), today last."""
    today = timezone.localtime(now).date()
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def supervision_overview(*, now: datetime | None = None) -> dict[str, Any]:
    """Figures of every centre (active or paused) and of the whole country."""
    now = now or timezone.now()
    certs = list(Cert.objects.order_by("code"))
    with planned_for_short_reads():
        rows = _collect(now=now, certs=certs, scoped=False)
    national = rows.pop(None)
    return {"national": national, "centres": [rows[cert.pk] for cert in certs], "days": day_list(now=now)}


def supervision_centre(*, cert: Cert, now: datetime | None = None) -> dict[str, Any]:
    """Figures of one centre."""
    now = now or timezone.now()
    with planned_for_short_reads():
        rows = _collect(now=now, certs=[cert], scoped=True)
    return {"centre": rows[cert.pk], "days": day_list(now=now)}


def _collect(*, now: datetime, certs: list[Cert], scoped: bool) -> dict[int | None, Figures]:
    """One Figures per centre in `certs`, plus the national one (key None) unless `scoped`."""

    figures: dict[int | None, Figures] = {
        cert.pk: Figures(cert=cert, daily_capacity=cert.daily_capacity) for cert in certs
    }
    national = Figures(cert=None, daily_capacity=sum(c.daily_capacity for c in certs if c.active))

    def each(cert_id: int | None):
        """The rows a fact about centre `cert_id` counts in (a dossier with no centre counts nationally)."""
        yield national
        if cert_id in figures:
            yield figures[cert_id]

    # Open work by state and the age of each queue: one pass over the open work, then a few reads
    # of the queue's partial index (see queue_ages).
    work = open_work(
        now=now,
        states=SHOWN_STATES,
        cert_ids=[c.pk for c in certs] if scoped else None,
        fractions=(0.5, 0.9, 1.0),
    )
    for (cert_id, state), n in work.counts.items():
        for row in each(cert_id):
            row.by_state[state] = row.by_state.get(state, 0) + n
    for cert_id, (p50, p90, oldest) in work.ages.items():
        if cert_id in figures:
            figures[cert_id].age_p50_days, figures[cert_id].age_p90_days = days(p50), days(p90)
            figures[cert_id].age_max_days = days(oldest)
    if work.national_ages is not None:
        national.age_p50_days, national.age_p90_days, national.age_max_days = (
            days(v) for v in work.national_ages
        )

    # Decisions per day over 30 days: the closed days from their daily record, the others (today,
    # and any day not recorded yet) from the audit, in the same read as the agents who acted in
    # the last day. Both count in the centre where the work was done (decision_centre: the centre
    # the audit row recorded, else the agent's own), never the dossier's centre now, so moving
    # dossiers moves no past work. Only agents are instructors: a supervisor's or an
    # administrator's decision counts as a decision, never as an active instructor. Both kinds of
    # event have a human actor, so event_human_idx keeps the read to the human part of the audit;
    # each event finds its actor by primary key, and no dossier is read.
    days_shown = day_list(now=now)
    recorded = decision_days_read(first=days_shown[0], before=days_shown[-1])
    for day, counts in recorded.items():
        index = (day - days_shown[0]).days
        for cert_id, n in counts.items():
            if not scoped or cert_id in figures:
                for row in each(cert_id):
                    row.decisions_per_day[index] += n
    live_from = day_start(next(day for day in days_shown if day not in recorded))
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    decision = DECISION & Q(created_at__gte=live_from)
    reviewing = Q(actor_role=Role.AGENT, created_at__gte=day_ago)
    events = (
        DossierEvent.objects.filter(
            created_at__gte=min(live_from, day_ago), created_at__lte=now, actor__isnull=False
        )
        .filter(decision | reviewing)
        .annotate(centre=decision_centre())
    )
    if scoped:
        events = events.filter(centre__in=[c.pk for c in certs])
    events = (
        events.annotate(
            day=Case(When(decision, then=TruncDate("created_at")), output_field=DateField()),
            reviewer=Case(When(reviewing, then=F("actor_id"))),
        )
        .values_list("centre", "day", "reviewer")
        .annotate(
            decisions=Count("id", filter=decision),
            # A flag rather than the time: thousands of timestamps are slow to read back.
            last_hour=Count("id", filter=reviewing & Q(created_at__gte=hour_ago)),
        )
        .order_by()
    )
    active: list[tuple[int | None, int, bool]] = []
    for cert_id, day, reviewer, n, acted_in_hour in events:
        index = (day - days_shown[0]).days if day is not None else -1
        if n and 0 <= index < DAYS and day not in recorded:
            for row in each(cert_id):
                row.decisions_per_day[index] += n
        if reviewer is not None:
            active.append((cert_id, reviewer, acted_in_hour > 0))

    # Agents active: those agents, and every agent holding a lease now, in the agent's centre.
    leases = Dossier.objects.filter(
        state=State.IN_REVIEW, claimed_by__isnull=False, claimed_by__role=Role.AGENT
    ).values_list("claimed_by__cert_id", "claimed_by_id")
    if scoped:
        leases = leases.filter(claimed_by__cert_id__in=[c.pk for c in certs])
    # Sets of actors per centre (None: all of them, for the national row): thousands of rows.
    last_hour: dict[int | None, set[int]] = defaultdict(set)
    last_day: dict[int | None, set[int]] = defaultdict(set)
    for cert_id, actor_id in leases:
        last_hour[cert_id].add(actor_id)
    for cert_id, actor_id, within_hour in active:
        (last_hour if within_hour else last_day)[cert_id].add(actor_id)
    for seen in (last_hour, last_day):
        seen[None] = set().union(*seen.values())
    for key, row in [(None, national), *figures.items()]:
        row.agents_last_hour = len(last_hour.get(key, ()))
        row.agents_last_day = len(last_hour.get(key, set()) | last_day.get(key, set()))

    # Straight-through rate over 30 days, from the public snapshot.
    payload = stats_latest().payload
    rates = {centre["code"]: centre["straight_through_rate"] for centre in payload.get("centres", [])}
    national.straight_through_rate = payload.get("national", {}).get("straight_through_rate")
    for row in figures.values():
        row.straight_through_rate = rates.get(row.cert.code)

    # Stuck: must be zero in steady state. Counted for every centre even on a centre's page: the
    # open states' index finds them all faster than the centre's index finds its own (every
    # dossier it ever had).
    stuck = stuck_dossiers(now=now).values_list("cert_id").annotate(n=Count("id")).order_by()
    for cert_id, n in stuck:
        for row in each(cert_id):
            row.stuck += n

    if not scoped:
        figures[None] = national
    return figures
