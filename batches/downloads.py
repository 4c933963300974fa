"""The files of a batch, for the web pages and the API alike: the rejected rows as CSV, the CPIs
ready so far as one ZIP (streamed, never held whole in memory), the acknowledgement PDF."""

import csv
import io
import zipfile
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from batches import selectors
from batches.models import Batch, BatchRow, RowStatus

ERROR_COLUMNS = (
    "ligne",
    "colonne",
    "champ",
    "regle",
    "message",
    "attendu",
    "valeur_recue",
    "vin",
    "reference_interne",
)


def errors_csv(*, batch: Batch) -> HttpResponse:
    """Every error of every rejected row, one line each (UTF-8 with BOM and `;`, as French
    spreadsheets open it): row, column as in the dealer's file, field, rule, message, expected, value."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(ERROR_COLUMNS)
    rows = BatchRow.objects.filter(batch=batch, status=RowStatus.REJECTED).order_by("row_number")
    for number, errors, vin, ref in rows.values_list("row_number", "errors", "vin", "external_ref"):
        for error in errors:
            writer.writerow(
                (
                    number,
                    error.get("column", ""),
                    error.get("field", ""),
                    error.get("rule", ""),
                    error.get("message", ""),
                    error.get("expected", ""),
                    _csv_safe(error.get("value", "")),
                    _csv_safe(vin),
                    _csv_safe(ref),
                )
            )
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lot-{batch.pk}-erreurs.csv"'
    return response


def _csv_safe(value: str) -> str:
    """A value the dealer typed, written so that a spreadsheet never runs it as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class _Sink(io.RawIOBase):
    """A write-only stream that hands what was written to the generator below."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _cpi_zip_stream(*, batch: Batch) -> Iterator[bytes]:
    sink = _Sink()
    documents = (
        selectors.cpis_ready(batch=batch)
        .select_related("dossier__vehicle", "dossier__batch_row")
        .order_by("dossier__batch_row__row_number")
    )
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for document in documents.iterator(chunk_size=500):
            row = document.dossier.batch_row.row_number
            plate = document.dossier.vehicle.plate or document.dossier.reference
            with default_storage.open(document.file.name, "rb") as pdf:
                archive.writestr(f"ligne-{row:05d}-CPI-{plate}.pdf", pdf.read())
            yield sink.take()
    yield sink.take()


def cpi_zip(*, batch: Batch) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_cpi_zip_stream(batch=batch), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="lot-{batch.pk}-cpi.zip"'
    return response


def acknowledgement(*, batch: Batch) -> FileResponse | None:
    """The acknowledgement PDF, or None while it is being prepared."""
    if not batch.acknowledgement:
        return None
    return FileResponse(
        default_storage.open(batch.acknowledgement.name, "rb"),
        as_attachment=True,
        filename=f"lot-{batch.pk}-accuse-de-depot.pdf",
        content_type="application/pdf",
    )


ACKNOWLEDGEMENT_NOT_READY = _(
    "L'accusé de dépôt du lot est en préparation : il est prêt peu après la fin du lot (toutes ses lignes vérifiées, tous ses CPI prêts)."
)
