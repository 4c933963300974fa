"""The sweep that reminds applicants, once, that their complement deadline is near."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cert_workflow.models import ComplementRequest
from dossiers.models import State
from dossiers.transitions import event_record
from portal.mail import mail_send_many
from tracking.models import ComplementReminder
from tracking.notices import reminder_message

REMINDER_ACTION = "complement_reminder_sent"


def _days_before() -> int:
    return int(getattr(settings, "COMPLEMENT_REMINDER_DAYS", 7))


def complement_reminders_send(*, now: datetime | None = None) -> int:
    """Mail the applicant of every open complement request whose deadline is within
    COMPLEMENT_REMINDER_DAYS and not yet past, once per request: the claim (a ComplementReminder
    row, unique per request) and an audit event are committed first, the mails leave after. Returns
    how many reminders were sent now; a second run finds none."""
    now = now or timezone.now()
    due = (
        ComplementRequest.objects.filter(
            answered_at__isnull=True,
            expired_at__isnull=True,
            deadline__gt=now,
            deadline__lte=now + timedelta(days=_days_before()),
            dossier__state=State.AWAITING_COMPLEMENT,
            reminder__isnull=True,
        )
        .select_related("dossier__holder", "dossier__vehicle", "dossier__applicant", "dossier__filed_by")
        .prefetch_related("items")
        .order_by("deadline", "pk")
    )
    messages = []
    with transaction.atomic():
        for request in due:
            ComplementReminder.objects.bulk_create(
                [ComplementReminder(request=request, sent_at=now)], ignore_conflicts=True
            )
            # With ignore_conflicts the row's pk is not read back: this run claimed the request
            # if the request's row carries this run's time (a concurrent run's insert lost).
            if not ComplementReminder.objects.filter(request=request, sent_at=now).exists():
                continue
            event_record(
                dossier=request.dossier,
                actor=None,
                action=REMINDER_ACTION,
                data={"complement_request": request.pk, "deadline": request.deadline.isoformat()},
            )
            message = reminder_message(request=request)
            if message is not None:
                messages.append(message)
        transaction.on_commit(lambda: mail_send_many(messages=messages, purpose="complement reminders"))
    return len(messages)
