"""Rendering issued documents on the pdf queue: chunks and priorities of the tasks, the rendering
itself outside any transaction, the PDF stored under a name fixed by its serial, and the record
(a certificate's moves its dossier approved → issued, supersedes earlier titles and notifies the
holder). Safe to run twice: a document already rendered, or being rendered by another worker, is
skipped."""

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.documents.data import FORM_KINDS
from cert_workflow.documents.rendering import render_document
from cert_workflow.documents.signing import verification_url
from cert_workflow.enqueue import task_enqueue
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers.models import Dossier, State
from dossiers.register import titles_record_issued
from dossiers.selectors import dossier_mail_recipients
from dossiers.transitions import dossier_transition_many
from portal.mail import mail_render, mail_send_many

logger = logging.getLogger(__name__)

# Namespace of the session advisory locks that keep two workers off the same document.
_RENDER_LOCK_SPACE = 0x43474450  # "CGDP"


# Broker priorities of the rendering tasks. On Redis the lower number is served first: certificates
# and CPIs (a holder or a dealer waits to drive) are taken before letters and receipts queued
# earlier, and letters never delay a form by more than the tasks already running.
FORM_PRIORITY = 0
LETTER_PRIORITY = 9


def _setting(name: str, default: int) -> int:
    return max(1, int(getattr(settings, name, default)))


def render_chunks(*, document_ids: list[int], letters: bool, single: bool = False) -> list[list[int]]:
    """The tasks that render these documents: one per document for a single decision, else chunks
    of near-equal size, at most RENDER_CHUNK_SIZE forms or RENDER_LETTER_CHUNK_SIZE letters, their
    number a multiple of RENDER_MIN_TASKS (but never more tasks than documents).

    A stamped form costs a few milliseconds, so its chunks are large (per-task costs dominate); a
    letter is a full WeasyPrint layout (~0.1-0.3 s), so its chunks stay small. Equal chunks in a
    multiple of RENDER_MIN_TASKS (8) give 1, 2, 4 or 8 worker processes equal shares: a batch's
    last tasks end together instead of one process rendering a last chunk while the others wait.
    """
    ids = sorted(set(document_ids))
    if not ids:
        return []
    if single:
        return [[pk] for pk in ids]
    limit = _setting("RENDER_LETTER_CHUNK_SIZE", 8) if letters else _setting("RENDER_CHUNK_SIZE", 100)
    spread = _setting("RENDER_MIN_TASKS", 8)
    count = min(len(ids), _round_up(-(-len(ids) // limit), spread))
    base, extra = divmod(len(ids), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + base + (1 if index < extra else 0)
        chunks.append(ids[start:end])
        start = end
    return chunks


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def renders_enqueue(*, document_ids: list[int], letters: bool = False, single: bool = False) -> int:
    """Enqueue the rendering of these documents after commit (render_chunks), forms ahead of
    letters on the pdf queue; return the number of tasks."""
    priority = LETTER_PRIORITY if letters else FORM_PRIORITY
    chunks = render_chunks(document_ids=document_ids, letters=letters, single=single)
    for chunk in chunks:
        task_enqueue("cert_workflow.tasks.render_documents", chunk, priority=priority)
    return len(chunks)


def document_storage_name(document: IssuedDocument) -> str:
    """Where a document's PDF is stored: fixed by its serial, so a rerun replaces, never adds."""
    return f"issued/{document.serial}.pdf"


class StorageCollision(RuntimeError):
    """The storage saved the PDF under another name: someone else wrote the same document."""


def _pdf_store(*, name: str, pdf: bytes) -> str:
    # A file already there is the leftover of an attempt that crashed before recording it: the
    # advisory lock guarantees nobody else is writing it now.
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(pdf))
    if saved != name:  # FileSystemStorage renames on collision instead of overwriting
        default_storage.delete(saved)
        raise StorageCollision(f"{name} appeared while it was being written")
    return saved


@contextmanager
def _render_claim(document_ids: list[int]) -> Iterator[list[int]]:
    """The documents of `document_ids` this process may render now: those no other worker holds.

    PostgreSQL session advisory locks, not a transaction: nothing stays open while rendering, and a
    killed worker's locks vanish with its connection. The embedded mode (SQLite) runs one at a time.
    """
    if connection.vendor != "postgresql" or not document_ids:
        yield list(document_ids)
        return
    keys = [(_RENDER_LOCK_SPACE << 32) | pk for pk in document_ids]
    with connection.cursor() as cursor:
        cursor.execute("SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", [keys])
        held = [row[0] for row in cursor.fetchall()]
    try:
        yield [key & 0xFFFFFFFF for key in held]
    finally:
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", [held])


# Called with the dossier ids of the CPIs just recorded, after their record (batches registers here
# to tell when a batch's last CPI is ready). A hook's failure is logged, never the rendering's.
_ON_CPIS_RENDERED: list[Callable[[list[int]], Any]] = []


def register_on_cpis_rendered(hook: Callable[[list[int]], Any]) -> None:
    """Call hook(dossier_ids) after each recording of rendered CPIs."""
    if hook not in _ON_CPIS_RENDERED:
        _ON_CPIS_RENDERED.append(hook)


def _cpis_rendered(dossier_ids: list[int]) -> None:
    for hook in _ON_CPIS_RENDERED:
        try:
            hook(dossier_ids)
        except Exception:
            logger.exception("render: CPI hook %s failed for %d dossiers", hook, len(dossier_ids))


def documents_render(*, document_ids: list[int]) -> list[int]:
    """Render, store and record each pending document of `document_ids`; return those recorded now.

    Already rendered documents, and those another worker is rendering, are skipped. A certificate's
    record moves its dossier approved → issued, supersedes earlier titles and notifies the holder.
    """
    with _render_claim(sorted(set(document_ids))) as claimed:
        documents = list(
            IssuedDocument.objects.filter(pk__in=claimed, rendered_at__isnull=True)
            .select_related("dossier__vehicle")
            .order_by("pk")
        )
        if not documents:
            return []
        IssuedDocument.objects.filter(pk__in=[d.pk for d in documents]).update(
            render_attempts=F("render_attempts") + 1
        )
        stored: dict[int, dict[str, Any]] = {}
        for document in documents:
            url = verification_url(document) if document.kind in FORM_KINDS else None
            pdf = render_document(kind=document.kind, data=document.data, verification_url=url)
            name = _pdf_store(name=document_storage_name(document), pdf=pdf)
            stored[document.pk] = {
                "file": name,
                "size": len(pdf),
                "sha256": hashlib.sha256(pdf).hexdigest(),
            }
        recorded = _renders_record(stored=stored, documents=documents)
    done = set(recorded)
    cpis = [d.dossier_id for d in documents if d.pk in done and d.kind == DocumentKind.CPI]
    if cpis:
        _cpis_rendered(cpis)
    return recorded


def _renders_record(*, stored: dict[int, dict[str, Any]], documents: list[IssuedDocument]) -> list[int]:
    """One short transaction: record the stored files of documents still pending, then issue."""
    now = timezone.now()
    if not any(d.kind == DocumentKind.CERTIFICATE for d in documents):
        # Letters, receipts and CPIs only record their files: one statement, atomic on its own,
        # without the two round trips of a transaction around it.
        recorded = set(_files_record(stored=stored, now=now))
        return [d.pk for d in documents if d.pk in recorded]
    with transaction.atomic():
        recorded = set(_files_record(stored=stored, now=now))
        pending = [d for d in documents if d.pk in recorded]
        certificates = [d for d in pending if d.kind == DocumentKind.CERTIFICATE]
        if certificates:
            vehicles = {d.pk: d.dossier.vehicle_id for d in certificates}
            _titles_supersede(certificates=certificates, vehicles=vehicles, now=now)
            issued = dossier_transition_many(
                dossier_ids=[d.dossier_id for d in certificates],
                to=State.ISSUED,
                actor=None,
                reason=_("Le certificat d'immatriculation est produit et disponible."),
                data={d.dossier_id: {"document": d.pk, "serial": d.serial} for d in certificates},
            )
            # The register follows the certificate: its holder and serial become the current title.
            moved = set(issued)
            titles_record_issued(
                serials={d.dossier_id: d.serial for d in certificates if d.dossier_id in moved}, issued_at=now
            )
            notices = _issued_notices(dossier_ids=issued)
            # Mail leaves only once the issue is committed, and outside the transaction.
            transaction.on_commit(lambda: mail_send_many(messages=notices, purpose="certificate notices"))
    return [d.pk for d in pending]


def _files_record(*, stored: dict[int, dict[str, Any]], now: datetime) -> list[int]:
    """Record file, size and SHA-256 of the documents of `stored` still pending; return their ids.

    On PostgreSQL one UPDATE ... FROM unnest(...) RETURNING, which locks, checks and writes at once:
    Django's bulk_update builds a CASE per field and row in Python, which cost as much as stamping
    a form's values (about 0.8 ms a document).
    """
    ids = sorted(stored)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {IssuedDocument._meta.db_table} AS d"  # noqa: S608 - the model's own table name
                " SET file = v.file, size = v.size, sha256 = v.sha256, rendered_at = %s"
                " FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::text[]) AS v(id, file, size, sha256)"
                " WHERE d.id = v.id AND d.rendered_at IS NULL RETURNING d.id",
                [
                    now,
                    ids,
                    [stored[pk]["file"] for pk in ids],
                    [stored[pk]["size"] for pk in ids],
                    [stored[pk]["sha256"] for pk in ids],
                ],
            )
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic():
        pending = list(
            IssuedDocument.objects.select_for_update()
            .filter(pk__in=ids, rendered_at__isnull=True)
            .order_by("pk")
        )
        for document in pending:
            document.file.name = stored[document.pk]["file"]
            document.size = stored[document.pk]["size"]
            document.sha256 = stored[document.pk]["sha256"]
            document.rendered_at = now
        IssuedDocument.objects.bulk_update(pending, ["file", "size", "sha256", "rendered_at"])
    return [document.pk for document in pending]


def _titles_supersede(*, certificates: list[IssuedDocument], vehicles: dict[int, int], now: datetime) -> int:
    """Mark every earlier current certificate or CPI of the same vehicles as superseded."""
    by_vehicle = {vehicles[document.pk]: document for document in certificates}
    earlier = list(
        IssuedDocument.objects.select_for_update(of=("self",))
        .filter(
            dossier__vehicle_id__in=list(by_vehicle),
            kind__in=list(FORM_KINDS),
            superseded_at__isnull=True,
            # A withdrawn CPI is no title to replace: it stays withdrawn.
            withdrawn_at__isnull=True,
        )
        .exclude(pk__in=[d.pk for d in certificates])
        .annotate(vehicle_id=F("dossier__vehicle_id"))
        .order_by("pk")
    )
    superseded = []
    for document in earlier:
        newer = by_vehicle[document.vehicle_id]
        # A certificate rendered late never replaces a title issued after it.
        if document.issued_at <= newer.issued_at:
            document.superseded_by = newer
            document.superseded_at = now
            superseded.append(document)
    IssuedDocument.objects.bulk_update(superseded, ["superseded_by", "superseded_at"])
    return len(superseded)


def _issued_notices(*, dossier_ids: list[int]) -> list[EmailMessage]:
    """The e-mails telling the applicant (or the filing dealer) and the holder the card is ready."""
    messages = []
    rows = Dossier.objects.filter(pk__in=dossier_ids).select_related(
        "holder", "vehicle", "applicant", "filed_by"
    )
    for dossier in rows:
        recipients = dossier_mail_recipients(dossier=dossier)
        if not recipients:
            continue
        context = {
            "reference": dossier.reference,
            "plate": dossier.vehicle.plate or "",
            "make": dossier.vehicle.make,
            "model": dossier.vehicle.commercial_name,
            # The dossier's page, where the certificate is downloaded.
            "url": settings.SITE_URL + reverse("dossier-detail", kwargs={"reference": dossier.reference}),
        }
        messages.append(mail_render(to=recipients, template="certificate_issued", context=context))
    return messages
