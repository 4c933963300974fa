"""The one acknowledgement of a batch: what was received, each row accepted (its dossier) and each
row refused (its errors), and the taxes of the accepted vehicles. Laid out by WeasyPrint once the
batch is done, instead of one receipt per vehicle.

WeasyPrint holds a whole document's layout in memory (about 1 GB for a table of 10,000 rows): the
acknowledgement is laid out in parts of ROWS_PER_PART rows, each a few dozen MB, and the parts'
pages joined into one PDF with pypdf."""

import io
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


ROWS_PER_PART = 1000


def _parts(context: dict) -> list[dict]:
    """The contexts of the parts: the summary with the first rows, then the rest by slices."""
    sections = [("refused", context["refused"]), ("accepted", context["accepted"])]
    parts: list[dict] = [{**context, "summary": True, "section": None, "rows": [], "continued": False}]
    for name, rows in sections:
        for start in range(0, len(rows), ROWS_PER_PART):
            parts.append(
                {
                    **context,
                    "summary": False,
                    "section": name,
                    "rows": rows[start : start + ROWS_PER_PART],
                    "continued": start > 0,
                }
            )
    return parts


def acknowledgement_render(*, batch: Batch) -> bytes:
    from pypdf import PdfWriter
    from weasyprint import HTML  # loaded only by the processes that render

    context = acknowledgement_context(batch=batch)
    writer = PdfWriter()
    with translation.override("fr"):
        for part in _parts(context):
            html = render_to_string("batches/acknowledgement_pdf.html", part)
            writer.append(io.BytesIO(HTML(string=html).write_pdf()))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
