"""The one acknowledgement of a batch: what was received, each row accepted (its dossier) and each
row refused (its errors), and the taxes of the accepted vehicles. Laid out by WeasyPrint once the
batch is processed, instead of one receipt per vehicle."""

from decimal import Decimal

from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from batches.models import Batch, BatchRow, RowStatus
from dossiers.models import Dossier


def acknowledgement_context(*, batch: Batch) -> dict:
    rows = BatchRow.objects.filter(batch=batch).order_by("row_number")
    accepted = list(
        rows.filter(status=RowStatus.ACCEPTED).values_list(
            "row_number", "vin", "external_ref", "dossier__reference", "dossier__y6"
        )
    )
    refused = [
        (number, error)
        for number, errors in rows.filter(status=RowStatus.REJECTED).values_list("row_number", "errors")
        for error in errors
    ]
    total = Dossier.objects.filter(batch_row__batch=batch).aggregate(total=Sum("y6"))["total"] or Decimal(
        "0.00"
    )
    return {
        "batch": batch,
        "organisation": batch.organisation,
        "received_on": formats.date_format(timezone.localtime(batch.created_at), "DATETIME_FORMAT"),
        "processed_on": formats.date_format(timezone.localtime(batch.processed_at), "DATETIME_FORMAT"),
        "accepted": accepted,
        "refused": refused,
        "refused_rows": rows.filter(status=RowStatus.REJECTED).count(),
        "total": total,
    }


def acknowledgement_render(*, batch: Batch) -> bytes:
    from weasyprint import HTML  # loaded only by the processes that render

    with translation.override("fr"):
        html = render_to_string("batches/acknowledgement_pdf.html", acknowledgement_context(batch=batch))
    return HTML(string=html).write_pdf()
