"""Reads of batches, always scoped to the caller's organisation: another organisation's batch is a
Batch.DoesNotExist (a 404), never a 403."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from batches.models import Batch, BatchRow, BatchState, RowStatus
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers.models import State
from portal.models import Role, User

APPROVED_STATES = (State.APPROVED, State.ISSUED)


def batches_for_user(*, user: User) -> QuerySet[Batch]:
    """The batches of the dealer's organisation; none for anyone else."""
    if (
        not user.is_authenticated
        or not user.is_active
        or user.role != Role.DEALER
        or not user.organisation_id
    ):
        return Batch.objects.none()
    return Batch.objects.filter(organisation_id=user.organisation_id).order_by("-created_at", "-pk")


def batch_get(*, user: User, batch_id: int) -> Batch:
    return batches_for_user(user=user).select_related("organisation").get(pk=batch_id)


def cpis_ready(*, batch: Batch) -> QuerySet[IssuedDocument]:
    """The batch's CPIs rendered and not withdrawn (a superseded one was valid until its
    certificate and stays downloadable)."""
    return IssuedDocument.objects.filter(
        dossier__batch_row__batch=batch,
        kind=DocumentKind.CPI,
        rendered_at__isnull=False,
        withdrawn_at__isnull=True,
    )


def batch_counts(*, batch: Batch) -> dict[str, int]:
    """received, valid, rejected, plated, cpi_ready, approved (and pending, still to check): one
    query over the batch's rows."""
    cpi = IssuedDocument.objects.filter(
        dossier_id=OuterRef("dossier_id"),
        kind=DocumentKind.CPI,
        rendered_at__isnull=False,
        withdrawn_at__isnull=True,
    )
    counts = BatchRow.objects.filter(batch=batch).aggregate(
        valid=Count("pk", filter=Q(status=RowStatus.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=RowStatus.REJECTED)),
        pending=Count("pk", filter=Q(status=RowStatus.PENDING)),
        plated=Count("pk", filter=Q(status=RowStatus.ACCEPTED, dossier__vehicle__plate__gt="")),
        cpi_ready=Count("pk", filter=Q(status=RowStatus.ACCEPTED) & Q(Exists(cpi))),
        approved=Count("pk", filter=Q(status=RowStatus.ACCEPTED, dossier__state__in=APPROVED_STATES)),
    )
    return {"received": batch.received, **counts}


def batch_progress(*, batch: Batch, counts: dict[str, int]) -> int:
    """Percent of the work done: each row checked, then each accepted vehicle's CPI ready (a
    refused row is done once checked). 100 exactly when the batch is done."""
    if batch.state == BatchState.DONE:
        return 100
    received = max(1, counts["received"])
    steps = 2 * received
    done = counts["valid"] + counts["rejected"] + counts["cpi_ready"] + counts["rejected"]
    return min(99, done * 100 // steps)


def batch_rows(*, batch: Batch, status: str | None = None) -> QuerySet[BatchRow]:
    rows = BatchRow.objects.filter(batch=batch).select_related("dossier__vehicle").order_by("row_number")
    if status:
        rows = rows.filter(status=status)
    return rows


def row_cpis(*, rows: list[BatchRow]) -> dict[int, IssuedDocument]:
    """The rendered, not withdrawn CPI of each of these rows' dossiers, by dossier id."""
    dossier_ids = [row.dossier_id for row in rows if row.dossier_id]
    documents = IssuedDocument.objects.filter(
        dossier_id__in=dossier_ids,
        kind=DocumentKind.CPI,
        rendered_at__isnull=False,
        withdrawn_at__isnull=True,
    ).order_by("pk")
    return {document.dossier_id: document for document in documents}
