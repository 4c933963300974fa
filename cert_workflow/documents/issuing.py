"""Issuing documents: which document a dossier gets when (the rendering is render_queue.py).

A document is issued in two steps. `documents_issue` (in the transaction of the decision or right
after it) creates the pending IssuedDocument rows: numéro de formule, frozen printed values, the
plate of a new vehicle; the rows are the truth, so a rendering task lost on the way is found again
by the sweep. `documents_render` (on the `pdf` queue) renders each pending PDF outside any
transaction, stores it under a name fixed by its serial, and records it with a conditional update;
the certificate's record moves the dossier approved → issued and supersedes the vehicle's previous
title. Both are safe to run twice.

Which documents (the choices of issue 4):
- `submitted`: the receipt (accusé de dépôt) for every dossier but those of a batch, which share
  the batch's one acknowledgement. A dealer's first registration
  also takes its plate and gets its CPI at once (DESIGN.md: "a dealer's vehicle as soon as its row
  is accepted"), so that the car can be delivered while the dossier is checked.
- `approved` (agent or straight-through): the certificate for every procedure that produces a title
  (all but the sale declaration, which only records the sale: such a dossier is closed `issued` at
  once with no document). A first registration or an import takes the next plate of the national
  series first, unless its vehicle already has one. Procedures after which the holder waits for a
  new card (first registration, import, change of owner, duplicate) also get a CPI, valid one
  month, until the certificate is issued; a change of address or a correction keeps the current
  card valid meanwhile, so no CPI.
- The certificate, once rendered, supersedes every earlier current title of the same vehicle: the
  CPI of its own dossier, and the certificate of an earlier dossier (a duplicate, a change of
  owner, a change of address or a correction replace the card).
- `rejected`: the rejection letter (its reason is read from the decision's audit event);
  `awaiting_complement`: the complement letter of the open ComplementRequest.
- A dossier that ends without a certificate (`rejected`, or `withdrawn` by its applicant) takes
  its CPI with it: a dealer's CPI issued at submission is withdrawn as of the dossier's closing, so
  that the public verification page stops calling it current. The PDF is no longer served either
  (documents/api.py); the row, its serial and its verification stay, for the record.
"""

import logging
import string
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.documents.data import FORM_KINDS, document_data, one_month_after
from cert_workflow.documents.render_queue import renders_enqueue
from cert_workflow.models import ComplementRequest, DocumentKind, IssuedDocument
from dossiers import states
from dossiers.models import Dossier, DossierEvent, Procedure, State, Vehicle
from dossiers.plates import allocate_plates
from dossiers.sequences import counter_next
from dossiers.transitions import dossier_transition_many

logger = logging.getLogger(__name__)

# Procedures whose approval produces a certificate (all but the sale declaration).
CERTIFICATE_PROCEDURES = frozenset(p for p in Procedure.values if p != Procedure.SALE_DECLARATION)
# Procedures after which the holder waits for a new card and drives meanwhile with a CPI.
CPI_PROCEDURES = frozenset(
    {Procedure.FIRST_REGISTRATION, Procedure.IMPORT, Procedure.CHANGE_OF_OWNER, Procedure.DUPLICATE}
)
# Procedures that put a vehicle on French roads for the first time: it takes the next plate.
PLATE_PROCEDURES = frozenset({Procedure.FIRST_REGISTRATION, Procedure.IMPORT})
# Final states that never produce a certificate: a CPI of such a dossier is withdrawn.
ENDED_WITHOUT_TITLE = (State.REJECTED, State.WITHDRAWN)
# DossierEvent.action of a document withdrawn with its dossier.
DOCUMENT_WITHDRAWN = "document_withdrawn"

SERIAL_LETTERS = string.ascii_uppercase
SERIAL_BLOCK = 100_000  # five digits per pair of letters
SERIALS_PER_YEAR = len(SERIAL_LETTERS) ** 2 * SERIAL_BLOCK


# --- serials (pure) ------------------------------------------------------------------------------


def serial_format(*, year: int, number: int) -> str:
    """The numéro de formule of the `number`-th document of `year`: YYYY, two letters, five digits."""
    if not 0 <= number < SERIALS_PER_YEAR:
        raise ValueError(f"document number {number} is outside 0..{SERIALS_PER_YEAR - 1} for {year}")
    block, digits = divmod(number, SERIAL_BLOCK)
    first, second = divmod(block, len(SERIAL_LETTERS))
    return f"{year:04d}{SERIAL_LETTERS[first]}{SERIAL_LETTERS[second]}{digits:05d}"


def serials_allocate(*, count: int, year: int) -> list[str]:
    """`count` numéros de formule never handed out before (one counter per year, never reused)."""
    last = counter_next(f"document-serial-{year}", count=count)
    return [serial_format(year=year, number=n) for n in range(last - count + 1, last + 1)]


# --- issuing -------------------------------------------------------------------------------------


def plates_assign(*, dossier_ids: list[int]) -> int:
    """Give the next plates of the national series to the plateless vehicles of these first
    registrations and imports; return how many. Vehicle rows are locked, so a rerun assigns nothing."""
    vehicle_ids = set(
        Dossier.objects.filter(pk__in=dossier_ids, procedure__in=PLATE_PROCEDURES)
        .filter(Q(vehicle__plate__isnull=True) | Q(vehicle__plate=""))
        .values_list("vehicle_id", flat=True)
    )
    if not vehicle_ids:
        return 0
    with transaction.atomic():
        vehicles = list(
            Vehicle.objects.select_for_update()
            .filter(Q(plate__isnull=True) | Q(plate=""), pk__in=vehicle_ids)
            .order_by("pk")
        )
        if not vehicles:
            return 0
        plates = allocate_plates(len(vehicles))
        if connection.vendor == "postgresql":
            # One UPDATE ... FROM unnest: bulk_update builds a CASE over every row.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {Vehicle._meta.db_table} AS v SET plate = n.plate"  # noqa: S608 - the model's table
                    " FROM unnest(%s::bigint[], %s::text[]) AS n(id, plate) WHERE v.id = n.id",
                    [[vehicle.pk for vehicle in vehicles], plates],
                )
        else:
            for vehicle, plate in zip(vehicles, plates, strict=True):
                vehicle.plate = plate
            Vehicle.objects.bulk_update(vehicles, ["plate"])
    return len(vehicles)


def documents_issue(
    *,
    dossier_ids: list[int],
    kind: str,
    extra: dict[int, dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """The ids of the `kind` documents of these dossiers, created pending where missing (serial,
    frozen data, validity), their rendering enqueued after commit; a rerun creates nothing new.

    A complement letter belongs to the dossier's open ComplementRequest (one letter per request);
    dossiers without one are skipped. Certificates and CPIs of new vehicles take their plate first.
    """
    if kind not in DocumentKind.values:
        raise ValueError(f"unknown document kind {kind!r}")
    ids = sorted(set(dossier_ids))
    if not ids:
        return []
    extra = extra or {}
    now = now or timezone.now()
    with transaction.atomic():
        if kind in FORM_KINDS:
            plates_assign(dossier_ids=ids)
        requests: dict[int, ComplementRequest] = {}
        if kind == DocumentKind.COMPLEMENT_LETTER:
            requests = {
                r.dossier_id: r
                for r in ComplementRequest.objects.filter(
                    dossier_id__in=ids, answered_at__isnull=True, expired_at__isnull=True
                )
            }
            existing = IssuedDocument.objects.filter(complement_request__in=list(requests.values()))
            done = set(existing.values_list("dossier_id", flat=True))
            todo = [pk for pk in ids if pk in requests and pk not in done]
        else:
            existing = IssuedDocument.objects.filter(dossier_id__in=ids, kind=kind)
            done = set(existing.values_list("dossier_id", flat=True))
            todo = [pk for pk in ids if pk not in done]
        if todo:
            dossiers = (
                Dossier.objects.filter(pk__in=todo)
                .select_related("vehicle", "holder", "cert")
                .prefetch_related("mentions")
            )
            serials = iter(serials_allocate(count=len(todo), year=timezone.localdate(now).year))
            valid_until = one_month_after(now) if kind == DocumentKind.CPI else None
            rows = []
            for dossier in dossiers.order_by("pk"):
                request = requests.get(dossier.pk)
                serial = next(serials)
                details = dict(extra.get(dossier.pk, {}))
                if request is not None:
                    details.setdefault("complement_request", request.pk)
                rows.append(
                    IssuedDocument(
                        dossier=dossier,
                        kind=kind,
                        complement_request=request,
                        serial=serial,
                        data=document_data(
                            dossier=dossier,
                            kind=kind,
                            serial=serial,
                            issued_at=now,
                            valid_until=valid_until,
                            extra=details,
                        ),
                        issued_at=now,
                        valid_until=valid_until,
                    )
                )
            # A concurrent issue of the same document (the hook and the sweep) loses here on the
            # unique constraints and finds the winner's row below; its serial is simply not used.
            IssuedDocument.objects.bulk_create(rows, ignore_conflicts=True)
        if kind == DocumentKind.COMPLEMENT_LETTER:
            issued = IssuedDocument.objects.filter(complement_request__in=list(requests.values()))
        else:
            issued = IssuedDocument.objects.filter(dossier_id__in=ids, kind=kind)
        documents = list(issued.order_by("pk").values_list("pk", "rendered_at"))
        renders_enqueue(
            document_ids=[pk for pk, rendered_at in documents if rendered_at is None],
            letters=kind not in FORM_KINDS,
            single=len(ids) == 1,
        )
    return [pk for pk, _rendered_at in documents]


# --- when: the hooks registered in apps.py -------------------------------------------------------


def submitted_documents_issue(*, dossier_ids: list[int]) -> None:
    """On submission: a dealer's new vehicle gets its plate and CPI at once; everyone a receipt."""
    dealer_new = list(
        Dossier.objects.filter(
            pk__in=dossier_ids, organisation__isnull=False, procedure=Procedure.FIRST_REGISTRATION
        )
        # Already decided and issued (a straight-through approval may run first): nothing to add;
        # already refused or abandoned (a hook run late): a CPI would be withdrawn at once.
        .exclude(issued_documents__kind=DocumentKind.CERTIFICATE)
        .exclude(state__in=ENDED_WITHOUT_TITLE)
        .values_list("pk", flat=True)
    )
    # CPIs first: their tasks are ahead of the receipts on the pdf queue, dealers are waiting.
    documents_issue(dossier_ids=dealer_new, kind=DocumentKind.CPI)
    # A batch's dossiers share the batch's one acknowledgement (batches), not a receipt each.
    receipts = list(
        Dossier.objects.filter(pk__in=dossier_ids, filed_in_batch=False).values_list("pk", flat=True)
    )
    documents_issue(dossier_ids=receipts, kind=DocumentKind.RECEIPT)


def approved_documents_issue(*, dossier_ids: list[int]) -> None:
    """On approval: the certificate (and a CPI where the holder waits for a new card); a sale
    declaration, which produces no title, is closed `issued` at once."""
    rows = list(
        Dossier.objects.filter(pk__in=dossier_ids, state=State.APPROVED).values_list("pk", "procedure")
    )
    certificate = [pk for pk, procedure in rows if procedure in CERTIFICATE_PROCEDURES]
    cpi = [pk for pk, procedure in rows if procedure in CPI_PROCEDURES]
    no_title = [pk for pk, procedure in rows if procedure not in CERTIFICATE_PROCEDURES]
    with transaction.atomic():
        documents_issue(dossier_ids=cpi, kind=DocumentKind.CPI)
        documents_issue(dossier_ids=certificate, kind=DocumentKind.CERTIFICATE)
        if no_title:
            dossier_transition_many(
                dossier_ids=no_title,
                to=State.ISSUED,
                actor=None,
                reason=_("Démarche enregistrée : elle ne donne pas lieu à un nouveau certificat."),
            )


def rejected_documents_issue(*, dossier_ids: list[int]) -> None:
    """On rejection: the CPI issued at submission is withdrawn, the decision letter issued."""
    cpis_withdraw(dossier_ids=dossier_ids)
    documents_issue(dossier_ids=dossier_ids, kind=DocumentKind.REJECTION_LETTER)


def withdrawn_documents_issue(*, dossier_ids: list[int]) -> None:
    """On withdrawal by the applicant: the CPI issued at submission is withdrawn; no letter."""
    cpis_withdraw(dossier_ids=dossier_ids)


def cpis_withdraw(*, dossier_ids: list[int] | None = None) -> list[int]:
    """Withdraw the current CPIs of these dossiers (of all, when None) that ended without a
    certificate, as of the dossier's closing, with an audit event each; return their dossier ids.

    Set-based (a few queries however many dossiers); a rerun withdraws nothing more.
    """
    current = IssuedDocument.objects.filter(
        kind=DocumentKind.CPI,
        superseded_at__isnull=True,
        withdrawn_at__isnull=True,
        dossier__state__in=ENDED_WITHOUT_TITLE,
    )
    if dossier_ids is not None:
        if not dossier_ids:
            return []
        current = current.filter(dossier_id__in=sorted(set(dossier_ids)))
    with transaction.atomic():
        # Locked (the documents only), so that a certificate superseding titles of the same
        # vehicle at the same moment sees the withdrawal, or is seen by it.
        rows = list(
            current.select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "dossier_id", "serial", "dossier__state", "dossier__closed_at")
        )
        if not rows:
            return []
        now = timezone.now()
        IssuedDocument.objects.bulk_update(
            [IssuedDocument(pk=pk, withdrawn_at=closed_at or now) for pk, _d, _s, _st, closed_at in rows],
            ["withdrawn_at"],
        )
        DossierEvent.objects.bulk_create(
            [
                DossierEvent(
                    dossier_id=dossier_id,
                    actor=None,
                    actor_role=states.SYSTEM,
                    action=DOCUMENT_WITHDRAWN,
                    reason=_withdrawal_reason(state),
                    data={"document": pk, "serial": serial, "kind": str(DocumentKind.CPI)},
                    created_at=now,
                )
                for pk, dossier_id, serial, state, _closed_at in rows
            ]
        )
    return [dossier_id for _pk, dossier_id, *_rest in rows]


def _withdrawal_reason(state: str) -> str:
    if state == State.REJECTED:
        return _("Demande refusée : le certificat provisoire (CPI) n'est plus valable.")
    return _("Demande abandonnée : le certificat provisoire (CPI) n'est plus valable.")


def complement_documents_issue(*, dossier_ids: list[int]) -> None:
    """On a complement request: the letter listing what is missing and the deadline."""
    documents_issue(dossier_ids=dossier_ids, kind=DocumentKind.COMPLEMENT_LETTER)


def hook(issue) -> Any:
    """A hook for transitions.register_on_enter that never breaks the transition it follows.

    It runs after the decision's commit: an error here (database gone) must not turn a recorded
    decision into an error page; the sweep finds approved dossiers without their certificate.
    """

    def run(dossier_ids: list[int]) -> None:
        try:
            issue(dossier_ids=dossier_ids)
        except Exception:
            logger.exception("issuing: %s failed for %d dossiers", issue.__name__, len(dossier_ids))

    run.__name__ = f"hook_{issue.__name__}"
    return run


# --- the sweep's part ----------------------------------------------------------------------------


def renders_resume(*, dossier_ids: list[int] = (), document_ids: list[int] = ()) -> None:
    """Issue what approved dossiers are missing and re-enqueue the pending documents: what the
    sweep calls after commit for work whose task was lost."""
    if dossier_ids:
        # Creates the missing certificate and CPI, and re-enqueues those still pending.
        approved_documents_issue(dossier_ids=list(dossier_ids))
    if document_ids:
        kinds = dict(IssuedDocument.objects.filter(pk__in=list(document_ids)).values_list("pk", "kind"))
        renders_enqueue(document_ids=[pk for pk, kind in kinds.items() if kind in FORM_KINDS])
        renders_enqueue(
            document_ids=[pk for pk, kind in kinds.items() if kind not in FORM_KINDS], letters=True
        )
