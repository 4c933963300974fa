"""Decisions per day and centre, recorded once a day is over so that the supervision pages read
the audit only for the last day or two instead of thirty days of it (and its join to the dossiers).

A day is recorded once it ended more than SETTLE ago: an audit row is timestamped when it is built,
so a transaction that began before midnight may commit its decisions a little after. The pages
read live every day that has no record (today always, and any day the refresh has not recorded
yet), so a refresh that stops running makes them slower, never wrong.

A decision counts in the centre where it was made (decision_centre): the one its audit row
recorded at decision time, so moving a dossier to another centre afterwards (a pause, a move, a
rebalance of a dossier back from a complement) never moves its past decisions.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import BigIntegerField, Count, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from cert_workflow.models import DecisionDay
from dossiers.models import DossierEvent, State

# What an agent decides on a dossier under review.
DECISIONS = (State.APPROVED, State.REJECTED, State.AWAITING_COMPLEMENT)
# A decision in the audit: always a human's (the transition table lets no system decide).
DECISION = Q(action="transition", from_state=State.IN_REVIEW, to_state__in=DECISIONS, actor__isnull=False)
SETTLE = timedelta(hours=1)


def decision_centre() -> Coalesce:
    """The centre a staff event counts in: the dossier's centre when it happened, recorded in the
    audit row (dossiers.transitions writes data["cert"] for staff), else, for rows written before
    that was recorded, the acting agent's own centre (an agent only acts on its centre's dossiers).
    Never the dossier's centre now: that changes when the dossier moves. Read from the audit row
    and the actor's row only, so no dossier is read."""
    return Coalesce(
        Cast(KeyTextTransform("cert", "data"), BigIntegerField()),
        F("actor__cert_id"),
        output_field=BigIntegerField(),
    )


# Days recorded back from the last closed one, and kept (supervision shows 30).
KEPT_DAYS = 40


def day_start(day: date) -> datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def last_closed_day(*, now: datetime) -> date:
    """The latest local day that ended more than SETTLE before `now`."""
    return timezone.localtime(now - SETTLE).date() - timedelta(days=1)


def decision_days_record(*, now: datetime | None = None) -> int:
    """Record every closed day of the last KEPT_DAYS that has no record yet (one read of the audit
    for all of them), drop older records; return how many days were recorded. Safe to run twice
    at once: a day is recorded once (unique), its figures cannot change once it is closed."""
    now = now or timezone.now()
    last = last_closed_day(now=now)
    first = last - timedelta(days=KEPT_DAYS - 1)
    recorded = set(DecisionDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True))
    kept = (first + timedelta(days=i) for i in range(KEPT_DAYS))
    missing = [day for day in kept if day not in recorded]
    if missing:
        counts: dict[date, dict[str, int]] = {day: {} for day in missing}
        rows = (
            DossierEvent.objects.filter(
                DECISION,
                created_at__gte=day_start(missing[0]),
                created_at__lt=day_start(missing[-1] + timedelta(days=1)),
            )
            .annotate(day=TruncDate("created_at"), centre=decision_centre())
            .values_list("day", "centre")
            .annotate(n=Count("id"))
            .order_by()
        )
        for day, cert_id, n in rows:
            if day in counts:
                counts[day]["" if cert_id is None else str(cert_id)] = n
        DecisionDay.objects.bulk_create(
            [DecisionDay(day=day, counts=by_cert, computed_at=now) for day, by_cert in counts.items()],
            ignore_conflicts=True,
        )
    DecisionDay.objects.filter(day__lt=first).delete()
    return len(missing)


def decision_days_read(*, first: date, before: date) -> dict[date, dict[int | None, int]]:
    """The recorded days from `first` to the day before `before`: decisions per centre id (None:
    no centre). A day with no record is absent."""
    return {
        day: {(int(key) if key else None): n for key, n in counts.items()}
        for day, counts in DecisionDay.objects.filter(day__gte=first, day__lt=before).values_list(
            "day", "counts"
        )
    }
