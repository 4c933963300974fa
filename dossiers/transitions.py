"""Every change of a dossier's state, with its audit row and the follow-ups it starts.

The state field is written here, by dossier_transition and its set-based twin
dossier_transition_many, and by the claim statement of dossiers.claim; all three take what a change
writes from states.entry. The one other writer is batches.intake, which creates a batch's dossiers
already submitted with states.entry(draft, submitted) and the audit rows of both steps.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.utils import timezone

from dossiers import states
from dossiers.bulk import pk_in, rows_append
from dossiers.models import Dossier, DossierEvent
from portal.models import Role, User

# Follow-up work started when a dossier enters a state (checks on submit, rendering on approval...).
# Registered by the apps that do that work (cert_workflow registers in its AppConfig.ready), so that
# dossiers never imports cert_workflow. Each hook gets, after commit, the list of dossier ids that
# entered the state in one transaction: one id for a single transition, a whole chunk for a batch,
# so that batch work stays set-based.
_ON_ENTER: dict[str, list[Callable[[list[int]], Any]]] = defaultdict(list)


def register_on_enter(state: str, hook: Callable[[list[int]], Any]) -> None:
    """Call hook(dossier_ids) after the commit of every transition into `state`."""
    if hook not in _ON_ENTER[state]:
        _ON_ENTER[state].append(hook)


def on_enter_schedule(*, state: str, dossier_ids: list[int]) -> None:
    """Call the hooks of `state` with `dossier_ids` after the commit of the current transaction."""
    for hook in _ON_ENTER.get(state, []):
        transaction.on_commit(lambda hook=hook, ids=list(dossier_ids): hook(ids))


# Work written in the very transaction of a change (webhook deliveries: webhooks registers in its
# AppConfig.ready), so that a rollback leaves none of it. Each hook gets the changes of one
# transaction as (dossier_id, organisation_id, from_state, to_state) rows and their time; it must
# stay cheap when no row concerns it (the claim and routing paths run through here).
Change = tuple[int, int | None, str, str]
_ON_CHANGE: list[Callable[[list[Change], datetime], Any]] = []


def register_on_change(hook: Callable[[list[Change], datetime], Any]) -> None:
    """Call hook(changes, now) inside the transaction of every state change."""
    if hook not in _ON_CHANGE:
        _ON_CHANGE.append(hook)


def on_change_record(*, changes: list[Change], now: datetime) -> None:
    """Run the change hooks on `changes`, in the current transaction."""
    for hook in _ON_CHANGE:
        hook(changes, now)


def event_record(
    *,
    dossier: Dossier,
    actor: User | None,
    action: str,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict | None = None,
) -> DossierEvent:
    """Append one audit row for `dossier` (never updated, never deleted)."""
    return DossierEvent.objects.create(
        dossier=dossier,
        actor=actor,
        actor_role=states.role_of(actor),
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )


def actor_may_act_on(*, actor: User | None, dossier: Dossier) -> bool:
    """Whether `actor` acts within their scope on `dossier` (own, organisation's or centre's)."""
    if actor is None or actor.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if actor.role == Role.CITIZEN:
        return dossier.applicant_id == actor.id
    if actor.role == Role.DEALER:
        return dossier.organisation_id is not None and dossier.organisation_id == actor.organisation_id
    if actor.role == Role.AGENT:
        return dossier.cert_id is not None and dossier.cert_id == actor.cert_id
    return False


def dossier_transition(
    *,
    dossier: Dossier | int,
    to: str,
    actor: User | None,
    reason: str = "",
    data: dict | None = None,
    changes: dict[str, Any] | None = None,
) -> Dossier:
    """Move a dossier to `to` under a row lock, with its audit event; follow-ups run after commit.

    The state is re-read under the lock, so of two concurrent transitions from the same state only
    the first succeeds; the second raises TransitionNotAllowed. `changes` are other fields written in
    the same update (the CERT when queuing, the agent when claiming...).
    """
    dossier_id = dossier if isinstance(dossier, int) else dossier.pk
    role = states.role_of(actor)
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier_id)
        from_state = locked.state
        states.check(from_state, to, role=role)
        if not actor_may_act_on(actor=actor, dossier=locked):
            raise states.TransitionNotAllowed(from_state, to, role)

        now = timezone.now()
        event_data = _where_done(data, role=role, cert_id=locked.cert_id)
        fields = states.entry(from_state, to).values(now=now)
        fields.update(changes or {})
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])

        if changes:
            event_data["changes"] = {k: getattr(v, "pk", v) for k, v in changes.items() if k != "due_at"}
        event_record(
            dossier=locked,
            actor=actor,
            action="transition",
            from_state=from_state,
            to_state=to,
            reason=reason,
            data=_jsonable(event_data),
        )
        on_change_record(changes=[(locked.pk, locked.organisation_id, from_state, to)], now=now)
        on_enter_schedule(state=to, dossier_ids=[dossier_id])

    if not isinstance(dossier, int):
        dossier.refresh_from_db()
        return dossier
    return locked


# The columns of an audit row written in bulk (dossiers.bulk.rows_append).
EVENT_COLUMNS = (
    "dossier_id",
    "actor_id",
    "actor_role",
    "action",
    "from_state",
    "to_state",
    "reason",
    "data",
    "created_at",
)


def dossier_transition_many(
    *,
    dossier_ids: list[int],
    to: str,
    actor: User | None,
    reason: str = "",
    changes: dict[int, dict[str, Any]] | None = None,
    data: dict[int, dict] | None = None,
    skip_locked: bool = False,
) -> list[int]:
    """Move many dossiers to `to` in a few queries; return the ids moved.

    The set-based twin of dossier_transition for batch work (routing, rebalancing, sweeps): the
    same table check, the same audit event per dossier, the same follow-ups. Dossiers that may not
    make the move (already moved by someone else, or locked when `skip_locked`) are left as they are
    and not returned, so a rerun is harmless.
    """
    role, actor_id = states.role_of(actor), actor.pk if actor is not None else None
    changes, data = changes or {}, data or {}
    moved: list[int] = []
    with transaction.atomic():
        columns = ("pk", "state", "applicant_id", "organisation_id", "cert_id")
        rows = [
            SimpleNamespace(**dict(zip(columns, values, strict=True)))
            for values in Dossier.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk_in(dossier_ids))
            .order_by("pk")
            .values_list(*columns)
        ]
        now = timezone.now()
        entries: dict[str, dict[str, Any]] = {}  # by the state a row leaves
        # Rows that get the same values are written by one UPDATE (one per centre when routing),
        # much cheaper than a per-row CASE.
        groups: dict[tuple, tuple[dict[str, Any], list[int]]] = {}
        events = []
        moves: list[Change] = []
        for row in rows:
            if role not in states.TRANSITIONS.get(row.state, {}).get(to, frozenset()):
                continue
            if not actor_may_act_on(actor=actor, dossier=row):
                continue
            if row.state not in entries:
                entries[row.state] = {**states.entry(row.state, to).values(now=now), "updated_at": now}
            values = dict(entries[row.state])
            extra = changes.get(row.pk, {})
            values.update(extra)
            key = tuple(sorted((k, getattr(v, "pk", v)) for k, v in values.items()))
            groups.setdefault(key, (values, []))[1].append(row.pk)
            event_data = _where_done(data.get(row.pk), role=role, cert_id=row.cert_id)
            if extra:
                event_data["changes"] = {k: getattr(v, "pk", v) for k, v in extra.items() if k != "due_at"}
            events.append(
                (row.pk, actor_id, role, "transition", row.state, to, reason, _jsonable(event_data), now)
            )
            moved.append(row.pk)
            moves.append((row.pk, row.organisation_id, row.state, to))
        for values, ids in groups.values():
            Dossier.objects.filter(pk_in(ids)).update(**values)
        if moved:
            rows_append(DossierEvent, EVENT_COLUMNS, events)
            on_change_record(changes=moves, now=now)
            on_enter_schedule(state=to, dossier_ids=moved)
    return moved


def _where_done(data: dict | None, *, role: str, cert_id: int | None) -> dict:
    """The event's data, with the centre the dossier is in before the change when staff act: the
    centre where the work was done, which supervision counts decisions in even after the dossier
    moves (cert_workflow.stats.decision_days.decision_centre)."""
    event_data = dict(data or {})
    if role in states.REVIEW_ROLES and cert_id is not None:
        event_data.setdefault("cert", cert_id)
    return event_data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value
