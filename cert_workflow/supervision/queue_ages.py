"""Open work by state and the age of the queue, per centre and nationally, without sorting the queue.

The ages are exactly PostgreSQL's percentile_cont over `now - queued_at` (linear interpolation
between the two nearest ranks, as tests/test_supervision.py expects; the maximum is the 1.0
percentile), found through the partial index dossier_queue_age_idx (cert, queued_at, id) WHERE
state = 'queued' instead of a sort of every queued dossier (twice: per centre and nationally):

1. the oldest and newest queued_at of each centre: two index probes each, in one statement;
2. the queue counted per centre and time bucket (HISTOGRAM_BUCKETS equal buckets from the oldest
   to the newest), with each bucket's oldest and newest queued_at: an index-only scan of the
   partial index once vacuumed. Its counts are the queue's by-state counts; the other open states
   are counted apart through dossier_state_due_idx;
3. a rank falls in one bucket: its value is the bucket's oldest or newest entry, or, strictly
   inside a bucket, one bounded range read of the partial index (ORDER BY queued_at OFFSET k
   LIMIT 1), all of them in one statement.

The national ranks merge the centres' buckets, which share their bounds. The statements run apart
(READ COMMITTED): a dossier leaving the queue in between can move a figure by one rank. SQLite
(embedded mode) has no date_bin: there the queue's dates come back and are ranked in Python.
"""

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    DurationField,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from cert_workflow.stats.services import age_expression, grouped_percentiles
from dossiers.models import Cert, Dossier, State

HISTOGRAM_BUCKETS = 512
MIN_BUCKET_WIDTH = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A scope is a set of centres (None: dossiers queued with no centre). NATIONAL is every dossier.
NATIONAL = "national"

Ages = tuple[timedelta | None, ...]


@dataclass
class OpenWork:
    """Open dossiers per (centre, state), and the queue's age percentiles per centre and nationally."""

    counts: dict[tuple[int | None, str], int]
    ages: dict[int | None, Ages]
    national_ages: Ages | None


@dataclass
class _Bucket:
    count: int
    # The oldest and newest queued_at in the bucket, in microseconds since the epoch: thousands
    # of buckets, of which only a few values become datetimes.
    first: int
    last: int
    certs: set[int | None]


def open_work(
    *,
    now: datetime,
    states: Sequence[str],
    cert_ids: list[int] | None,
    fractions: Sequence[float],
    buckets: int = HISTOGRAM_BUCKETS,
) -> OpenWork:
    """Open dossiers in `states` counted per centre and state, and the percentiles `fractions` of
    the queue's age per centre (None: queued with no centre) and, when `cert_ids` is None (every
    centre), nationally; a centre with an empty queue has no entry in `ages`."""
    shown = Dossier.objects.all() if cert_ids is None else Dossier.objects.filter(cert_id__in=cert_ids)
    if connection.vendor != "postgresql":
        return _open_work_python(
            now=now, qs=shown.filter(state__in=states), national=cert_ids is None, fractions=fractions
        )

    origin, newest = _queue_span(cert_ids=cert_ids)
    width = max((newest - origin) / buckets, MIN_BUCKET_WIDTH) if origin else MIN_BUCKET_WIDTH
    bucket = Func(
        Value(width, output_field=DurationField()),
        F("queued_at"),
        Value(origin or now, output_field=DateTimeField()),
        function="date_bin",
        output_field=DateTimeField(),
    )
    # The queue per time bucket (its partial index holds all it needs), the other states apart.
    # Grouped by the bucket's timestamp: converting it to microseconds row by row (numeric
    # arithmetic) cost more than the scan; the groups' values are converted once each.
    queue = (
        shown.filter(state=State.QUEUED)
        .annotate(bucket=bucket)
        .values("cert_id", "bucket")
        .annotate(
            start=_microseconds(Min("bucket")),
            n=Count("id"),
            first=_microseconds(Min("queued_at")),
            last=_microseconds(Max("queued_at")),
        )
        .values_list("cert_id", "start", "n", "first", "last")
        .order_by()
    )
    others = (
        shown.filter(state__in=[state for state in states if state != State.QUEUED])
        .values_list("cert_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = (
        [(cert_id, State.QUEUED, start, n, first, last) for cert_id, start, n, first, last in queue]
        if State.QUEUED in states
        else []
    )
    rows += [(cert_id, state, None, n, None, None) for cert_id, state, n in others]
    counts: dict[tuple[int | None, str], int] = defaultdict(int)
    histograms: dict[object, dict[int, _Bucket]] = defaultdict(dict)
    for cert_id, state, start, n, first, last in rows:
        counts[(cert_id, state)] += n
        if state != State.QUEUED or start is None:
            continue
        histograms[cert_id][start] = _Bucket(count=n, first=first, last=last, certs={cert_id})
        if cert_ids is None:
            merged = histograms[NATIONAL].get(start)
            if merged is None:
                histograms[NATIONAL][start] = _Bucket(count=n, first=first, last=last, certs={cert_id})
            else:
                merged.count += n
                merged.first, merged.last = min(merged.first, first), max(merged.last, last)
                merged.certs.add(cert_id)

    ages = _percentiles(now=now, histograms=histograms, fractions=fractions)
    national = ages.pop(NATIONAL, tuple(None for _ in fractions)) if cert_ids is None else None
    return OpenWork(counts=dict(counts), ages=ages, national_ages=national)


@contextmanager
def planned_for_short_reads() -> Iterator[None]:
    """A transaction whose statements PostgreSQL plans for a page of short reads.

    JIT compilation costs tens of milliseconds per statement and pays off only on long queries;
    the primary-key reads per audit event and the bucket reads inflate the estimates past
    jit_above_cost. And the planner cannot know how few buckets date_bin makes (it assumes a group
    per ten rows), so it prices the parallel partial aggregation of the open work above a serial
    one; there are at most HISTOGRAM_BUCKETS per centre. The audit's aggregate groups tens of
    thousands of events: with the default work_mem its sort spills to disk. The page reads data
    that is in memory, where a random read costs about what a sequential one does: priced at the
    default four times more, the audit's dossiers were found by a hash join over a scan of every
    dossier (~100 ms at 300,000 open) instead of one primary-key probe per event (~60 ms).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL parallel_tuple_cost = 0.01")
                cursor.execute("SET LOCAL work_mem = '32MB'")
                cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield


def _microseconds(expression: Any) -> Func:
    """A timestamp as whole microseconds since the epoch: exact, and much faster to read back
    than a timestamp when there are thousands of them."""
    return Func(
        expression,
        template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
        output_field=BigIntegerField(),
    )


def _instant(microseconds: int) -> datetime:
    return EPOCH + timedelta(microseconds=microseconds)


def _queued() -> QuerySet[Dossier]:
    return Dossier.objects.filter(state=State.QUEUED, queued_at__isnull=False)


def _scope(certs: set[int | None]) -> Q:
    """The dossiers of these centres (None: no centre)."""
    ids = sorted(c for c in certs if c is not None)
    parts = ([Q(cert_id=ids[0]) if len(ids) == 1 else Q(cert_id__in=ids)] if ids else []) + (
        [Q(cert__isnull=True)] if None in certs else []
    )
    condition = parts[0]
    for part in parts[1:]:
        condition |= part
    return condition


def _queue_span(*, cert_ids: list[int] | None) -> tuple[datetime | None, datetime | None]:
    """The oldest and newest queued_at of the shown queues: two index probes per centre, in one
    statement (built from the centres rather than as a union of probes: compiling twenty
    querysets cost more than running them)."""
    queue = _queued().filter(cert_id=OuterRef("pk"))
    certs = Cert.objects.all() if cert_ids is None else Cert.objects.filter(pk__in=cert_ids)
    spans = certs.annotate(
        oldest=Subquery(queue.order_by("queued_at").values("queued_at")[:1]),
        newest=Subquery(queue.order_by("-queued_at").values("queued_at")[:1]),
    ).values_list("oldest", "newest")
    if cert_ids is None:
        # Queued with no centre (a stuck dossier, normally none): two probes of the same index.
        nobody = _queued().filter(cert__isnull=True)
        spans = spans.order_by().union(
            *(
                nobody.order_by(order).annotate(edge=F("queued_at")).values_list("queued_at", "edge")[:1]
                for order in ("queued_at", "-queued_at")
            ),
            all=True,
        )
    found = [value for pair in spans for value in pair if value is not None]
    return min(found, default=None), max(found, default=None)


def _percentiles(
    *, now: datetime, histograms: dict[object, dict[int, _Bucket]], fractions: Sequence[float]
) -> dict[object, Ages]:
    """percentile_cont of the age for each histogram, reading inside a bucket only when needed."""
    # Ranks are counted from the oldest dossier (ascending queued_at); the youngest age is the last.
    wanted: dict[tuple[object, int], datetime | None] = {}
    plans: dict[object, list[tuple[int, int, float]]] = {}
    ordered = {key: sorted(buckets.items()) for key, buckets in histograms.items()}
    for key, buckets in ordered.items():
        n = sum(bucket.count for _start, bucket in buckets)
        plans[key] = []
        for fraction in fractions:
            position = fraction * (n - 1)
            low, high = math.floor(position), math.ceil(position)
            plans[key].append((n - 1 - low, n - 1 - high, position - low))
            wanted[(key, n - 1 - low)] = wanted[(key, n - 1 - high)] = None

    lookups = []
    for key, rank in list(wanted):
        bucket, offset = _locate(ordered[key], rank)
        if offset == 0 or bucket.first == bucket.last:
            wanted[(key, rank)] = _instant(bucket.first)
        elif offset == bucket.count - 1:
            wanted[(key, rank)] = _instant(bucket.last)
        else:
            lookups.append(((key, rank), bucket, offset))
    for (key, rank), value in _read_inside_buckets(lookups).items():
        wanted[(key, rank)] = value

    ages: dict[object, Ages] = {}
    for key, plan in plans.items():
        values = []
        for young_rank, old_rank, weight in plan:
            young, old = now - wanted[(key, young_rank)], now - wanted[(key, old_rank)]
            values.append(young + (old - young) * weight)
        ages[key] = tuple(values)
    return ages


def _locate(buckets: list[tuple[int, _Bucket]], rank: int) -> tuple[_Bucket, int]:
    """The bucket holding the `rank`-th oldest dossier, and its offset inside the bucket."""
    before = 0
    for _start, bucket in buckets:
        if rank < before + bucket.count:
            return bucket, rank - before
        before += bucket.count
    last = buckets[-1][1]
    return last, last.count - 1


def _read_inside_buckets(lookups: list[tuple[object, _Bucket, int]]) -> dict[object, datetime]:
    """The queued_at at `offset` inside each bucket, oldest first: one bounded range read of the
    queue's partial index each, in one statement. Written as SQL: there are up to a few dozen
    reads, and building and compiling as many querysets cost several times running them."""
    if not lookups:
        return {}
    reads, params = [], []
    for i, (_key, bucket, offset) in enumerate(lookups):
        ids = sorted(c for c in bucket.certs if c is not None)
        scope = (["cert_id = %s" if len(ids) == 1 else "cert_id = ANY(%s)"] if ids else []) + (
            ["cert_id IS NULL"] if None in bucket.certs else []
        )
        reads.append(
            f"(SELECT %s AS lookup, queued_at FROM {Dossier._meta.db_table}"  # noqa: S608 - fixed fragments
            f" WHERE state = %s AND queued_at IS NOT NULL AND ({' OR '.join(scope)})"
            " AND queued_at >= %s AND queued_at <= %s ORDER BY queued_at OFFSET %s LIMIT 1)"
        )
        params += [i, State.QUEUED.value, *([ids[0] if len(ids) == 1 else ids] if ids else [])]
        params += [_instant(bucket.first), _instant(bucket.last), offset]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(reads), params)
        found = dict(cursor.fetchall())
    # A dossier leaving the queue between the two statements can empty a read: take the bound.
    return {key: found.get(i) or _instant(bucket.last) for i, (key, bucket, _offset) in enumerate(lookups)}


def _open_work_python(
    *, now: datetime, qs: QuerySet[Dossier], national: bool, fractions: Sequence[float]
) -> OpenWork:
    counts = {
        (cert_id, state): n
        for cert_id, state, n in qs.values_list("cert_id", "state").annotate(n=Count("id")).order_by()
    }
    per_cert, overall = grouped_percentiles(
        qs=qs.filter(state=State.QUEUED, queued_at__isnull=False),
        group="cert_id",
        expression=age_expression(now=now, field="queued_at"),
        fractions=fractions,
    )
    return OpenWork(
        counts=counts,
        ages={key: tuple(values) for key, values in per_cert.items()},
        national_ages=tuple(overall) if national else None,
    )
