"""Which CERT instructs a dossier, and moving queued work between centres.

`route_policy` (policy.py) is pure; `centre_loads` feeds it. `dossiers_route`, `queues_rebalance` and the
supervisor's actions (cert_workflow/supervision/actions.py) apply it set-based (a few queries per batch, never per dossier) and record every
decision: a RoutingDecision with the projected waits seen, and a DossierEvent on the dossier.

A centre's open work is its dossiers `queued` and `in_review`: the work its agents still have to
do. Dossiers `awaiting_complement` are not counted: they wait for the applicant, who may never
answer (the sweep closes them after a month), and come back ahead of new work when they do.
"""

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from cert_workflow.models import RoutingDecision
from cert_workflow.routing.policy import (
    ABOVE_NATIONAL_MEAN,
    NoCentreAvailable,
    projected_wait_days,
    route_policy,
)
from dossiers import states
from dossiers.bulk import pk_in, rows_append
from dossiers.models import Cert, Dossier, DossierEvent, State
from dossiers.transitions import EVENT_COLUMNS, dossier_transition_many
from portal.models import User

logger = logging.getLogger(__name__)

LOAD_STATES = (State.QUEUED, State.IN_REVIEW)
# Most dossiers one rebalance run moves; the next periodic run goes on where it stopped.
REBALANCE_LIMIT = 20_000
# Dossiers locked and moved to `queued` per transaction by dossiers_route.
ROUTE_CHUNK = 2_000


# The columns of a RoutingDecision written in bulk (dossiers.bulk.rows_append).
DECISION_COLUMNS = (
    "dossier_id",
    "kind",
    "from_cert_id",
    "to_cert_id",
    "home_cert_id",
    "reason",
    "projected_waits",
    "actor_id",
    "created_at",
)


def routing_margin_days() -> float:
    return float(getattr(settings, "ROUTING_MARGIN_DAYS", 2.0))


@dataclass(frozen=True)
class CentreLoad:
    cert: Cert
    queued: int
    in_review: int

    @property
    def code(self) -> str:
        return self.cert.code

    @property
    def open(self) -> int:
        return self.queued + self.in_review

    @property
    def wait_days(self) -> float:
        """Projected wait (policy.projected_wait_days); a centre's capacity is never 0 (constraint)."""
        return projected_wait_days(open_work=self.open, daily_capacity=self.cert.daily_capacity)

    def takes(self, procedure: str) -> bool:
        """Whether new work of `procedure` may be sent here (active and handling it)."""
        return self.cert.active and procedure in self.cert.procedures


def centre_loads(*, procedure: str | None = None) -> dict[str, CentreLoad]:
    """Every centre (active or paused) handling `procedure` (all if None) with its open work, by code.

    Two queries: the centres, and one aggregate over open dossiers (served by the state index).
    """
    certs = [c for c in Cert.objects.order_by("code") if procedure is None or procedure in c.procedures]
    counts: dict[tuple[int, str], int] = {
        (row["cert_id"], row["state"]): row["n"]
        for row in Dossier.objects.filter(state__in=LOAD_STATES, cert__isnull=False)
        .values("cert_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    }
    return {
        c.code: CentreLoad(
            cert=c,
            queued=counts.get((c.pk, State.QUEUED), 0),
            in_review=counts.get((c.pk, State.IN_REVIEW), 0),
        )
        for c in certs
    }


def home_centres(*, loads: dict[str, CentreLoad]) -> dict[str, str]:
    """Department → code of its home centre; a department listed twice goes to an active one first."""
    homes: dict[str, str] = {}
    for load in sorted(loads.values(), key=lambda load: (not load.cert.active, load.code)):
        for department in load.cert.departments:
            homes.setdefault(department, load.code)
    return homes


@dataclass
class Projection:
    """Open work per centre as assignments are made in memory, so that a batch spreads out."""

    loads: dict[str, CentreLoad]
    open: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.open = {code: load.open for code, load in self.loads.items()}

    def wait(self, code: str) -> float:
        return projected_wait_days(
            open_work=self.open[code], daily_capacity=self.loads[code].cert.daily_capacity
        )

    def waits(self, *, procedure: str | None = None) -> dict[str, float]:
        """Projected waits of the centres that take `procedure` (every active centre if None)."""
        return {
            code: self.wait(code)
            for code, load in self.loads.items()
            if load.cert.active and (procedure is None or procedure in load.cert.procedures)
        }

    def move(self, *, to: str, source: str | None = None) -> None:
        self.open[to] += 1
        if source is not None:
            self.open[source] -= 1


def _rounded(waits: dict[str, float]) -> dict[str, float]:
    return {code: round(wait, 4) for code, wait in waits.items()}


def dossiers_route(*, dossier_ids: list[int]) -> list[int]:
    """Queue every still-`submitted` dossier of `dossier_ids` at the centre route_policy picks.

    Returns the ids moved. One RoutingDecision per moved dossier, with the waits it saw. Dossiers
    no longer submitted are skipped, so a rerun is harmless; dossiers no active centre handles stay
    submitted (logged) until one does.
    """
    if not dossier_ids:
        return []
    rows = list(
        Dossier.objects.filter(pk_in(dossier_ids), state=State.SUBMITTED)
        .order_by("submitted_at", "pk")
        .values_list("pk", "procedure", "holder__department")
    )
    if not rows:
        return []
    loads = centre_loads()
    homes = home_centres(loads=loads)
    projection = Projection(loads)
    margin = routing_margin_days()
    moved: list[int] = []
    for start in range(0, len(rows), ROUTE_CHUNK):
        plan: dict[int, tuple[str, str, str | None, dict[str, float]]] = {}
        for pk, procedure, department in rows[start : start + ROUTE_CHUNK]:
            waits = projection.waits(procedure=procedure)
            home = homes.get(department)
            try:
                code, reason = route_policy(home=home, waits=waits, margin_days=margin)
            except NoCentreAvailable:
                logger.warning("no active centre handles %s: dossier %s stays submitted", procedure, pk)
                continue
            projection.move(to=code)
            plan[pk] = (code, reason, home, waits)
        if plan:
            moved += _queue_planned(plan=plan, loads=loads)
    return moved


def _queue_planned(*, plan: dict, loads: dict[str, CentreLoad]) -> list[int]:
    with transaction.atomic():
        moved = dossier_transition_many(
            dossier_ids=list(plan),
            to=State.QUEUED,
            actor=None,
            changes={pk: {"cert": loads[code].cert} for pk, (code, *_rest) in plan.items()},
            data={
                pk: {"routing": {"reason": reason, "home": home}}
                for pk, (_c, reason, home, _w) in plan.items()
            },
        )
        now = timezone.now()
        decisions = []
        for pk in moved:
            code, reason, home, waits = plan[pk]
            decisions.append(
                (
                    pk,
                    RoutingDecision.Kind.ROUTE.value,
                    None,
                    loads[code].cert.pk,
                    loads[home].cert.pk if home else None,
                    reason,
                    _rounded(waits),
                    None,
                    now,
                )
            )
        rows_append(RoutingDecision, DECISION_COLUMNS, decisions)
    return moved


@dataclass(frozen=True)
class Move:
    dossier_id: int
    source: str
    to: str
    reason: str
    waits: dict[str, float]
    home: str | None = None


def moves_apply(*, moves: list[Move], loads: dict[str, CentreLoad], kind: str, actor: User | None) -> int:
    """Reassign locked `queued` dossiers to other centres, keeping their state and queued_at.

    Not a state change, so not a transition: one UPDATE per receiving centre, one `rerouted`
    DossierEvent and one RoutingDecision per dossier. The caller holds the row locks.
    """
    if not moves:
        return 0
    now = timezone.now()
    by_target: dict[str, list[int]] = defaultdict(list)
    for move in moves:
        by_target[move.to].append(move.dossier_id)
    for code, ids in by_target.items():
        Dossier.objects.filter(pk_in(ids), state=State.QUEUED).update(cert=loads[code].cert, updated_at=now)
    role, actor_id = states.role_of(actor), actor.pk if actor is not None else None
    rows_append(
        DossierEvent,
        EVENT_COLUMNS,
        (
            (
                move.dossier_id,
                actor_id,
                role,
                "rerouted",
                "",
                "",
                move.reason,
                {"kind": kind, "from": move.source, "to": move.to},
                now,
            )
            for move in moves
        ),
    )
    rows_append(
        RoutingDecision,
        DECISION_COLUMNS,
        (
            (
                move.dossier_id,
                str(kind),
                loads[move.source].cert.pk,
                loads[move.to].cert.pk,
                loads[move.home].cert.pk if move.home else None,
                move.reason,
                _rounded(move.waits),
                actor_id,
                now,
            )
            for move in moves
        ),
    )
    return len(moves)


def unclaimed(*, cert: Cert):
    """The centre's unclaimed dossiers, oldest first, locked; rows being claimed right now are skipped."""
    return (
        Dossier.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(cert=cert, state=State.QUEUED)
        .order_by("queued_at", "pk")
    )


def reroute_plan(
    *, source: str, loads: dict[str, CentreLoad], projection: Projection, rows
) -> tuple[list[Move], int]:
    """Where route_policy sends each of `rows` (pk, procedure, holder's department; oldest first)
    of a paused centre's queue, spreading them as it goes; and how many stay, no other active
    centre handling their procedure. Pure planning: the caller applies it (queue_reroute) or
    shows it (the supervisor's confirmation of a pause)."""
    homes = home_centres(loads=loads)
    margin = routing_margin_days()
    moves, staying = [], 0
    for pk, procedure, department in rows:
        waits = projection.waits(procedure=procedure)
        waits.pop(source, None)
        home = homes.get(department)
        try:
            code, reason = route_policy(home=home, waits=waits, margin_days=margin)
        except NoCentreAvailable:
            staying += 1  # stays here; the next rebalance tries again
            continue
        projection.move(to=code, source=source)
        moves.append(Move(pk, source, code, reason, waits, home))
    return moves, staying


def queue_reroute(
    *, source: str, loads: dict[str, CentreLoad], projection: Projection, kind: str, actor: User | None
) -> int:
    """Send every unclaimed dossier of a paused centre to another one by route_policy, oldest first."""
    rows = unclaimed(cert=loads[source].cert).values_list("pk", "procedure", "holder__department")
    moves, _staying = reroute_plan(source=source, loads=loads, projection=projection, rows=rows)
    return moves_apply(moves=moves, loads=loads, kind=kind, actor=actor)


def queues_rebalance(*, limit: int = REBALANCE_LIMIT) -> int:
    """Move the oldest unclaimed dossiers of overloaded centres to centres below the national mean.

    A centre is overloaded when its projected wait exceeds the national mean (all open work over all
    active capacity) by more than the margin; it gives work down to the mean, to centres below the
    mean up to the mean. Candidates from every overloaded centre are taken oldest first nationally,
    each to the least loaded receiver handling its procedure, and keep their queued_at, so the
    national queue stays first-in first-out. Claimed dossiers are never moved; dossiers being claimed
    (row locked) are skipped. Queued work left in paused centres is rerouted first.
    Returns the number of dossiers moved.
    """
    moved = 0
    with transaction.atomic():
        loads = centre_loads()
        projection = Projection(loads)
        for code, load in loads.items():
            if not load.cert.active and load.queued:
                moved += queue_reroute(
                    source=code,
                    loads=loads,
                    projection=projection,
                    kind=RoutingDecision.Kind.PAUSE,
                    actor=None,
                )
        active = [code for code, load in loads.items() if load.cert.active]
        capacity = sum(loads[code].cert.daily_capacity for code in active)
        if not capacity:
            return moved
        mean = sum(projection.open[code] for code in active) / capacity
        margin = routing_margin_days()
        seen = projection.waits()
        sources = [code for code in active if seen[code] > mean + margin]
        room = {
            code: math.floor((mean - seen[code]) * loads[code].cert.daily_capacity)
            for code in active
            if seen[code] < mean
        }
        budget = min(limit, sum(room.values()))
        if not sources or budget <= 0:
            return moved

        # Work no receiver handles stays where it is and does not use up a source's excess.
        movable = set().union(*(loads[code].cert.procedures for code in room if room[code] > 0))
        candidates: list[tuple[datetime, int, str, str]] = []
        for code in sources:
            excess = math.ceil((seen[code] - mean) * loads[code].cert.daily_capacity)
            rows = (
                unclaimed(cert=loads[code].cert)
                # An answered complement (priority raised) stays with the centre that asked for it.
                .filter(procedure__in=movable, priority__lte=0)
                .values_list("queued_at", "pk", "procedure")
            )
            candidates += [
                (queued_at, pk, procedure, code) for queued_at, pk, procedure in rows[: min(excess, budget)]
            ]
        candidates.sort()

        moves = []
        for _queued_at, pk, procedure, source in candidates:
            if len(moves) >= budget:
                break
            takers = [code for code in room if room[code] > 0 and loads[code].takes(procedure)]
            if not takers:
                continue
            to = min(takers, key=lambda code: (projection.wait(code), code))
            room[to] -= 1
            projection.move(to=to, source=source)
            moves.append(Move(pk, source, to, ABOVE_NATIONAL_MEAN, seen))
        moved += moves_apply(moves=moves, loads=loads, kind=RoutingDecision.Kind.REBALANCE, actor=None)
    if moved:
        logger.info("rebalance moved %d dossiers (national mean %.2f days)", moved, mean)
    return moved
