"""PDF rendering of issued documents.

Letters and the receipt flow freely and go through WeasyPrint. The certificate and the CPI are
fixed-layout forms: each is laid out once per process with WeasyPrint (about 200 ms), then every
document is the cached form plus a small content stream that draws its values at the recorded
positions (about 2.5 ms). Both paths choose font sizes and line breaks with the same pure function
(`value_fit`), so a stamped document prints the same text at the same places as a full render.
The parts: layout.py (the boxes and the value font), full_render.py (WeasyPrint), stamping.py
(the cached forms), qr.py; this module chooses the path and warms a pdf worker up.
"""

from typing import Any

from cert_workflow.documents.data import FORM_KINDS
from cert_workflow.documents.full_render import TEMPLATES, render_document_full
from cert_workflow.documents.layout import form_cells, printable, value_font
from cert_workflow.documents.stamping import form_get, stamp

# Values for the warm-up only: every block of every template is laid out once.
_WARM_UP_DATA = {
    "reference": "CG-2026-0000000",
    "serial": "2026AA00000",
    "issued_on": "01/01/2026",
    "submitted_on": "01/01/2026",
    "procedure_label": "Première immatriculation",
    "cert": "CERT",
    "A": "AA-001-AA",
    "C.1": "Camille Martin",
    "C.3": "1 rue des Lilas\n25000 Besançon",
    "D.1": "RENAULT",
    "D.3": "CLIO",
    "E": "VF1RFB00000000000",
    "Y.6": "0,00 €",
    "decided_on": "01/01/2026",
    "reason": "Pièce manquante",
    "message": "Texte de l'agent.",
    "items": [{"code": "identity", "label": "Pièce d'identité"}],
    "deadline": "01/02/2026",
}


def renderer_warm_up() -> None:
    """Pay, once, what the first document of each kind costs a fresh process: importing
    WeasyPrint, laying the two forms out, compiling the letter templates, loading the fonts.

    A pdf worker calls it in its main process before the pool forks, so that every pool process
    (and each one that replaces a dead one) starts warm and the first letters after a restart are
    not several times slower than the next ones.
    """
    url = "https://warm-up.invalid/verifier/warm-up"
    for kind in TEMPLATES:
        render_document(kind=kind, data=_WARM_UP_DATA, verification_url=url if kind in FORM_KINDS else None)


def render_document(*, kind: str, data: dict[str, Any], verification_url: str | None = None) -> bytes:
    """The document's PDF: forms stamped into their cached layout, letters laid out by WeasyPrint."""
    if kind not in FORM_KINDS:
        return render_document_full(kind=kind, data=data, verification_url=verification_url)
    if not printable(data, form_cells(kind), value_font()):
        # A character outside the stamping font: WeasyPrint picks a fallback font for it.
        return render_document_full(kind=kind, data=data, verification_url=verification_url)
    return stamp(form_get(kind), data=data, verification_url=verification_url)
