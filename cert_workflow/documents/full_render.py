"""Documents laid out from scratch by WeasyPrint: the letters and the receipt always, the forms
as the reference the stamped path matches (and for values the stamping font cannot print)."""

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from cert_workflow.documents.data import FORM_KINDS
from cert_workflow.documents.layout import (
    LINE_HEIGHT,
    QR_BOX,
    VALUE_FONT_FAMILY,
    form_cells,
    value_fit,
    value_font,
)
from cert_workflow.documents.qr import qr_png_data_uri
from dossiers import fees

TEMPLATES = {
    "certificate": "certificates/form.html",
    "cpi": "certificates/form.html",
    "receipt": "certificates/receipt.html",
    "rejection_letter": "certificates/rejection_letter.html",
    "complement_letter": "certificates/complement_letter.html",
}


def _form_context(*, kind: str, data: dict[str, Any], verification_url: str | None, mode: str) -> dict:
    """mode: "values" (a document), "blank" (the form to stamp on), "marker" (a line in every box)."""
    font = value_font()
    blank = mode != "values"
    boxes = []
    for cell in form_cells(kind):
        text = "Xg" if mode == "marker" else "" if blank else str(data.get(cell.key) or "")
        size, lines = value_fit(text=text, cell=cell, font=font) if text else (cell.size, [])
        boxes.append({"cell": cell, "size": size, "lines": lines})
    return {
        "kind": kind,
        "data": data,
        "boxes": boxes,
        "qr": QR_BOX,
        "qr_uri": qr_png_data_uri(verification_url) if verification_url and not blank else "",
        "verification_url": "" if blank else verification_url or "",
        "line_height": LINE_HEIGHT,
        "value_font": VALUE_FONT_FAMILY,
    }


# Y.1–Y.6 named as on every page that shows the fees.
FEE_LABELS = {f"Y.{name[1]}": label for name, label in fees.FEE_LABELS.items()}


def _letter_context(data: dict[str, Any]) -> dict[str, Any]:
    # Certificate codes contain dots, which templates cannot look up: hand them over as rows.
    vehicle = [
        (_("Immatriculation (A)"), data.get("A")),
        (_("VIN (E)"), data.get("E")),
        (_("Véhicule (D.1, D.3)"), " ".join(v for v in (data.get("D.1"), data.get("D.3")) if v)),
    ]
    return {
        "data": data,
        "holder_name": data.get("C.1", ""),
        "holder_address": data.get("C.3", ""),
        "vehicle": [(label, value) for label, value in vehicle if value],
        "fees": [(code, str(label), data.get(code, "")) for code, label in FEE_LABELS.items()],
    }


def page_html(*, kind: str, data: dict[str, Any], verification_url: str | None, mode: str = "values") -> str:
    if kind in FORM_KINDS:
        context = _form_context(kind=kind, data=data, verification_url=verification_url, mode=mode)
    else:
        context = _letter_context(data)
    with translation.override("fr"):
        return render_to_string(TEMPLATES[kind], context)


def render_document_full(*, kind: str, data: dict[str, Any], verification_url: str | None = None) -> bytes:
    """The document laid out from scratch by WeasyPrint (the reference the stamped forms match)."""
    from weasyprint import HTML  # loaded only by the processes that render

    if kind not in TEMPLATES:
        raise ValueError(f"unknown document kind {kind!r}")
    return HTML(string=page_html(kind=kind, data=data, verification_url=verification_url)).write_pdf()
