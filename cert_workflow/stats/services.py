"""Public figures: computed into StatsSnapshot by a periodic task (and, where no beat runs, by
the first reader once they are older than STALE_AFTER), read by /statistiques/ and the API.

Only aggregates leave this module: counts, durations and rates per centre and nationally, never a
dossier, a name, a VIN or a plate.
"""

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import Assessment, StatsSnapshot
from cert_workflow.stats.decision_days import day_start, decision_days_record
from dossiers.models import Cert, Dossier, State

# Dossiers received by the administration and waiting for its decision.
WAITING_STATES = (State.SUBMITTED, State.QUEUED, State.IN_REVIEW, State.AWAITING_COMPLEMENT)
DECIDED_STATES = (State.APPROVED, State.ISSUED, State.REJECTED)


def waiting(by_state: dict[str, int]) -> int:
    """Dossiers waiting for the administration's decision, from counts per state: the one
    definition of "en attente de décision" that /statistiques/ and the supervision pages show
    (submitted, queued, in review, awaiting a complement; not the queue alone)."""
    return sum(by_state.get(state, 0) for state in WAITING_STATES)


PERIOD_DAYS = 30
WEEKS = 8
SNAPSHOTS_KEPT = 10
# The public figures are computed again once older than this (the beat's period).
STALE_AFTER = timedelta(minutes=5)
REFRESH_LOCK = "stats-refresh-on-read"
REFRESH_LOCK_SECONDS = 300


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` percentile of `values` with linear interpolation (as percentile_cont does)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def grouped_percentiles(
    *, qs: QuerySet, group: str, expression: Any, fractions: Sequence[float]
) -> tuple[dict[Any, list[timedelta | None]], list[timedelta | None]]:
    """Percentiles of a duration `expression` over `qs`, per value of `group` and over all rows.

    Computed by the database on PostgreSQL; SQLite (embedded mode) has no percentile_cont, so the
    durations come back and are ranked here.
    """
    if connection.vendor == "postgresql":
        names = {f"p{i}": PercentileCont(expression, fraction=f) for i, f in enumerate(fractions)}
        per_group = {
            row[group]: [row[f"p{i}"] for i in range(len(fractions))]
            for row in qs.values(group).annotate(**names).order_by()
        }
        overall = qs.aggregate(**names)
        return per_group, [overall[f"p{i}"] for i in range(len(fractions))]
    seconds: dict[Any, list[float]] = defaultdict(list)
    everything: list[float] = []
    for key, value in qs.annotate(duration_value=expression).values_list(group, "duration_value"):
        if value is None:
            continue
        seconds[key].append(value.total_seconds())
        everything.append(value.total_seconds())

    def as_durations(values: list[float]) -> list[timedelta | None]:
        return [_seconds(percentile(values, f)) for f in fractions]

    return {key: as_durations(values) for key, values in seconds.items()}, as_durations(everything)


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def days(value: timedelta | None) -> float | None:
    """A duration in days, to the hundredth (None stays None)."""
    return None if value is None else round(value.total_seconds() / 86400, 2)


def age_expression(*, now: datetime, field: str) -> ExpressionWrapper:
    """How long ago `field` was, as a duration the database computes."""
    return ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - F(field), output_field=DurationField()
    )


def week_starts(*, now: datetime, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks (local time), the current week last."""
    this_monday = timezone.localtime(now).date() - timedelta(days=timezone.localtime(now).weekday())
    return [this_monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _weekly(*, qs: QuerySet, field: str, weeks: list[date]) -> tuple[dict[Any, list[int]], list[int]]:
    """Counts of `qs` rows per week of `field`, per centre and nationally."""
    start = day_start(weeks[0])
    per_cert: dict[Any, list[int]] = defaultdict(lambda: [0] * len(weeks))
    national = [0] * len(weeks)
    rows = (
        qs.filter(**{f"{field}__gte": start})
        .annotate(week=TruncWeek(field))
        .values_list("cert_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    for cert_id, week, n in rows:
        week_day = timezone.localtime(week).date() if isinstance(week, datetime) else week
        index = (week_day - weeks[0]).days // 7
        if 0 <= index < len(weeks):
            per_cert[cert_id][index] += n
            national[index] += n
    return per_cert, national


def _straight_through(
    *, since: datetime, now: datetime, certs: list[Cert]
) -> tuple[dict[int, float | None], float | None]:
    """Share of assessed dossiers approved without a human, per home centre (by the holder's
    department; straight-through dossiers never reach a centre) and nationally."""
    home = {}
    for cert in certs:
        for department in cert.departments or []:
            home.setdefault(str(department), cert.pk)
    straight: dict[int, int] = defaultdict(int)
    assessed: dict[int, int] = defaultdict(int)
    rows = (
        Assessment.objects.filter(assessed_at__gte=since, assessed_at__lte=now)
        .values_list("dossier__holder__department", "route")
        .annotate(n=Count("id"))
        .order_by()
    )
    total_straight = total = 0
    for department, route, n in rows:
        cert_id = home.get(department)
        is_straight = route == Assessment.Route.STRAIGHT_THROUGH
        total += n
        total_straight += n if is_straight else 0
        if cert_id is not None:
            assessed[cert_id] += n
            straight[cert_id] += n if is_straight else 0
    return (
        {cert.pk: _rate(straight[cert.pk], assessed[cert.pk]) for cert in certs},
        _rate(total_straight, total),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def stats_compute(*, now: datetime | None = None) -> dict[str, Any]:
    """The public figures now, every active centre listed even with no work; aggregates only."""
    now = now or timezone.now()
    since = now - timedelta(days=PERIOD_DAYS)
    certs = list(Cert.objects.filter(active=True).order_by("code"))
    weeks = week_starts(now=now)

    by_cert: dict[int | None, dict[str, int]] = defaultdict(dict)
    for cert_id, state, n in (
        Dossier.objects.filter(state__in=WAITING_STATES)
        .values_list("cert_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_cert[cert_id][state] = n
    open_counts = {cert_id: waiting(counts) for cert_id, counts in by_cert.items()}
    decided = Dossier.objects.filter(
        state__in=DECIDED_STATES, decided_at__gte=since, decided_at__lte=now, submitted_at__isnull=False
    )
    processing = ExpressionWrapper(F("decided_at") - F("submitted_at"), output_field=DurationField())
    times, national_times = grouped_percentiles(
        qs=decided, group="cert_id", expression=processing, fractions=(0.5, 0.9)
    )
    received, national_received = _weekly(
        qs=Dossier.objects.filter(submitted_at__isnull=False), field="submitted_at", weeks=weeks
    )
    decisions, national_decided = _weekly(
        qs=Dossier.objects.filter(state__in=DECIDED_STATES), field="decided_at", weeks=weeks
    )
    rates, national_rate = _straight_through(since=since, now=now, certs=certs)

    centres = []
    for cert in certs:
        median, p90 = times.get(cert.pk, [None, None])
        centres.append(
            {
                "code": cert.code,
                "name": cert.name,
                "city": cert.city,
                "open": open_counts.get(cert.pk, 0),
                "median_days": days(median),
                "p90_days": days(p90),
                "received_per_week": list(received.get(cert.pk, [0] * len(weeks))),
                "decided_per_week": list(decisions.get(cert.pk, [0] * len(weeks))),
                "straight_through_rate": rates[cert.pk],
            }
        )
    return {
        "national": {
            "open": sum(open_counts.values()),
            "median_days": days(national_times[0]),
            "p90_days": days(national_times[1]),
            "received_per_week": national_received,
            "decided_per_week": national_decided,
            "straight_through_rate": national_rate,
            "weeks": [week.isoformat() for week in weeks],
            "period_days": PERIOD_DAYS,
        },
        "centres": centres,
        "computed_at": now.isoformat(),
    }


def stats_refresh(*, now: datetime | None = None) -> StatsSnapshot:
    """Store a new snapshot of the public figures and keep only the latest few; record the
    decisions of the days that closed since (read by the supervision pages)."""
    now = now or timezone.now()
    payload = stats_compute(now=now)
    decision_days_record(now=now)
    with transaction.atomic():
        snapshot = StatsSnapshot.objects.create(computed_at=now, payload=payload)
        kept = list(
            StatsSnapshot.objects.order_by("-computed_at", "-pk").values_list("pk", flat=True)[
                :SNAPSHOTS_KEPT
            ]
        )
        StatsSnapshot.objects.exclude(pk__in=kept).delete()
    return snapshot


def stats_latest() -> StatsSnapshot:
    """The latest snapshot; the first one is computed on the spot when none exists yet."""
    snapshot = StatsSnapshot.objects.order_by("-computed_at", "-pk").first()
    return snapshot or stats_refresh()


def stats_current() -> StatsSnapshot:
    """The latest snapshot, computed again on the spot once older than STALE_AFTER.

    Where the beat runs, the periodic task keeps it younger than that; in the embedded mode there
    is no beat, and the first reader after STALE_AFTER computes it. One reader at a time (a cache
    lock): the others get the older snapshot, and the page says how old it is."""
    snapshot = stats_latest()
    if timezone.now() - snapshot.computed_at <= STALE_AFTER:
        return snapshot
    if not cache.add(REFRESH_LOCK, "1", timeout=REFRESH_LOCK_SECONDS):
        return snapshot
    try:
        return stats_refresh()
    finally:
        cache.delete(REFRESH_LOCK)


def stats_csv(*, payload: dict[str, Any]) -> str:
    """The snapshot as CSV: the national row first, then one row per centre, one column per week."""
    weeks = payload["national"]["weeks"]
    header = [
        "scope",
        "code",
        "name",
        "city",
        "open",
        "median_days",
        "p90_days",
        "straight_through_rate",
        *[f"received_{week}" for week in weeks],
        *[f"decided_{week}" for week in weeks],
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    national = payload["national"]
    rows = [("national", {"code": "", "name": _("Ensemble des centres"), "city": "", **national})]
    rows += [("centre", centre) for centre in payload["centres"]]
    for scope, row in rows:
        writer.writerow(
            [
                scope,
                row["code"],
                row["name"],
                row["city"],
                row["open"],
                *[
                    "" if row[key] is None else row[key]
                    for key in ("median_days", "p90_days", "straight_through_rate")
                ],
                *row["received_per_week"],
                *row["decided_per_week"],
            ]
        )
    return out.getvalue()


# The axis of a chart: 0 and AXIS_STEPS round steps (four marks), spaced wide enough on a phone.
AXIS_STEPS = 3
ROUND_STEPS = (1, 2, 2.5, 5, 10)


def axis_ticks(top: float, *, whole: bool) -> list[float]:
    """The marks of an axis from 0 to a round value at or above `top`: AXIS_STEPS equal round steps
    (1, 2, 2.5 or 5 times a power of ten; whole numbers when the values are)."""
    raw = max(top, 0) / AXIS_STEPS
    if raw <= 0:
        step: float = 1
    else:
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(
            m * magnitude
            for m in ROUND_STEPS
            if m * magnitude >= raw and (not whole or float(m * magnitude).is_integer())
        )
        if whole:
            step = max(1, step)
    return [_clean(step * i) for i in range(AXIS_STEPS + 1)]


def _clean(value: float) -> float | int:
    """A mark as written: 2 rather than 2.0, 0.3 rather than 0.30000000000000004."""
    value = round(value, 6)
    return int(value) if float(value).is_integer() else value


def chart_bars(
    *,
    chart_id: str,
    title: str,
    values: Sequence[float | int | None],
    labels: Sequence[str],
    unit: str = "",
    label_header: str = "",
    value_header: str = "",
) -> dict[str, Any]:
    """A horizontal bar chart drawn in HTML by templates/cert_workflow/stats/_bar_chart.html: one
    row per label with its bar and its value written beside it, under an axis of four round marks.

    A table rather than a drawing: its text is the page's text (legible on a phone, never
    scaled down), labels never overlap (one row each), and a screen reader reads it as a table.
    Bar lengths are percentages of the axis's last mark."""
    numbers = [v or 0 for v in values]
    whole = all(float(v).is_integer() for v in numbers)
    ticks = axis_ticks(max(numbers, default=0), whole=whole)
    top = ticks[-1]
    return {
        "id": chart_id,
        "title": title,
        "unit": unit,
        "label_header": label_header or _("Libellé"),
        "value_header": value_header or (unit.capitalize() if unit else _("Nombre")),
        "ticks": [{"value": tick, "pct": round(100 * tick / top, 2)} for tick in ticks],
        "bars": [
            {"label": label, "value": value, "pct": round(100 * max(number, 0) / top, 2)}
            for label, value, number in zip(labels, values, numbers, strict=True)
        ],
    }
