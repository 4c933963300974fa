"""Appending many rows at once: COPY on PostgreSQL, bulk_create elsewhere.

Batch work (routing 2,000 dossiers, their audit events and routing decisions) spends most of its
time building INSERT statements when it goes through bulk_create: every value is adapted and
quoted on the client. COPY streams the rows in PostgreSQL's text format instead, in the caller's
transaction. Only for append-only rows that need nothing back (no ids, no signals).
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL, Value


def rows_append(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (values in the order of `fields`, attnames like "dossier_id") into `model`'s
    table; the count. Fields left out must have a database default or be the generated id."""
    rows = list(rows)
    if not rows:
        return 0
    concrete = {field.attname: field for field in model._meta.concrete_fields}
    json_fields = {name for name in fields if isinstance(concrete[name], models.JSONField)}
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            (model(**dict(zip(fields, row, strict=True))) for row in rows), batch_size=1000
        )
        return len(rows)
    positions = [i for i, name in enumerate(fields) if name in json_fields]
    qn = connection.ops.quote_name
    statement = "COPY {} ({}) FROM STDIN".format(
        qn(model._meta.db_table), ", ".join(qn(concrete[name].column) for name in fields)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if positions:
                row = list(row)
                for i in positions:
                    row[i] = json.dumps(row[i], cls=concrete[fields[i]].encoder)
            copy.write_row(row)
    return len(rows)


@contextmanager
def btree_lookups() -> Iterator[None]:
    """Within the caller's transaction, equality lookups (`vin IN (...)`, `plate IN (...)`) that
    go through the column's b-tree even when the planner's statistics lag behind the table.

    vin and plate also carry a trigram GIN index (search). With statistics older than a batch's
    inserts, PostgreSQL may serve `IN (500 values)` from it, through a bitmap scan that reads the
    index's whole pending list once per value (seconds per chunk, growing with the table). GIN is
    only ever read through bitmap scans: turning them off for the statement leaves the b-tree."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_bitmapscan'), set_config('enable_bitmapscan', 'off', true)"
        )
        previous = cursor.fetchone()[0]
    # Given back once the lookups are done; not after an error, which aborted the transaction (the
    # setting goes with it) and must reach the caller as it is (a deadlock is retried).
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_bitmapscan', %s, true)", [previous])


def pk_in(ids: Sequence[int]) -> Q:
    """`pk IN ids` with the ids as one array parameter on PostgreSQL: a statement with 2,000
    placeholders costs more to build and parse on the client than to run."""
    if connection.vendor != "postgresql":
        return Q(pk__in=ids)
    return Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (list(ids),)))


def objects_insert(objects: Sequence[models.Model]) -> list[int]:
    """Insert new instances of one model, every concrete field as set on the instance, and set
    their ids; the ids, in order.

    On PostgreSQL the ids are drawn from the table's sequence in one statement and the rows streamed
    with COPY (rows_append): no INSERT to build per row and no RETURNING to read, so thousands of
    rows cost a few milliseconds. Elsewhere bulk_create, which sets the ids. No signals are sent."""
    objects = list(objects)
    if not objects:
        return []
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return [obj.pk for obj in objects]
    ids = _ids_reserve(model, len(objects))
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
    fields = [f.attname for f in model._meta.concrete_fields]
    rows_append(model, fields, ([getattr(obj, name) for name in fields] for obj in objects))
    return ids


def _ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """`count` ids drawn from the table's sequence in one statement (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            # The sequence looked up once (an init plan), not once per id: 5x faster for 500 ids.
            "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


class _Call:
    """A callable default in a values_insert plan: called for each row that leaves its field out."""

    __slots__ = ("default",)

    def __init__(self, default):
        self.default = default

    def __call__(self) -> Any:
        return self.default()


def values_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert new rows of `model` given as {attname: value} ("vehicle_id", not "vehicle"); the
    fields left out take the model's defaults as a new instance would (a callable default is called
    for each row, a database default's value is written); the ids, in order.

    objects_insert without the instances: building 500 Dossier instances (descriptors, defaults,
    signals) costs more than their COPY. On PostgreSQL ids from the sequence and COPY; elsewhere
    bulk_create, which sets the ids. No signals are sent."""
    rows = list(rows)
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**row) for row in rows]
        model.objects.bulk_create(objects, batch_size=1000)
        return [obj.pk for obj in objects]
    pk = model._meta.pk
    fields = [f for f in model._meta.concrete_fields if f is not pk]
    names = {f.attname for f in fields}
    for row in rows:
        unknown = row.keys() - names
        if unknown:
            raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
    constant: dict[str, Any] = {}
    for f in fields:
        if f.has_default():
            if not callable(f.default):  # a callable one is called for each row that leaves it out
                constant[f.attname] = f.get_default()
        elif f.has_db_default():
            default = f.db_default
            if isinstance(default, Value):
                default = default.value
            elif hasattr(default, "resolve_expression"):
                raise ValueError(f"{model.__name__}.{f.attname}: only a constant database default is written")
            constant[f.attname] = default
        else:
            constant[f.attname] = f.get_default()
    ids = _ids_reserve(model, len(rows))
    # Rows of one call share their keys (a chunk's vehicles, its dossiers): each field's source is
    # decided once per set of keys, not once per row and field: (from the row, key) or (constant,
    # value), or a callable default called for each row.
    plans: dict[frozenset, tuple[list[tuple[bool, Any]], bool]] = {}

    def plan(keys: frozenset) -> tuple[list[tuple[bool, Any]], bool]:
        steps = []
        for f in fields:
            if f.attname in keys:
                steps.append((True, f.attname))
            else:
                steps.append((False, constant[f.attname] if f.attname in constant else _Call(f.get_default)))
        return steps, any(isinstance(value, _Call) for _from_row, value in steps)

    def values() -> Iterable[list[Any]]:
        for row_id, row in zip(ids, rows, strict=True):
            keys = frozenset(row)
            steps, calls = plans.get(keys) or plans.setdefault(keys, plan(keys))
            line = [row_id, *[row[value] if from_row else value for from_row, value in steps]]
            yield [value() if value.__class__ is _Call else value for value in line] if calls else line

    rows_append(model, [pk.attname, *(f.attname for f in fields)], values())
    return ids
