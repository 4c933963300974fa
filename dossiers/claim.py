"""The claim: an agent's next dossier, queued -> in_review, on the hottest path of the portal.

On PostgreSQL one prepared statement resumes or claims and writes the audit row; elsewhere the ORM
does the same through dossiers.transitions.dossier_transition.
"""

import functools
import json
from contextlib import nullcontext

import psycopg
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from dossiers import states
from dossiers.models import Dossier, DossierEvent, State
from dossiers.transitions import EVENT_COLUMNS, dossier_transition, on_change_record, on_enter_schedule
from portal.models import User


def dossier_claim_next(
    *, agent: User, order: tuple[str, ...], ready: type[models.Model] | None = None
) -> Dossier | None:
    """The agent's dossier in review (lease renewed), else the next queued dossier of their centre
    in `order`, now in review under their name with its audit event; None if none waits.

    `ready`, a model with a `dossier` one-to-one field: only a queued dossier that has a row there
    is handed out (the workflow passes its checks' assessment, so that no agent gets a dossier
    whose checks never ran). One probe of that table's unique index per candidate row.

    The transition `dossier_transition` would make (queued -> in_review, table check, audit event,
    follow-ups), written for the hottest path of the portal: on PostgreSQL one statement, so one
    round trip, resumes or claims and writes the event. Concurrent claimers skip each other's
    locked rows. An agent reviews one dossier at a time (constraint dossier_one_review_per_agent):
    when two claims of the same agent race (a double click), the second fails on the constraint
    once the first commits, and its retry resumes the first one's dossier.
    """
    states.check(State.QUEUED, State.IN_REVIEW, role=states.role_of(agent))
    if agent.cert_id is None:
        return None
    if connection.vendor != "postgresql":
        return _claim_orm(agent=agent, order=order, ready=ready)
    for attempt in range(3):
        try:
            # Alone, the statement is its own transaction; inside the caller's, a savepoint keeps
            # that transaction usable for the retry.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                dossier = _claim_statement(agent=agent, order=order, ready=ready)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if dossier is not None and not dossier.resumed:
        if dossier.organisation_id is not None:
            # The change hooks (a dealer's webhooks) right after the statement, in a transaction of
            # their own: wrapping every claim in one would add two round trips to the hottest path
            # for the few dossiers a dealer filed. A crash between the two loses that one event.
            with transaction.atomic():
                on_change_record(
                    changes=[(dossier.pk, dossier.organisation_id, State.QUEUED, State.IN_REVIEW)],
                    now=dossier.review_started_at or timezone.now(),
                )
        on_enter_schedule(state=State.IN_REVIEW, dossier_ids=[dossier.pk])
    return dossier


@functools.cache
def _claim_sql(order: tuple[str, ...], ready: type[models.Model] | None = None) -> str:
    """The resume-or-claim statement (PostgreSQL), built once per claim order and readiness table
    from the models' tables and columns."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in Dossier._meta.concrete_fields)
    # The audit row's columns in EVENT_COLUMNS' order, as the set-based transitions write them.
    event_columns = ", ".join(qn(DossierEvent._meta.get_field(name).column) for name in EVENT_COLUMNS)
    # Identifiers from the models' metadata and the two states are interpolated; the other values
    # are parameters. The states must be literals: with `state = $1` a generic plan cannot use the
    # partial queue index (its predicate is `state = 'queued'`), so PostgreSQL would plan the
    # statement afresh on every claim, which costs more than running it.
    # claimed_by is set in review only (constraint dossier_claimed_only_in_review), and its
    # unique index answers "held" whatever the statistics say about the states.
    queued, in_review = _sql_literal(State.QUEUED), _sql_literal(State.IN_REVIEW)
    sql = f"""
        WITH held AS (
            UPDATE {qn(Dossier._meta.db_table)} SET due_at = %(due)s, updated_at = %(now)s
            WHERE claimed_by_id = %(agent)s
            RETURNING {columns}
        ), next AS (
            SELECT id FROM {qn(Dossier._meta.db_table)}
            WHERE cert_id = %(cert)s AND state = {queued} AND NOT EXISTS (SELECT FROM held){{ready}}
            ORDER BY {{order}} LIMIT 1 FOR UPDATE OF {qn(Dossier._meta.db_table)} SKIP LOCKED
        ), claimed AS (
            UPDATE {qn(Dossier._meta.db_table)} AS d
            SET {{claim_set}}, claimed_by_id = %(agent)s, updated_at = %(now)s
            FROM next WHERE d.id = next.id
            RETURNING {", ".join(f"d.{qn(f.column)}" for f in Dossier._meta.concrete_fields)}
        ), event AS (
            INSERT INTO {qn(DossierEvent._meta.db_table)} ({event_columns})
            SELECT id, %(agent)s, %(role)s, 'transition', {queued}, {in_review}, '',
                   %(data)s::jsonb, %(now)s
            FROM claimed
        )
        SELECT {columns}, false AS resumed FROM claimed
        UNION ALL SELECT {columns}, true FROM held
    """  # noqa: S608
    return (
        sql.replace("{order}", _order_sql(order))
        .replace("{claim_set}", _claim_set_sql())
        .replace("{ready}", _ready_sql(ready))
    )


def _ready_sql(ready: type[models.Model] | None) -> str:
    """The condition that the candidate has a row in `ready` (an index probe), or nothing."""
    if ready is None:
        return ""
    qn = connection.ops.quote_name
    column = qn(ready._meta.get_field("dossier").column)
    table = qn(Dossier._meta.db_table)
    return (
        f"\n              AND EXISTS (SELECT FROM {qn(ready._meta.db_table)} r WHERE r.{column} = {table}.id)"
    )


def _claim_set_sql() -> str:
    """The SET list of queued -> in_review from states.entry, the definition the ORM paths use:
    the state as a literal, the stamped fields at %(now)s, the clock at %(due)s."""
    entry = states.entry(State.QUEUED, State.IN_REVIEW)
    assert entry.due_in is not None and not entry.releases_claim
    qn = connection.ops.quote_name
    columns = {name: qn(Dossier._meta.get_field(name).column) for name in ("state", "due_at", *entry.stamped)}
    return ", ".join(
        [
            f"{columns['state']} = {_sql_literal(entry.state)}",
            *(f"{columns[name]} = %(now)s" for name in entry.stamped),
            f"{columns['due_at']} = %(due)s",
        ]
    )


def _sql_literal(value: str) -> str:
    """A string constant of the code (a state, never user input) as an SQL literal."""
    if not value.replace("_", "").isalnum() or not value.isascii():
        raise ValueError(f"not a plain identifier: {value!r}")
    return f"'{value}'"


def _order_sql(order: tuple[str, ...]) -> str:
    """An ORDER BY clause from ORM-style names ("-priority", "queued_at", "pk")."""
    parts = []
    for name in order:
        field = Dossier._meta.pk if name.lstrip("-") == "pk" else Dossier._meta.get_field(name.lstrip("-"))
        parts.append(connection.ops.quote_name(field.column) + (" DESC" if name.startswith("-") else ""))
    return ", ".join(parts)


def _claim_statement(
    *, agent: User, order: tuple[str, ...], ready: type[models.Model] | None
) -> Dossier | None:
    """Run the claim statement with server-side binding, so that the connection prepares it
    (settings: DATABASE_PREPARED_STATEMENTS). After five runs PostgreSQL keeps its generic plan
    instead of planning the statement (about half a millisecond) on every claim. Django's own
    cursors bind on the client and are never prepared."""
    now = timezone.now()
    params = {
        "agent": agent.pk,
        "cert": agent.cert_id,
        "role": states.role_of(agent),
        "now": now,
        "due": now + states.entry(State.QUEUED, State.IN_REVIEW).due_in,
        "data": json.dumps({"changes": {"claimed_by": agent.pk}}),
    }
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_claim_sql(order, ready), params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = Dossier._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=False)
    ]
    dossier = Dossier.from_db(connection.alias, [field.attname for field in fields], values)
    dossier.resumed = row[-1]
    return dossier


def _claim_orm(*, agent: User, order: tuple[str, ...], ready: type[models.Model] | None) -> Dossier | None:
    """The same resume-or-claim through the ORM, for databases without data-modifying CTEs
    (SQLite, the embedded mode, where writers take turns anyway)."""
    with transaction.atomic():
        return _claim_orm_locked(agent=agent, order=order, ready=ready)


def _claim_orm_locked(
    *, agent: User, order: tuple[str, ...], ready: type[models.Model] | None
) -> Dossier | None:
    # The agent's row is the lock against a double click (the constraint would refuse the second).
    User.objects.select_for_update().filter(pk=agent.pk).values_list("pk").first()
    held_id = Dossier.objects.filter(claimed_by=agent).values_list("pk", flat=True).first()
    if held_id is not None:
        now = timezone.now()
        Dossier.objects.filter(pk=held_id).update(due_at=now + states.clock(State.IN_REVIEW), updated_at=now)
        dossier = Dossier.objects.get(pk=held_id)
        dossier.resumed = True
        return dossier
    candidates = Dossier.objects.filter(cert_id=agent.cert_id, state=State.QUEUED)
    if ready is not None:
        candidates = candidates.filter(Exists(ready.objects.filter(dossier_id=OuterRef("pk"))))
    next_id = (
        candidates.order_by(*order).select_for_update(skip_locked=True).values_list("pk", flat=True).first()
    )
    if next_id is None:
        return None
    dossier = dossier_transition(
        dossier=next_id, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    dossier.resumed = False
    return dossier
