"""The stamped forms print what a full WeasyPrint render prints, where it prints it."""

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from cert_workflow.documents.data import document_data
from cert_workflow.documents.full_render import render_document_full
from cert_workflow.documents.layout import form_cells, value_fit, value_font
from cert_workflow.documents.rendering import render_document
from tests.factories import dealer, draft, holder_data, vehicle_data

ISSUED = datetime(2026, 3, 5, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
URL = "https://cartegrise.example.fr/verifier/eyJkIjoxMjMsImsiOiJjZXJ0aWZpY2F0ZSJ9.c2lnbmF0dXJl"
TOLERANCE = 1.0  # point

LONG_COMPANY = (
    "SOCIÉTÉ COOPÉRATIVE D'INTÉRÊT COLLECTIF DES TRANSPORTS ET DE LA LOGISTIQUE "
    "DE LA VALLÉE DU DOUBS ET DES PLATEAUX DU JURA — ÉTABLISSEMENT SECONDAIRE DE "
    "MONTBÉLIARD-SOCHAUX, SERVICE DES FLOTTES"
)[:200]
LONG_STREET = (
    "Résidence Les Jardins de l'Observatoire, bâtiment C, escalier 4, appartement 1207, "
    "chez Mme Marie-Antoinette de la Rochefoucauld-Liancourt, 148 bis avenue du Maréchal de Lattre "
    "de Tassigny prolongée"
)[:200]
LONG_CITY = "Saint-Rémy-en-Bouzemont-Saint-Genest-et-Isson lès Vitry-le-François (Marne), cedex 12 bureau B"


def _runs(pdf: bytes) -> list[tuple[str, float, float, float]]:
    """Every text run of the first page: text, x and y of its origin on the page (pt), size."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = abs(tm[3] * cm[3]) or 1
            runs.append((text.strip(), x, y, size * scale))

    PdfReader(BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


def _unmatched(these, those) -> list:
    return [
        run
        for run in these
        if not any(
            run[0] == other[0]
            and abs(run[1] - other[1]) <= TOLERANCE
            and abs(run[2] - other[2]) <= TOLERANCE
            and abs(run[3] - other[3]) <= 0.1
            for other in those
        )
    ]


def _data(
    kind: str, *, vehicle: dict | None = None, holder: dict | None = None, printed: dict | None = None
) -> dict:
    dossier = draft(
        filed_by=dealer(), vehicle=vehicle_data(**(vehicle or {})), holder=holder_data(**(holder or {}))
    )
    data = document_data(dossier=dossier, kind=kind, serial="2026CG00042", issued_at=ISSUED)
    return {**data, **(printed or {})}


CASES = {
    "usual": {},
    "long company name and address": {
        "holder": {
            "holder_kind": "company",
            "company_name": LONG_COMPANY,
            "siret": "73282932000074",
            "last_name": "",
            "first_names": "",
            "birth_date": None,
            "address_line": LONG_STREET,
            "city": LONG_CITY,
        },
        "vehicle": {
            "make": "MERCEDES-BENZ VÉHICULES UTILITAIRES ET DE LOISIRS EUROPE SAS",
            "commercial_name": "SPRINTER 319 CDI FOURGON GRAND VOLUME TOIT SURÉLEVÉ EMPATTEMENT LONG 4X4",
        },
    },
    # Snapshots are plain strings: rendering must cope with more than today's database allows.
    "address longer than three lines": {
        "printed": {
            "C.1": f"{LONG_COMPANY} {LONG_COMPANY}",
            "C.3": f"{LONG_STREET} {LONG_STREET[:100]}\n{LONG_CITY}",
        }
    },
    "long person name": {
        "holder": {
            "last_name": "de Montmorency-Laval-Bouteville-Luxembourg-Châtillon",
            "first_names": "Anne-Charlotte Marie-Geneviève Françoise-Éléonore Bénédicte Joséphine",
        }
    },
}


@pytest.mark.parametrize("kind", ["certificate", "cpi"])
@pytest.mark.parametrize("case", list(CASES))
def test_stamped_form_has_the_same_text_at_the_same_places_as_a_full_render(db, kind, case):
    data = _data(kind, **CASES[case])

    full = _runs(render_document_full(kind=kind, data=data, verification_url=URL))
    stamped = _runs(render_document(kind=kind, data=data, verification_url=URL))

    assert _unmatched(full, stamped) == []
    assert _unmatched(stamped, full) == []
    assert len(full) == len(stamped)


def test_long_names_and_addresses_wrap_and_shrink_without_losing_a_word(db):
    data = _data("certificate", **CASES["long company name and address"])
    data["C.3"] = f"{LONG_STREET} {LONG_STREET[:100]}\n{LONG_CITY}"
    runs = _runs(render_document(kind="certificate", data=data, verification_url=URL))
    text = " ".join(run[0] for run in runs)

    for value in (LONG_COMPANY, f"{LONG_STREET} {LONG_STREET[:100]}", LONG_CITY):
        assert " ".join(value.split()) in " ".join(text.split())
    cells = {cell.key: cell for cell in form_cells("certificate")}
    _, name_lines = value_fit(text=data["C.1"], cell=cells["C.1"], font=value_font())
    address_size, address_lines = value_fit(text=data["C.3"], cell=cells["C.3"], font=value_font())
    assert (len(name_lines), len(address_lines)) == (2, 3)
    assert address_size < cells["C.3"].size  # 300 characters need a smaller size on three lines


def test_stamped_form_links_its_qr_code_where_the_full_render_does(db):
    data = _data("certificate")

    def link(pdf: bytes):
        annots = [a.get_object() for a in PdfReader(BytesIO(pdf)).pages[0]["/Annots"]]
        x1, y1, x2, y2 = (float(v) for v in annots[0]["/Rect"])
        return annots[0]["/A"]["/URI"], [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]

    full_uri, full_rect = link(render_document_full(kind="certificate", data=data, verification_url=URL))
    uri, rect = link(render_document(kind="certificate", data=data, verification_url=URL))
    assert uri == full_uri == URL
    assert all(abs(a - b) <= TOLERANCE for a, b in zip(rect, full_rect, strict=True)), (rect, full_rect)


def test_value_outside_the_stamping_font_is_still_printed(db):
    data = _data("certificate", holder={"last_name": "Papadópoulos Ωmega"})

    text = " ".join(run[0] for run in _runs(render_document(kind="certificate", data=data)))
    assert "PAPADÓPOULOS ΩMEGA Camille Louise" in text


CELL = next(cell for cell in form_cells("certificate") if cell.key == "C.1")


@pytest.mark.parametrize(
    ("text", "lines", "shrunk", "cut"),
    [
        ("MARTIN Camille", 1, False, False),
        ("MARTIN " + "Camille " * 20, 2, False, False),
        ("MARTIN " + "Camille " * 28, 2, True, False),
        ("MARTIN " + "Camille " * 80, 2, True, True),
        ("X" * 150, 2, False, False),  # one word wider than the box is cut where it overflows
    ],
)
def test_value_fit_wraps_then_shrinks_then_cuts(text, lines, shrunk, cut):
    size, fitted = value_fit(text=text, cell=CELL, font=value_font())

    assert len(fitted) == lines
    assert (size < CELL.size) is shrunk
    assert fitted[-1].endswith("…") is cut
    assert size >= CELL.min_size
