"""The reads behind the queue and review pages: a centre's queue in claim order, its pages, the
dossier and documents an agent may see."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import Assessment, CheckResult, ComplementRequest, IssuedDocument, Outcome
from cert_workflow.review.claim import CLAIM_ORDER, REVIEWER_ROLES
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, Dossier, State
from dossiers.selectors import dossier_events, dossier_get, dossiers_for_user
from portal.models import Role, User


def queue_for_cert(*, cert_id: int) -> QuerySet[Dossier]:
    """The unclaimed dossiers of one centre in claim order, with what a queue row shows."""
    return (
        Dossier.objects.filter(cert_id=cert_id, state=State.QUEUED)
        .select_related("vehicle", "holder")
        .annotate(risk=F("assessment__risk"))
        .order_by(*CLAIM_ORDER)
    )


def queue_for_agent(*, agent: User) -> QuerySet[Dossier]:
    """The agent's centre's queue, in the order they will be given the dossiers."""
    if agent.role != Role.AGENT or agent.cert_id is None:
        return Dossier.objects.none()
    return queue_for_cert(cert_id=agent.cert_id)


QueueKey = tuple[int, datetime, int]  # (priority, queued_at, pk) of the last row of a page


def queue_page(
    *, queryset: QuerySet[Dossier], after: QueueKey | None = None, size: int = 50
) -> tuple[list[Dossier], QueueKey | None]:
    """One page of a queue (claim order) after the row `after`, and the key of the next page or None.

    Keyset, never OFFSET: the same-priority rest and the lower priorities are two range scans of
    the queue index (an OR over the three columns would not be a range).
    """
    if after is None:
        rows = list(queryset[: size + 1])
    else:
        priority, queued_at, pk = after
        rows = list(
            queryset.filter(priority=priority, queued_at__gte=queued_at).filter(
                Q(queued_at__gt=queued_at) | Q(pk__gt=pk)
            )[: size + 1]
        )
        if len(rows) <= size:
            rows += list(queryset.filter(priority__lt=priority)[: size + 1 - len(rows)])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, (last.priority, last.queued_at, last.pk)


def queue_cursor_encode(key: QueueKey) -> str:
    """An opaque, URL-safe cursor for the page after the row `key`."""
    priority, queued_at, pk = key
    raw = json.dumps([priority, queued_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def queue_cursor_decode(cursor: str) -> QueueKey:
    """The key of a cursor made by queue_cursor_encode, or InvalidInput."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        priority, queued_at, pk = json.loads(raw)
        key = (int(priority), datetime.fromisoformat(queued_at), int(pk))
        if key[1].tzinfo is None:
            raise ValueError("naive time")
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidInput(
            [
                FieldError(
                    "cursor", "invalid", _("Curseur de pagination invalide."), _("la valeur de « next »")
                )
            ]
        ) from exc
    return key


def held_dossier(*, agent: User) -> Dossier | None:
    """The dossier the agent is reviewing under a live lease, if any."""
    return Dossier.objects.filter(claimed_by=agent, due_at__gt=timezone.now()).first()


def dossier_for_agent(*, agent: User, reference: str) -> Dossier:
    """A dossier of the agent's centre (any for supervisors) with what the review page shows;
    Dossier.DoesNotExist outside their scope (a 404)."""
    if agent.role not in REVIEWER_ROLES:
        raise Dossier.DoesNotExist
    dossier = dossier_get(user=agent, reference=reference)
    dossier.documents_list = list(
        Document.objects.filter(dossier=dossier).order_by("kind", "created_at", "pk")
    )
    dossier.check_list = list(CheckResult.objects.filter(dossier=dossier).order_by("code"))
    dossier.complement_list = list(
        ComplementRequest.objects.filter(dossier=dossier)
        .select_related("requested_by")
        .prefetch_related("items")
        .order_by("-requested_at")
    )
    return dossier


@dataclass(frozen=True)
class CheckObjections:
    """What an approval would go against: the automatic checks that failed, or none ran at all."""

    failed: tuple[CheckResult, ...]
    never_ran: bool

    def __bool__(self) -> bool:
        return self.never_ran or bool(self.failed)


def check_objections(*, dossier: Dossier) -> CheckObjections:
    """The failed checks of a dossier, and whether its checks never ran (no assessment: the checks
    store it with their results, in one transaction)."""
    failed = tuple(CheckResult.objects.filter(dossier=dossier, outcome=Outcome.FAILED).order_by("code", "pk"))
    never_ran = not Assessment.objects.filter(dossier=dossier).exists()
    return CheckObjections(failed=failed, never_ran=never_ran)


def document_for_agent(*, agent: User, reference: str, document_id: int) -> Document:
    """One document of a dossier in the agent's scope; Document.DoesNotExist otherwise (a 404)."""
    if agent.role not in REVIEWER_ROLES:
        raise Document.DoesNotExist
    dossiers = dossiers_for_user(user=agent).filter(reference=reference)
    return Document.objects.get(pk=document_id, dossier__in=dossiers)


def issued_documents_for_dossier(*, dossier: Dossier) -> QuerySet[IssuedDocument]:
    """Every document issued for a dossier the caller may already see, oldest first: the
    pending and withdrawn ones too (the page says why they cannot be downloaded)."""
    return IssuedDocument.objects.filter(dossier=dossier).order_by("issued_at", "pk")


def issued_document_for_agent(*, agent: User, reference: str, document_id: int) -> IssuedDocument:
    """One issued document of a dossier in the agent's scope, whatever its state (the view says
    why one cannot be downloaded); IssuedDocument.DoesNotExist otherwise (a 404)."""
    if agent.role not in REVIEWER_ROLES:
        raise IssuedDocument.DoesNotExist
    dossiers = dossiers_for_user(user=agent).filter(reference=reference)
    return IssuedDocument.objects.get(pk=document_id, dossier__in=dossiers)


def lease_remaining(*, dossier: Dossier, now: datetime | None = None) -> timedelta | None:
    """How long the lease of an in-review dossier still runs (zero once expired); None otherwise."""
    if dossier.state != State.IN_REVIEW or dossier.due_at is None:
        return None
    return max(dossier.due_at - (now or timezone.now()), timedelta(0))


def events_for_dossier(*, dossier: Dossier) -> QuerySet:
    """The dossier's history, oldest first, with the actors."""
    return dossier_events(dossier=dossier)
