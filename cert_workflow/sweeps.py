"""The periodic sweep: every open dossier whose clock ran out is put back where it can move.

Each part works on chunks of dossiers (a few queries per chunk), re-reads its condition under a row
lock that skips rows someone else holds (an agent deciding, a check task running: they win), and
records what it did both in SweepAction and in the dossier's audit. A second run right after the
first finds nothing to do. "Stuck" is then a query: stuck_dossiers().
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.checks import services as checks
from cert_workflow.documents import issuing
from cert_workflow.models import Assessment, IssuedDocument, SweepAction
from cert_workflow.review import complements
from dossiers import states
from dossiers.models import OPEN_STATES, Cert, Dossier, DossierEvent, State
from dossiers.transitions import dossier_transition_many

# SweepAction.kind (also the DossierEvent.action of the sweep's non-transition records).
LEASE_EXPIRED = "lease_expired"
CHECKS_REQUEUED = "checks_requeued"
CHECKS_RUN_QUEUED = "checks_run_queued"
COMPLEMENT_EXPIRED = "complement_expired"
DRAFT_ABANDONED = "draft_abandoned"
RENDER_OVERDUE = "render_overdue"
RENDER_REQUEUED = "render_requeued"
CPI_WITHDRAWN = "cpi_withdrawn"
DEADLINE_SET = "deadline_set"

# States whose deadline the sweep enforces. A queued dossier past its service target is not
# stuck: its centre's queue owns it, the rebalance moves it, the supervisor page shows its age.
SWEPT_STATES = (
    State.DRAFT,
    State.SUBMITTED,
    State.IN_REVIEW,
    State.AWAITING_COMPLEMENT,
    State.APPROVED,
)


def _chunk_size() -> int:
    return int(getattr(settings, "SWEEP_CHUNK_SIZE", 500))


def _grace() -> timedelta:
    """How late the sweep may be before a dossier counts as stuck (it runs every minute)."""
    return timedelta(minutes=int(getattr(settings, "SWEEP_GRACE_MINUTES", 5)))


def _check_retries() -> int:
    """How many times the sweep re-enqueues the checks of one dossier before leaving it to a human."""
    return int(getattr(settings, "SWEEP_CHECK_RETRIES", 5))


def sweep_run(*, now: datetime | None = None) -> dict[str, int]:
    """Act once on every open dossier whose clock ran out; return how many each part handled."""
    now = now or timezone.now()
    return {
        "deadlines_set": deadlines_set(now=now),
        "leases_expired": leases_expire(now=now),
        "checks_requeued": checks_requeue(now=now),
        "checks_run_queued": checks_run_missing(now=now),
        "complements_expired": complements_expire(now=now),
        "drafts_abandoned": drafts_abandon(now=now),
        "renders_overdue": renders_flag_overdue(now=now),
        "cpis_withdrawn": cpis_withdraw_missed(now=now),
    }


def stuck_dossiers(*, now: datetime | None = None, cert: Cert | None = None) -> QuerySet[Dossier]:
    """Open dossiers that nothing will move: zero in steady state.

    Precisely, an open dossier is stuck when
    - it is in a state the sweep enforces, its deadline passed more than the grace period ago
      (SWEEP_GRACE_MINUTES, default 5) and the sweep has not acted on it within that period
      (the sweep is not running, failed on it, or gave up after SWEEP_CHECK_RETRIES); or
    - it has no deadline at all; or
    - it is queued with no centre, or in a paused centre (no agent will claim it).
    """
    now = now or timezone.now()
    grace = _grace()
    acted = SweepAction.objects.filter(dossier_id=OuterRef("pk"), created_at__gte=now - grace)
    paused = list(Cert.objects.filter(active=False).values_list("pk", flat=True))
    overdue = Q(state__in=SWEPT_STATES, due_at__lt=now - grace) & ~Exists(acted)
    no_clock = Q(state__in=OPEN_STATES, due_at__isnull=True)
    nobody_claims = Q(state=State.QUEUED) & (Q(cert__isnull=True) | Q(cert_id__in=paused))
    qs = Dossier.objects.filter(overdue | no_clock | nobody_claims)
    if cert is not None:
        qs = qs.filter(cert=cert)
    return qs


# --- the parts of the sweep ----------------------------------------------------------------------


def deadlines_set(*, now: datetime) -> int:
    """Give every open dossier without a deadline its state's full clock, starting now."""
    total = 0
    for state in OPEN_STATES:
        duration = states.clock(state)
        while True:
            with transaction.atomic():
                ids = list(
                    Dossier.objects.select_for_update(skip_locked=True)
                    .filter(state=state, due_at__isnull=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)[: _chunk_size()]
                )
                if not ids:
                    break
                due_at = now + duration
                Dossier.objects.filter(pk__in=ids, state=state, due_at__isnull=True).update(due_at=due_at)
                _record(
                    kind=DEADLINE_SET,
                    dossier_ids=ids,
                    now=now,
                    data={"state": state, "due_at": due_at.isoformat()},
                    reason=_("Échéance manquante : le délai de l'étape court à partir de maintenant."),
                )
            total += len(ids)
    return total


def leases_expire(*, now: datetime) -> int:
    """Return to their centre's queue the dossiers whose agent's lease ran out, at their old place."""
    total = 0
    for ids in _overdue_chunks(state=State.IN_REVIEW, now=now):
        with transaction.atomic():
            rows = list(
                _locked_overdue(ids=ids, state=State.IN_REVIEW, now=now).values_list(
                    "pk", "queued_at", "claimed_by_id"
                )
            )
            # Keep queued_at: the dossier goes back where it was in the queue, not behind new work.
            moved = dossier_transition_many(
                dossier_ids=[pk for pk, _queued_at, _agent in rows],
                to=State.QUEUED,
                actor=None,
                reason=_("Délai d'instruction dépassé : le dossier retourne dans la file du centre."),
                changes={pk: {"queued_at": queued_at} for pk, queued_at, _agent in rows if queued_at},
                data={pk: {"sweep": LEASE_EXPIRED, "agent": agent} for pk, _queued_at, agent in rows},
            )
            agents = {pk: agent for pk, _queued_at, agent in rows}
            SweepAction.objects.bulk_create(
                [
                    SweepAction(kind=LEASE_EXPIRED, dossier_id=pk, data={"agent": agents[pk]}, created_at=now)
                    for pk in moved
                ]
            )
        total += len(moved)
    return total


def checks_requeue(*, now: datetime) -> int:
    """Re-enqueue the checks of dossiers left in `submitted` (their task was lost), within a budget.

    The deadline is pushed one clock forward so that the next sweep waits for the new task; that
    is not a change of state, so it is a conditional UPDATE recorded like every sweep action.
    """
    total = 0
    retries = _check_retries()
    for ids in _overdue_chunks(state=State.SUBMITTED, now=now):
        with transaction.atomic():
            locked = list(
                _locked_overdue(ids=ids, state=State.SUBMITTED, now=now).values_list("pk", flat=True)
            )
            spent = dict(
                SweepAction.objects.filter(kind=CHECKS_REQUEUED, dossier_id__in=locked)
                .values("dossier_id")
                .annotate(n=Count("id"))
                .values_list("dossier_id", "n")
            )
            # Over budget: left as they are, so that stuck_dossiers() shows them to a supervisor.
            retry = [pk for pk in locked if spent.get(pk, 0) < retries]
            if not retry:
                continue
            Dossier.objects.filter(pk__in=retry, state=State.SUBMITTED, due_at__lt=now).update(
                due_at=now + states.clock(State.SUBMITTED)
            )
            _record(
                kind=CHECKS_REQUEUED,
                dossier_ids=retry,
                now=now,
                data_by_id={pk: {"attempt": spent.get(pk, 0) + 1} for pk in retry},
                reason=_("Contrôles automatiques relancés : la tâche précédente n'a pas abouti."),
            )
            transaction.on_commit(lambda ids=tuple(retry): checks.checks_enqueue(dossier_ids=list(ids)))
        total += len(retry)
    return total


def checks_run_missing(*, now: datetime) -> int:
    """Run the checks of queued dossiers that have none: the claim hands out only checked
    dossiers (review.claim), so without this they would wait unseen. A chunk whose rows are all
    locked by someone else is left to the next run."""
    total = 0
    assessed = Assessment.objects.filter(dossier_id=OuterRef("pk"))
    while True:
        ids = list(
            Dossier.objects.filter(state=State.QUEUED)
            .filter(~Exists(assessed))
            .order_by("pk")
            .values_list("pk", flat=True)[: _chunk_size()]
        )
        if not ids:
            break
        with transaction.atomic():
            checked = checks.checks_run_queued(dossier_ids=ids)
            if checked:
                _record(
                    kind=CHECKS_RUN_QUEUED,
                    dossier_ids=checked,
                    now=now,
                    reason=_(
                        "Contrôles automatiques faits avant l'instruction : le dossier était en file "
                        "sans avoir été contrôlé."
                    ),
                )
        total += len(checked)
        if len(checked) < len(ids):
            break
    return total


def complements_expire(*, now: datetime) -> int:
    """Refuse the dossiers whose complement was not given in time; the applicant is told by e-mail."""
    total = 0
    for ids in _overdue_chunks(state=State.AWAITING_COMPLEMENT, now=now):
        with transaction.atomic():
            locked = list(
                _locked_overdue(ids=ids, state=State.AWAITING_COMPLEMENT, now=now).values_list(
                    "pk", flat=True
                )
            )
            moved = complements.complement_expire_many(
                dossier_ids=locked, now=now, audit={"sweep": COMPLEMENT_EXPIRED}
            )
            SweepAction.objects.bulk_create(
                [SweepAction(kind=COMPLEMENT_EXPIRED, dossier_id=pk, created_at=now) for pk in moved]
            )
        total += len(moved)
    return total


def drafts_abandon(*, now: datetime) -> int:
    """Close the drafts left untouched past their clock (six months)."""
    total = 0
    for ids in _overdue_chunks(state=State.DRAFT, now=now):
        with transaction.atomic():
            locked = list(_locked_overdue(ids=ids, state=State.DRAFT, now=now).values_list("pk", flat=True))
            moved = dossier_transition_many(
                dossier_ids=locked,
                to=State.WITHDRAWN,
                actor=None,
                reason=_("Brouillon abandonné : il n'a pas été déposé dans le délai de six mois."),
                data={pk: {"sweep": DRAFT_ABANDONED} for pk in locked},
            )
            SweepAction.objects.bulk_create(
                [SweepAction(kind=DRAFT_ABANDONED, dossier_id=pk, created_at=now) for pk in moved]
            )
        total += len(moved)
    return total


def renders_flag_overdue(*, now: datetime) -> int:
    """Resume the rendering of approved dossiers past their clock and of documents left pending.

    An approved dossier past its clock gets its missing certificate (and CPI) issued and its pending
    documents re-enqueued, once per clock period (the deadline is pushed one clock forward by a
    conditional UPDATE). Any document still pending RENDER_REQUEUE_MINUTES after its issue (a
    receipt, a letter, a CPI: their dossier has no rendering clock) is re-enqueued, at most once per
    such period and within SWEEP_RENDER_RETRIES attempts. Both are recorded.
    """
    total = 0
    for ids in _overdue_chunks(state=State.APPROVED, now=now):
        with transaction.atomic():
            locked = list(
                _locked_overdue(ids=ids, state=State.APPROVED, now=now).values_list("pk", flat=True)
            )
            if not locked:
                continue
            Dossier.objects.filter(pk__in=locked, state=State.APPROVED, due_at__lt=now).update(
                due_at=now + states.clock(State.APPROVED)
            )
            _record(
                kind=RENDER_OVERDUE,
                dossier_ids=locked,
                now=now,
                reason=_(
                    "Le certificat n'a pas encore été produit dans le délai prévu : production relancée."
                ),
            )
            transaction.on_commit(lambda ids=tuple(locked): issuing.renders_resume(dossier_ids=list(ids)))
        total += len(locked)
    return total + renders_requeue(now=now)


def renders_requeue(*, now: datetime) -> int:
    """Re-enqueue documents pending for longer than RENDER_REQUEUE_MINUTES (their task was lost)."""
    period = timedelta(minutes=int(getattr(settings, "RENDER_REQUEUE_MINUTES", 5)))
    retries = int(getattr(settings, "SWEEP_RENDER_RETRIES", 5))
    # Documents re-enqueued within the period: their new task may still be on its way.
    recent = set(
        SweepAction.objects.filter(kind=RENDER_REQUEUED, created_at__gt=now - period).values_list(
            "data__document", flat=True
        )
    )
    total, after = 0, 0
    while True:
        rows = list(
            IssuedDocument.objects.filter(
                rendered_at__isnull=True,
                issued_at__lt=now - period,
                render_attempts__lt=retries,
                pk__gt=after,
            )
            .order_by("pk")
            .values_list("pk", "dossier_id", "render_attempts")[: _chunk_size()]
        )
        if not rows:
            return total
        after = rows[-1][0]
        rows = [row for row in rows if row[0] not in recent]
        if not rows:
            continue
        with transaction.atomic():
            # Like every part of the sweep, leave the dossiers someone holds (an agent deciding):
            # recording against a locked dossier would wait for it. They are taken next time.
            free = set(
                Dossier.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk__in={dossier_id for _pk, dossier_id, _a in rows})
                .values_list("pk", flat=True)
            )
            rows = [row for row in rows if row[1] in free]
            if not rows:
                continue
            SweepAction.objects.bulk_create(
                [
                    SweepAction(
                        kind=RENDER_REQUEUED,
                        dossier_id=dossier_id,
                        data={"document": pk, "attempts": attempts},
                        created_at=now,
                    )
                    for pk, dossier_id, attempts in rows
                ]
            )
            transaction.on_commit(
                lambda ids=tuple(pk for pk, _d, _a in rows): issuing.renders_resume(document_ids=list(ids))
            )
        total += len(rows)


def cpis_withdraw_missed(*, now: datetime) -> int:
    """Withdraw the CPIs still current although their dossier was refused or abandoned (the hook of
    that transition was lost): a CPI must never outlive its dossier on the verification page."""
    with transaction.atomic():
        dossier_ids = issuing.cpis_withdraw()
        SweepAction.objects.bulk_create(
            [SweepAction(kind=CPI_WITHDRAWN, dossier_id=pk, created_at=now) for pk in dossier_ids]
        )
    return len(dossier_ids)


# --- helpers -------------------------------------------------------------------------------------


def _overdue_chunks(*, state: str, now: datetime) -> Iterator[list[int]]:
    """Ids of dossiers in `state` past their deadline, in chunks, each id seen once per run."""
    after = 0
    while True:
        ids = list(
            Dossier.objects.filter(state=state, due_at__lt=now, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[: _chunk_size()]
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def _locked_overdue(*, ids: list[int], state: str, now: datetime) -> QuerySet[Dossier]:
    """Those of `ids` still in `state` and overdue, row-locked; rows someone else holds are skipped."""
    return (
        Dossier.objects.select_for_update(skip_locked=True)
        .filter(pk__in=ids, state=state, due_at__lt=now)
        .order_by("pk")
    )


def _record(
    *,
    kind: str,
    dossier_ids: list[int],
    now: datetime,
    reason: str,
    data: dict | None = None,
    data_by_id: dict[int, dict] | None = None,
) -> None:
    """One SweepAction and one audit event per dossier, for actions that are not transitions."""
    data_by_id = data_by_id or {}
    SweepAction.objects.bulk_create(
        [
            SweepAction(
                kind=kind, dossier_id=pk, data={**(data or {}), **data_by_id.get(pk, {})}, created_at=now
            )
            for pk in dossier_ids
        ]
    )
    DossierEvent.objects.bulk_create(
        [
            DossierEvent(
                dossier_id=pk,
                actor=None,
                actor_role=states.SYSTEM,
                action=kind,
                reason=reason,
                data={**(data or {}), **data_by_id.get(pk, {})},
                created_at=now,
            )
            for pk in dossier_ids
        ]
    )
