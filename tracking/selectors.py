"""What the dossier page reads: whose turn it is, the estimated completion date, the open
complement request, the documents to download and the timeline. Every read is of a dossier the
caller already got through dossiers.selectors.dossier_get (their scope)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import (
    COMPLEMENT_HOLDER_FIELDS,
    COMPLEMENT_VEHICLE_FIELDS,
    ComplementRequest,
    IssuedDocument,
)
from cert_workflow.stats.decision_days import DECISION
from dossiers.fees import Fees, fee_rows
from dossiers.models import Document, DocumentKind, Dossier, DossierEvent, Procedure, State
from dossiers.selectors import dossier_events
from dossiers.services import dossier_fees
from tracking.timeline import TimelineEntry, timeline_entry

# The measured rate of a centre: its agents' decisions over this many last days.
ESTIMATE_WINDOW_DAYS = 14

CITIZEN, CENTRE, SYSTEM = "citizen", "centre", "system"

# Who must act next in each open state (final states: nobody).
TURNS: dict[str, str] = {
    State.DRAFT: CITIZEN,
    State.SUBMITTED: SYSTEM,
    State.QUEUED: CENTRE,
    State.IN_REVIEW: CENTRE,
    State.AWAITING_COMPLEMENT: CITIZEN,
    State.APPROVED: SYSTEM,
}
# The states whose due_at is a date people can hold someone to (the others are internal clocks of
# minutes: the agent's lease, the checks, the rendering).
DUE_SHOWN = (State.DRAFT, State.QUEUED, State.AWAITING_COMPLEMENT)


@dataclass(frozen=True)
class Turn:
    who: str  # CITIZEN, CENTRE, SYSTEM, or "" once the dossier is closed
    text: str
    due_at: datetime | None


def dossier_turn(*, dossier: Dossier) -> Turn:
    """Who must act next on `dossier`, in French, and by when."""
    who = TURNS.get(dossier.state, "")
    centre = dossier.cert.name if dossier.cert_id else _("le centre d'instruction")
    texts = {
        CITIZEN: _("À vous : terminez et déposez votre demande.")
        if dossier.state == State.DRAFT
        else _("À vous : répondez à la demande de complément."),
        CENTRE: _("Au centre : %(centre)s instruit votre dossier.") % {"centre": centre},
        SYSTEM: _("Au portail : vérifications automatiques en cours.")
        if dossier.state == State.SUBMITTED
        else _("Au portail : production de votre certificat en cours."),
        "": _("Personne : le dossier est clos."),
    }
    due = dossier.due_at if dossier.state in DUE_SHOWN else None
    return Turn(who=who, text=texts[who], due_at=due)


@dataclass(frozen=True)
class Estimate:
    """When a dossier should be decided: `on` is None when it cannot be computed (`why` says)."""

    on: datetime | None
    position: int | None = None  # 1 = the next one the centre's agents take
    per_day: float | None = None  # the centre's measured decisions per day
    window_days: int = ESTIMATE_WINDOW_DAYS
    why: str = ""


def cert_decisions_per_day(*, cert_id: int, now: datetime, days: int = ESTIMATE_WINDOW_DAYS) -> float:
    """The decisions (approve, reject, complement) a centre's agents recorded per day on average
    over the last `days` days, as the audit records them."""
    count = DossierEvent.objects.filter(
        DECISION, dossier__cert_id=cert_id, created_at__gte=now - timedelta(days=days), created_at__lt=now
    ).count()
    return count / days


def queue_position(*, dossier: Dossier) -> int:
    """The rank of a queued dossier in its centre's claim order (priority, then age, then id), 1
    for the next one taken; the dossiers already in review count before it."""
    ahead = Dossier.objects.filter(cert_id=dossier.cert_id).filter(
        Q(state=State.IN_REVIEW)
        | Q(state=State.QUEUED)
        & (
            Q(priority__gt=dossier.priority)
            | Q(priority=dossier.priority, queued_at__lt=dossier.queued_at)
            | Q(priority=dossier.priority, queued_at=dossier.queued_at, id__lt=dossier.id)
        )
    )
    return ahead.count() + 1


def dossier_estimate(*, dossier: Dossier, now: datetime | None = None) -> Estimate:
    """The estimated decision date of a queued or reviewed dossier: its position in its centre's
    queue divided by the centre's measured decisions per day over the last ESTIMATE_WINDOW_DAYS."""
    now = now or timezone.now()
    if dossier.state in (State.ISSUED, State.REJECTED, State.WITHDRAWN):
        return Estimate(on=None, why=_("Le dossier est clos."))
    if dossier.state == State.APPROVED:
        return Estimate(on=None, why=_("La demande est acceptée : le certificat est en cours de production."))
    if dossier.state == State.DRAFT:
        return Estimate(on=None, why=_("La demande n'est pas encore déposée."))
    if dossier.state == State.AWAITING_COMPLEMENT:
        return Estimate(on=None, why=_("La suite dépend de votre réponse à la demande de complément."))
    if dossier.state == State.SUBMITTED or dossier.cert_id is None:
        return Estimate(on=None, why=_("Le dossier n'est pas encore confié à un centre."))
    position = 1 if dossier.state == State.IN_REVIEW else queue_position(dossier=dossier)
    per_day = cert_decisions_per_day(cert_id=dossier.cert_id, now=now)
    if per_day <= 0:
        return Estimate(
            on=None,
            position=position,
            per_day=0.0,
            why=_("Le centre n'a enregistré aucune décision ces %(days)d derniers jours.")
            % {"days": ESTIMATE_WINDOW_DAYS},
        )
    return Estimate(on=now + timedelta(days=position / per_day), position=position, per_day=per_day)


@dataclass(frozen=True)
class ComplementView:
    """An open complement request as the applicant answers it."""

    request: ComplementRequest
    documents: list[tuple[str, str]] = field(default_factory=list)  # (document kind, label)
    holder_fields: list[tuple[str, str]] = field(default_factory=list)  # (holder field, label)
    vehicle_fields: list[tuple[str, str]] = field(default_factory=list)  # answered by a document


def complement_open_get(*, dossier: Dossier) -> ComplementView | None:
    """The open complement request of a dossier awaiting one, its items sorted by how they are
    answered (a document, a corrected holder field, a document showing a vehicle value)."""
    if dossier.state != State.AWAITING_COMPLEMENT:
        return None
    request = (
        ComplementRequest.objects.filter(dossier=dossier, answered_at__isnull=True, expired_at__isnull=True)
        .prefetch_related("items")
        .first()
    )
    if request is None or request.deadline <= timezone.now():  # closed, even before the sweep runs
        return None
    view = ComplementView(request=request)
    for item in request.items.all():
        pair = (item.code, str(item.get_code_display()))
        if item.code in DocumentKind.values:
            view.documents.append(pair)
        elif item.code in COMPLEMENT_HOLDER_FIELDS:
            view.holder_fields.append(pair)
        elif item.code in COMPLEMENT_VEHICLE_FIELDS:
            view.vehicle_fields.append(pair)
    return view


def issued_documents_for(*, dossier: Dossier) -> QuerySet[IssuedDocument]:
    """The documents issued for a dossier that can be downloaded now: rendered and not withdrawn."""
    return IssuedDocument.objects.filter(
        dossier=dossier, rendered_at__isnull=False, withdrawn_at__isnull=True
    ).order_by("issued_at", "id")


def issued_document_get(*, dossier: Dossier, document_id: int) -> IssuedDocument:
    """One downloadable issued document of `dossier`; IssuedDocument.DoesNotExist otherwise (a 404)."""
    return issued_documents_for(dossier=dossier).get(pk=document_id)


def uploads_for(*, dossier: Dossier) -> QuerySet[Document]:
    """The documents uploaded to a dossier, oldest first."""
    return Document.objects.filter(dossier=dossier).order_by("created_at", "id")


def upload_get(*, dossier: Dossier, document_id: int) -> Document:
    """One uploaded document of `dossier`; Document.DoesNotExist otherwise (a 404)."""
    return uploads_for(dossier=dossier).get(pk=document_id)


def sale_acknowledgement_available(*, dossier: Dossier) -> bool:
    """Whether the seller of a sale declaration gets its acknowledgement: while its code de cession
    is one the buyer can use (dossiers.register.sale_for_code: submitted, not refused, not abandoned)."""
    sale = getattr(dossier, "sale", None)  # the reverse one-to-one raises AttributeError when absent
    return (
        dossier.procedure == Procedure.SALE_DECLARATION
        and dossier.state not in (State.DRAFT, State.REJECTED, State.WITHDRAWN)
        and sale is not None
        and bool(sale.code_de_cession)
    )


def dossier_timeline(*, dossier: Dossier) -> list[TimelineEntry]:
    """Every audit event of the dossier, oldest first, in plain French."""
    return [timeline_entry(event) for event in dossier_events(dossier=dossier)]


def estimate_explanation() -> str:
    """The sentence that says how the estimated date is computed."""
    return _(
        "Cette date est estimée à partir de la place de votre dossier dans la file de son centre "
        "et du nombre de décisions que ce centre a prises par jour, en moyenne, ces %(days)d "
        "derniers jours. Elle peut changer."
    ) % {"days": ESTIMATE_WINDOW_DAYS}


def dossier_refusal_reason(*, dossier: Dossier) -> str:
    """Why a refused dossier was refused, as the agent (or the deadline sweep) wrote it."""
    if dossier.state != State.REJECTED:
        return ""
    event = (
        DossierEvent.objects.filter(dossier=dossier, action="transition", to_state=State.REJECTED)
        .order_by("-created_at", "-id")
        .first()
    )
    return event.reason if event is not None else ""


def dossier_fee_rows(*, dossier: Dossier) -> list[dict[str, object]]:
    """Y.1–Y.6 of the dossier as table rows: frozen at submission, or what a draft would owe today
    (empty when they cannot be computed: the payment page says why)."""
    if dossier.y6 is not None:
        frozen = Fees(**{f"y{i}": getattr(dossier, f"y{i}") for i in range(1, 7)})
        return fee_rows(frozen)
    if dossier.state != State.DRAFT:
        return []
    try:
        return fee_rows(dossier_fees(dossier=dossier))
    except ValueError:  # FeesUnavailable, or a vehicle fact the fees need is missing
        return []
