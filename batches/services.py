"""Every write of a batch: its receipt (idempotent), the processing of its rows in chunks, and the
moments it is processed and done.

A batch goes received → processing → done. Its rows are stored as sent when it is received; a
Celery task then checks and inserts them chunk by chunk (batches.intake, set-based), each chunk in
one transaction that also creates the submitted dossiers, so that a chunk is all or nothing and a
rerun finds nothing left to do. The dossiers' plates and CPIs follow through the usual hooks of
submission (cert_workflow.documents.issuing), a chunk at a time. The batch is `done` once every
row is checked and every accepted vehicle's CPI is rendered (or its dossier ended).
"""

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from batches import intake
from batches.acknowledgement import acknowledgement_render
from batches.models import Batch, BatchRow, BatchSource, BatchState, RowStatus
from cert_workflow.enqueue import task_enqueue
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers.bulk import rows_append
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import State
from dossiers.services import references_reserve
from portal.models import Organisation, Role, User
from webhooks import services as webhooks

PROCESS_TASK = "batches.tasks.process"
CHUNK_TASK = "batches.tasks.process_chunk"
ACKNOWLEDGE_TASK = "batches.tasks.acknowledge"
# Printable ASCII, as the IETF draft's examples (UUIDs, ULIDs): nothing to escape in logs and pages.
_KEY = re.compile(r"[\x21-\x7e]{1,100}")
ENDED = (State.REJECTED, State.WITHDRAWN)


def max_rows() -> int:
    return int(getattr(settings, "BATCH_MAX_ROWS", 10_000))


def chunk_size() -> int:
    return max(1, int(getattr(settings, "BATCH_CHUNK_SIZE", 500)))


@dataclass(frozen=True)
class RowInput:
    """A row as received: its number as the dealer sees it, its nested data, its file columns."""

    row_number: int
    data: Any
    columns: dict[str, str] = field(default_factory=dict)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before by this organisation for another content."""

    def __init__(self, batch: Batch):
        self.batch = batch
        super().__init__(f"idempotency key of batch {batch.pk} reused for other content")


def content_hash_json(vehicles: Any) -> str:
    """The hash of a JSON batch's content: the same vehicles in the same order give the same hash,
    whatever the spacing or the order of keys in the request."""
    canonical = json.dumps(vehicles, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash_file(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def idempotency_key_clean(raw: str | None) -> str:
    """The Idempotency-Key header, or InvalidInput saying what is expected."""
    if raw is None or not raw.strip():
        raise InvalidInput(
            [
                FieldError(
                    "Idempotency-Key",
                    "required",
                    _(
                        "L'en-tête Idempotency-Key est obligatoire : une clé unique par lot (un UUID), "
                        "renvoyée telle quelle si la requête est répétée."
                    ),
                    _("un UUID, ex. 0b9f1c52-3c1e-4f4a-9d8e-1f2a3b4c5d6e"),
                )
            ]
        )
    key = raw.strip()
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            [
                FieldError(
                    "Idempotency-Key",
                    "format",
                    _("La clé d'idempotence compte de 1 à 100 caractères ASCII visibles, sans espace."),
                    _("un UUID"),
                )
            ]
        )
    return key


def _vin_of(data: Any) -> str:
    vehicle = data.get("vehicle") if isinstance(data, dict) else None
    vin = vehicle.get("vin") if isinstance(vehicle, dict) else None
    return re.sub(r"\s", "", vin).upper()[:40] if isinstance(vin, str) else ""


def _external_ref_of(data: Any) -> str:
    ref = data.get("external_ref") if isinstance(data, dict) else None
    return ref.strip()[:60] if isinstance(ref, str) else ""


def _first_rows(rows: Sequence[RowInput], vins: list[str]) -> list[int | None]:
    """For each row, the number of the first row with the same VIN when it repeats one, else None."""
    first: dict[str, int] = {}
    for row, vin in sorted(zip(rows, vins, strict=True), key=lambda pair: pair[0].row_number):
        if vin:
            first.setdefault(vin, row.row_number)
    return [
        first[vin] if vin and first[vin] != row.row_number else None
        for row, vin in zip(rows, vins, strict=True)
    ]


def batch_receive(
    *,
    user: User,
    idempotency_key: str,
    content_sha256: str,
    source: str,
    rows: Sequence[RowInput],
    filename: str = "",
) -> tuple[Batch, bool]:
    """Store a batch as received and start its processing after commit; (batch, created).

    The same key with the same content returns the first batch (created False), even when both
    requests arrive at the same moment: the unique key decides, and the loser reads the winner's
    batch. The same key with other content raises IdempotencyConflict. Rows are stored as sent,
    whatever they hold: their checks are the processing's, one error list per row."""
    organisation = batch_organisation(user)
    if source not in BatchSource.values:
        raise ValueError(f"unknown batch source {source!r}")
    existing = _replay(organisation=organisation, key=idempotency_key, content_sha256=content_sha256)
    if existing is not None:
        return existing, False
    rows_count_check(len(rows))
    now = timezone.now()
    # Committed at once, outside the batch's transaction: a request that then loses the race for
    # its key leaves these numbers unused, never the counter locked while 10,000 rows are stored.
    references = dict(
        zip(
            sorted(row.row_number for row in rows),
            references_reserve(len(rows), on=timezone.localdate(now)),
            strict=True,
        )
    )
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                organisation=organisation,
                created_by=user,
                idempotency_key=idempotency_key,
                content_sha256=content_sha256,
                source=source,
                filename=filename[:200],
                received=len(rows),
                created_at=now,
            )
            vins = [_vin_of(row.data) for row in rows]
            firsts = _first_rows(rows, vins)
            rows_append(
                BatchRow,
                (
                    "batch_id",
                    "row_number",
                    "data",
                    "columns",
                    "vin",
                    "first_row",
                    "reference",
                    "external_ref",
                    "status",
                    "errors",
                ),
                (
                    (
                        batch.pk,
                        row.row_number,
                        row.data,
                        row.columns,
                        vin,
                        first,
                        references[row.row_number],
                        _external_ref_of(row.data),
                        RowStatus.PENDING,
                        [],
                    )
                    for row, vin, first in zip(rows, vins, firsts, strict=True)
                ),
            )
            _event(batch=batch, now=now)
            transaction.on_commit(lambda: task_enqueue(PROCESS_TASK, batch.pk))
    except IntegrityError:
        # Another request with the same key committed first: its batch answers this one too.
        existing = _replay(organisation=organisation, key=idempotency_key, content_sha256=content_sha256)
        if existing is None:
            raise
        return existing, False
    return batch, True


def batch_organisation(user: User) -> Organisation:
    """The dealer's organisation, which may file batches: it collects the taxes itself (the batch
    is not paid dossier by dossier through the portal)."""
    organisation = user.organisation if user.role == Role.DEALER else None
    if organisation is None or not organisation.active:
        raise InvalidInput(
            [
                FieldError(
                    "organisation", "dealer_only", _("Seuls les professionnels habilités déposent des lots.")
                )
            ]
        )
    if not organisation.tax_agrement:
        raise InvalidInput(
            [
                FieldError(
                    "organisation",
                    "tax_agrement_required",
                    _(
                        "Le dépôt par lot est réservé aux professionnels agréés pour encaisser les taxes "
                        "d'immatriculation. Immatriculez vos véhicules un par un (paiement en ligne), ou "
                        "demandez l'agrément à votre préfecture."
                    ),
                    _("un professionnel agréé"),
                )
            ]
        )
    return organisation


def _replay(*, organisation: Organisation, key: str, content_sha256: str) -> Batch | None:
    existing = Batch.objects.filter(organisation=organisation, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.content_sha256 != content_sha256:
        raise IdempotencyConflict(existing)
    return existing


def rows_count_check(count: int) -> None:
    """A batch holds 1 to BATCH_MAX_ROWS vehicles; InvalidInput otherwise."""
    if not count:
        raise InvalidInput(
            [
                FieldError(
                    "vehicles", "empty", _("Le lot ne contient aucun véhicule."), _("au moins une ligne")
                )
            ]
        )
    if count > max_rows():
        raise InvalidInput(
            [
                FieldError(
                    "vehicles",
                    "max_items",
                    _("Un lot compte au plus %(max)d véhicules (reçu : %(n)d). Déposez plusieurs lots.")
                    % {"max": max_rows(), "n": count},
                    _("%(max)d lignes au plus") % {"max": max_rows()},
                )
            ]
        )


# --- processing ----------------------------------------------------------------------------------


def batch_process(*, batch_id: int) -> int:
    """Start a received batch: mark it processing and enqueue one task per chunk of rows still to
    check; the number of chunks. A rerun enqueues the chunks still pending, which are safe twice."""
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.state == BatchState.DONE:
            return 0
        if batch.state == BatchState.RECEIVED:
            batch.state = BatchState.PROCESSING
            batch.started_at = now
            batch.save(update_fields=["state", "started_at"])
            _event(batch=batch, now=now)
    numbers = list(
        BatchRow.objects.filter(batch_id=batch_id, status=RowStatus.PENDING)
        .order_by("row_number")
        .values_list("row_number", flat=True)
    )
    size = chunk_size()
    chunks = [numbers[i : i + size] for i in range(0, len(numbers), size)]
    for chunk in chunks:
        task_enqueue(CHUNK_TASK, batch_id, chunk[0], chunk[-1])
    if not chunks:
        batch_processed(batch_id=batch_id)
    return len(chunks)


def batch_chunk_process(*, batch_id: int, first_row: int, last_row: int) -> int:
    """Check and insert the pending rows first_row..last_row of a batch (batches.intake), in one
    transaction; the number of rows done. Rows taken by a concurrent run are skipped, so a chunk
    run twice at once is done once."""
    with transaction.atomic():
        batch = Batch.objects.filter(pk=batch_id).select_related("organisation", "created_by").first()
        if batch is None:
            return 0
        rows = intake.rows_lock(batch_id=batch_id, first_row=first_row, last_row=last_row)
        if not rows:
            return 0
        intake.rows_intake(batch=batch, rows=rows)
    batch_processed(batch_id=batch_id)
    return len(rows)


def batch_processed(*, batch_id: int) -> bool:
    """Record that every row of the batch is checked, once none is pending, and see whether it is
    done. True when it was recorded now."""
    updated = (
        Batch.objects.filter(pk=batch_id, processed_at__isnull=True)
        .exclude(Exists(BatchRow.objects.filter(batch_id=OuterRef("pk"), status=RowStatus.PENDING)))
        .update(processed_at=timezone.now())
    )
    if updated:
        batches_complete(batch_ids=[batch_id])
    return bool(updated)


def _waiting_for_cpi(batch_ids: list[int]):
    """Accepted rows of these batches whose vehicle still waits for its CPI: a dossier still open
    or approved without a rendered CPI (a refused or abandoned one never gets it)."""
    rendered = IssuedDocument.objects.filter(
        dossier_id=OuterRef("dossier_id"), kind=DocumentKind.CPI, rendered_at__isnull=False
    )
    return (
        BatchRow.objects.filter(batch_id__in=batch_ids, status=RowStatus.ACCEPTED)
        .exclude(dossier__state__in=ENDED)
        .exclude(Exists(rendered))
    )


def batches_complete(*, batch_ids: list[int]) -> list[int]:
    """Mark done the processed batches among `batch_ids` whose accepted vehicles all have their
    CPI; the ids marked now (each with its webhook delivery, its acknowledgement enqueued)."""
    candidates = list(
        Batch.objects.filter(pk__in=batch_ids, processed_at__isnull=False, done_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if not candidates:
        return []
    waiting = set(_waiting_for_cpi(candidates).values_list("batch_id", flat=True).distinct())
    finished = [pk for pk in candidates if pk not in waiting]
    done = []
    for pk in finished:
        now = timezone.now()
        with transaction.atomic():
            batch = Batch.objects.select_for_update().filter(pk=pk, done_at__isnull=True).first()
            if batch is None:
                continue
            batch.state = BatchState.DONE
            batch.done_at = now
            batch.save(update_fields=["state", "done_at"])
            _event(batch=batch, now=now)
            # The acknowledgement once the CPIs are ready, not as soon as the rows are checked: for
            # 10,000 rows it is a long WeasyPrint layout that would hold one of the worker's
            # processes while the dealer waits for the CPIs (the sweep renders it for a batch that
            # stays processed without it).
            transaction.on_commit(lambda pk=pk: task_enqueue(ACKNOWLEDGE_TASK, pk))
        done.append(pk)
    return done


def batches_complete_for(dossier_ids: list[int]) -> list[int]:
    """The CPIs of these dossiers were just rendered: complete the batches they belong to."""
    batch_ids = list(
        BatchRow.objects.filter(
            dossier_id__in=dossier_ids, batch__done_at__isnull=True, batch__processed_at__isnull=False
        )
        .values_list("batch_id", flat=True)
        .distinct()
    )
    return batches_complete(batch_ids=batch_ids) if batch_ids else []


# How long a batch may stay without progress before the sweep starts its processing again.
STALE_AFTER = timedelta(minutes=10)


def batches_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Find batches a lost task left behind: received or processing with rows still pending for
    STALE_AFTER (processing enqueued again), processed without their acknowledgement (rendered
    again) or without being marked done (checked again)."""
    now = now or timezone.now()
    stale = list(
        Batch.objects.filter(processed_at__isnull=True, created_at__lt=now - STALE_AFTER).values_list(
            "pk", flat=True
        )
    )
    for pk in stale:
        task_enqueue(PROCESS_TASK, pk)
    unacknowledged = list(
        Batch.objects.filter(processed_at__lt=now - STALE_AFTER, acknowledgement="").values_list(
            "pk", flat=True
        )
    )
    for pk in unacknowledged:
        task_enqueue(ACKNOWLEDGE_TASK, pk)
    open_ids = list(
        Batch.objects.filter(processed_at__isnull=False, done_at__isnull=True).values_list("pk", flat=True)
    )
    completed = batches_complete(batch_ids=open_ids) if open_ids else []
    return {"restarted": len(stale), "acknowledgements": len(unacknowledged), "completed": len(completed)}


def acknowledgement_store(*, batch_id: int) -> bool:
    """Render the batch's acknowledgement (every row checked; enqueued once the batch is done) and store it; True when stored now.
    Rendered outside any transaction, recorded by a conditional update: safe twice."""
    batch = Batch.objects.filter(pk=batch_id, processed_at__isnull=False, acknowledgement="").first()
    if batch is None:
        return False
    pdf = acknowledgement_render(batch=batch)
    name = default_storage.save(f"batches/{batch.pk}/accuse-de-depot-lot-{batch.pk}.pdf", ContentFile(pdf))
    stored = Batch.objects.filter(pk=batch_id, acknowledgement="").update(acknowledgement=name)
    if not stored:
        default_storage.delete(name)
    return bool(stored)


# --- webhooks ------------------------------------------------------------------------------------


def _event(*, batch: Batch, now: datetime) -> None:
    """The batch's change of state, delivered to its organisation's webhooks, written in the
    caller's transaction."""
    webhooks.batch_deliveries_record(
        organisation_id=batch.organisation_id,
        data={
            "object": "batch",
            "id": batch.pk,
            "status": batch.state,
            "status_label": str(BatchState(batch.state).label),
            "received": batch.received,
        },
        now=now,
    )
