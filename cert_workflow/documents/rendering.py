"""PDF rendering of issued documents.

Letters and the receipt flow freely and go through WeasyPrint. The certificate and the CPI are
fixed-layout forms: each is laid out once per process with WeasyPrint (about 200 ms), then every
document is the cached form plus a small content stream that draws its values at the recorded
positions (about 2.5 ms). Both paths choose font sizes and line breaks with the same pure function
(`value_fit`), so a stamped document prints the same text at the same places as a full render.
"""

import re
import subprocess
import threading
import zlib
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont

from cert_workflow.documents.data import FORM_KINDS
from cert_workflow.documents.qr import qr_image_rows, qr_png_data_uri

VALUE_FONT_FAMILY = "DejaVu Sans"
FALLBACK_FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINE_HEIGHT = 1.15  # unitless CSS line-height of every value box
PX_PER_PT = 4 / 3  # WeasyPrint lays out in CSS px
PT_PER_MM = 72 / 25.4
A4_HEIGHT_PT = 297 * PT_PER_MM
SHRINK_STEP = 0.5
QR_BOX = {"x": 168.0, "y": 247.0, "size": 30.0}  # mm, bottom right of the form

TEMPLATES = {
    "certificate": "certificates/form.html",
    "cpi": "certificates/form.html",
    "receipt": "certificates/receipt.html",
    "rejection_letter": "certificates/rejection_letter.html",
    "complement_letter": "certificates/complement_letter.html",
}


@dataclass(frozen=True)
class Cell:
    """One box of the form: its code and label, and the value box inside it (mm, from the page's top left)."""

    key: str
    code: str
    label: str
    x: float
    y: float
    w: float
    h: float
    lines: int = 1
    size: float = 9.0  # value font size (pt) before shrinking
    min_size: float = 5.5

    @property
    def value_x(self) -> float:
        return self.x + 1.5

    @property
    def value_y(self) -> float:
        return self.y + 4.6

    @property
    def value_w(self) -> float:
        return self.w - 3.0

    @property
    def value_h(self) -> float:
        return self.h - 5.2


_GRID_X, _GRID_Y, _COL_W, _ROW_H = 12.0, 42.0, 46.5, 10.4
# (code, French label, columns spanned, lines): one tuple per row of the grid.
_ROWS: list[list[tuple[str, str, int, int]]] = [
    [
        ("A", "Numéro d'immatriculation", 1, 1),
        ("B", "Date de première immatriculation", 1, 1),
        ("I", "Date de l'immatriculation", 1, 1),
        ("H", "Période de validité", 1, 1),
    ],
    [("C.1", "Titulaire : nom, prénoms ou raison sociale", 4, 2)],
    [("C.3", "Adresse du titulaire", 4, 3)],
    [("C.4a", "Mention de propriété", 4, 1)],
    [("D.1", "Marque", 2, 2), ("D.3", "Dénomination commerciale", 2, 2)],
    [
        ("D.2", "Type, variante, version", 2, 2),
        ("D.2.1", "CNIT", 1, 1),
        ("X.1", "Date du contrôle technique", 1, 1),
    ],
    [("E", "Numéro d'identification du véhicule", 2, 1), ("K", "Numéro de réception", 2, 2)],
    [
        ("J", "Catégorie CE", 1, 1),
        ("J.1", "Genre national", 1, 1),
        ("J.2", "Carrosserie CE", 1, 1),
        ("J.3", "Carrosserie nationale", 1, 1),
    ],
    [
        ("F.1", "Masse max. admissible (kg)", 1, 1),
        ("F.2", "PTAC en service (kg)", 1, 1),
        ("F.3", "PTRA (kg)", 1, 1),
        ("G", "Masse en service (kg)", 1, 1),
    ],
    [
        ("G.1", "Poids à vide national (kg)", 1, 1),
        ("P.1", "Cylindrée (cm³)", 1, 1),
        ("P.2", "Puissance nette max. (kW)", 1, 1),
        ("P.3", "Énergie", 1, 1),
    ],
    [
        ("P.6", "Puissance administrative (CV)", 1, 1),
        ("Q", "Puissance/masse (kW/kg)", 1, 1),
        ("S.1", "Places assises", 1, 1),
        ("S.2", "Places debout", 1, 1),
    ],
    [
        ("U.1", "Niveau sonore à l'arrêt (dB(A))", 1, 1),
        ("U.2", "Régime moteur (min⁻¹)", 1, 1),
        ("V.7", "CO₂ (g/km)", 1, 1),
        ("V.9", "Classe environnementale", 1, 1),
    ],
    [
        ("Y.1", "Taxe régionale", 1, 1),
        ("Y.2", "Taxe véhicules de transport", 1, 1),
        ("Y.3", "Malus", 1, 1),
        ("Y.4", "Taxe fixe", 1, 1),
    ],
    [
        ("Y.5", "Redevance d'acheminement", 1, 1),
        ("Y.6", "Montant total", 1, 1),
        ("Z.1", "Mention spéciale", 2, 1),
    ],
    [("Z.2", "Mention spéciale", 2, 1), ("Z.3", "Mention spéciale", 2, 1)],
    [("Z.4", "Mention spéciale", 2, 1)],
]


def _grid() -> tuple[Cell, ...]:
    cells, y = [], _GRID_Y
    for row in _ROWS:
        height = max(_ROW_H + (lines - 1) * 4.0 for _, _, _, lines in row)
        x = _GRID_X
        for code, label, span, lines in row:
            size = 11.0 if code == "A" else 9.0
            cells.append(Cell(code, code, label, x, y, span * _COL_W, height, lines, size))
            x += span * _COL_W
        y = round(y + height, 3)
    return tuple(cells)


GRID = _grid()
HEADER = (
    Cell("serial", "", "N° de formule", 140.0, 10.0, 58.0, 10.0),
    Cell("issued_on", "", "Délivré le", 140.0, 20.0, 29.0, 10.0),
)
CPI_HEADER = (Cell("valid_until_on", "", "Valable jusqu'au", 169.0, 20.0, 29.0, 10.0),)


def form_cells(kind: str) -> tuple[Cell, ...]:
    """Every value box of the form of `kind` (certificate or CPI)."""
    return HEADER + (CPI_HEADER if kind == "cpi" else ()) + GRID


# --- The value font: the file fontconfig gives WeasyPrint for the same family. -----------------


class ValueFont:
    """Advance widths, glyph ids and an embeddable subset of the font the form prints values in."""

    # What the stamped path can print; a value with any other character is rendered in full.
    CHARSET = frozenset(
        [chr(c) for c in range(0x20, 0x7F)]
        + [chr(c) for c in range(0xA1, 0x180)]
        + list("‘’‚“”„«»–—…€•·′″⁻¹₂³")
    )

    def __init__(self, path: str):
        self.path = path
        font = TTFont(path)
        self.units = font["head"].unitsPerEm
        self.cmap = font.getBestCmap()
        self.advances = {name: adv for name, (adv, _) in font["hmtx"].metrics.items()}
        self.gid = {
            char: font.getGlyphID(self.cmap[ord(char)]) for char in self.CHARSET if ord(char) in self.cmap
        }
        # Widths of every character the font has: a value with a character outside CHARSET is laid
        # out by WeasyPrint, but still wrapped by value_fit.
        self.width = {chr(code): self.advances[name] for code, name in self.cmap.items()}
        self.charset = frozenset(self.gid)
        head, hhea = font["head"], font["hhea"]
        self.bbox = [round(v * 1000 / self.units) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent = round(hhea.ascent * 1000 / self.units)
        self.descent = round(hhea.descent * 1000 / self.units)
        self.postscript_name = font["name"].getDebugName(6) or "DejaVuSans"

    def text_width(self, text: str, size: float) -> float:
        """Width in the unit of `size`, without kerning (the forms switch kerning off)."""
        fallback = self.units * 0.6  # a character the font lacks: Pango draws it from another font
        return sum(self.width.get(c, fallback) for c in text) * size / self.units

    def subset_bytes(self) -> bytes:
        """The font reduced to CHARSET, glyph ids kept (so Identity-H codes are the original ids)."""
        options = ft_subset.Options()
        options.retain_gids = True
        options.hinting = False
        options.layout_features = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "FFTM", "kern"]
        options.name_IDs = [1, 2, 6]
        options.notdef_outline = True
        font = TTFont(self.path)
        subsetter = ft_subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in self.charset])
        subsetter.subset(font)
        out = BytesIO()
        font.save(out)
        return out.getvalue()


@cache
def value_font() -> ValueFont:
    """The font of the values, found the way WeasyPrint finds it (fontconfig), loaded once."""
    path = FALLBACK_FONT_PATH
    try:
        found = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["fc-match", "-f", "%{file}", VALUE_FONT_FAMILY],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        path = found or path
    except (OSError, subprocess.SubprocessError):
        pass
    return ValueFont(path)


def _wrap(text: str, width: float, size: float, font: ValueFont) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.text_width(candidate, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            # A word wider than the box is cut where it overflows.
            for char in word:
                if line and font.text_width(line + char, size) > width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line)
    return [line for line in lines if line] or [""]


def value_fit(*, text: str, cell: Cell, font: ValueFont) -> tuple[float, list[str]]:
    """The font size (pt) and lines of a value in its box: wrapped first, shrunk when the lines
    run out, cut with an ellipsis only below the smallest size."""
    width = cell.value_w * PT_PER_MM
    size = cell.size
    while True:
        lines = _wrap(text, width, size, font)
        if len(lines) <= cell.lines or size - SHRINK_STEP < cell.min_size - 1e-9:
            break
        size -= SHRINK_STEP
    if len(lines) > cell.lines:
        lines = lines[: cell.lines]
        last = lines[-1]
        while last and font.text_width(last + "…", size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return size, lines


def _printable(data: dict[str, Any], cells: tuple[Cell, ...], font: ValueFont) -> bool:
    return all(set(str(data.get(cell.key) or "")) <= font.charset | {"\n"} for cell in cells)


# --- Full WeasyPrint render -----------------------------------------------------------------------


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


FEE_LABELS = {
    "Y.1": gettext_lazy("Taxe régionale"),
    "Y.2": gettext_lazy("Taxe sur les véhicules de transport"),
    "Y.3": gettext_lazy("Malus"),
    "Y.4": gettext_lazy("Taxe fixe"),
    "Y.5": gettext_lazy("Redevance d'acheminement"),
    "Y.6": gettext_lazy("Montant total"),
}


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


def _html(*, kind: str, data: dict[str, Any], verification_url: str | None, mode: str = "values") -> str:
    if kind in FORM_KINDS:
        context = _form_context(kind=kind, data=data, verification_url=verification_url, mode=mode)
    else:
        context = _letter_context(data)
    with translation.override("fr"):
        return render_to_string(TEMPLATES[kind], context)


def render_document_full(*, kind: str, data: dict[str, Any], verification_url: str | None = None) -> bytes:
    """The document laid out from scratch by WeasyPrint (the reference the stamped forms match)."""
    from weasyprint import HTML

    if kind not in TEMPLATES:
        raise ValueError(f"unknown document kind {kind!r}")
    return HTML(string=_html(kind=kind, data=data, verification_url=verification_url)).write_pdf()


# --- Stamped forms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    cell: Cell
    x: float  # pt, PDF user space
    top: float  # pt from the top of the page to the top of the first line box
    baseline_ratio: float  # distance from the line top to the baseline, per pt of font size


@dataclass
class _Form:
    head: bytes  # the file up to the first object
    body: bytes  # every static object, in order
    offsets: dict[int, int]  # object number -> offset in body
    trailer: bytes
    size: int
    page: tuple[int, bytes, bytes]  # number, dictionary with /Annots, dictionary without
    overlay: int
    annot: int
    qr: int
    slots: tuple[_Slot, ...]


def _slots(kind: str) -> tuple[_Slot, ...]:
    """Where WeasyPrint puts the first line of every value box (laid out with a marker in each)."""
    from weasyprint import HTML

    document = HTML(string=_html(kind=kind, data={}, verification_url=None, mode="marker")).render()
    found: dict[str, tuple[float, float, float]] = {}

    def walk(box) -> None:
        element = getattr(box, "element", None)
        key = element.get("data-field") if element is not None else None
        if key and key not in found and type(box).__name__ == "LineBox":
            found[key] = (box.position_x, box.position_y, box.baseline)
        for child in getattr(box, "children", None) or ():
            walk(child)

    walk(document.pages[0]._page_box)
    slots = []
    for cell in form_cells(kind):
        x_px, top_px, baseline_px = found[cell.key]
        slots.append(_Slot(cell, x_px / PX_PER_PT, top_px / PX_PER_PT, baseline_px / (cell.size * PX_PER_PT)))
    return tuple(slots)


def _font_objects(writer, font: ValueFont):
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
    )

    def stream(data: bytes, **entries) -> Any:
        obj = DecodedStreamObject()
        obj.set_data(data)
        obj.update({NameObject(k): v for k, v in entries.items()})
        return writer._add_object(obj.flate_encode())

    program = font.subset_bytes()
    font_file = stream(program, **{"/Length1": NumberObject(len(program))})
    name = NameObject("/CGVAAA+" + re.sub(r"[^A-Za-z0-9-]", "", font.postscript_name))
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): name,
            NameObject("/Flags"): NumberObject(32),
            NameObject("/FontBBox"): ArrayObject(NumberObject(v) for v in font.bbox),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(font.ascent),
            NameObject("/Descent"): NumberObject(font.descent),
            NameObject("/CapHeight"): NumberObject(font.ascent),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): font_file,
        }
    )
    by_gid = sorted({gid: char for char, gid in sorted(font.gid.items(), reverse=True)}.items())
    widths = ArrayObject()
    for gid, char in by_gid:
        widths += [
            NumberObject(gid),
            ArrayObject([FloatObject(round(font.width[char] * 1000 / font.units, 3))]),
        ]
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): name,
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): _pdf_string("Adobe"),
                    NameObject("/Ordering"): _pdf_string("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): NameObject("/Identity"),
        }
    )
    entries = [f"<{gid:04x}> <{char.encode('utf-16-be').hex()}>" for gid, char in by_gid]
    chunks = [entries[i : i + 100] for i in range(0, len(entries), 100)]
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <ffff>\nendcodespacerange\n"
        + "".join(f"{len(c)} beginbfchar\n" + "\n".join(c) + "\nendbfchar\n" for c in chunks)
        + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type0"),
                NameObject("/BaseFont"): name,
                NameObject("/Encoding"): NameObject("/Identity-H"),
                NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
                NameObject("/ToUnicode"): stream(cmap.encode("ascii")),
            }
        )
    )


def _pdf_string(text: str):
    from pypdf.generic import TextStringObject

    return TextStringObject(text)


def _serialise(obj) -> bytes:
    out = BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _form_build(kind: str) -> _Form:
    """Lay the empty form out with WeasyPrint, then rewrite it with room for one document's values."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NullObject
    from weasyprint import HTML

    slots = _slots(kind)
    blank = HTML(string=_html(kind=kind, data={}, verification_url=None, mode="blank")).write_pdf()
    writer = PdfWriter(clone_from=PdfReader(BytesIO(blank)))
    page = writer.pages[0]
    opening = DecodedStreamObject()
    opening.set_data(b"q\n")
    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else ArrayObject()
    original = list(contents) if isinstance(contents, ArrayObject) else [page.raw_get("/Contents")]
    # Placeholders: their numbers are reserved here, their content is written per document.
    overlay = writer._add_object(NullObject())
    annot = writer._add_object(NullObject())
    qr = writer._add_object(NullObject())
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(opening), *original, overlay])
    resources = DictionaryObject(page["/Resources"].get_object())
    fonts = DictionaryObject(resources.get("/Font", DictionaryObject()).get_object())
    fonts[NameObject("/CgV")] = _font_objects(writer, value_font())
    resources[NameObject("/Font")] = fonts
    xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    xobjects[NameObject("/CgQ")] = qr
    resources[NameObject("/XObject")] = xobjects
    page[NameObject("/Resources")] = resources
    page_number = page.indirect_reference.idnum
    without_annots = _serialise(page)
    page[NameObject("/Annots")] = ArrayObject([annot])
    with_annots = _serialise(page)
    out = BytesIO()
    writer.write(out)
    return _form_split(
        out.getvalue(),
        page=(page_number, with_annots, without_annots),
        dynamic=(overlay.idnum, annot.idnum, qr.idnum),
        slots=slots,
    )


def _form_split(pdf: bytes, *, page: tuple[int, bytes, bytes], dynamic: tuple[int, int, int], slots) -> _Form:
    xref_at = pdf.rindex(b"\nxref\n") + 1
    lines = pdf[xref_at:].split(b"\n")
    first, count = (int(v) for v in lines[1].split())
    positions = {}
    for index, entry in enumerate(lines[2 : 2 + count]):
        offset, _, flag = entry.split()[:3]
        if flag == b"n":
            positions[first + index] = int(offset)
    trailer_at = pdf.index(b"trailer", xref_at)
    trailer = pdf[trailer_at : pdf.index(b"startxref", trailer_at)]
    ordered = sorted(positions.items(), key=lambda item: item[1])
    ends = [offset for _, offset in ordered[1:]] + [xref_at]
    skip = {page[0], *dynamic}
    body, offsets = BytesIO(), {}
    for (number, offset), end in zip(ordered, ends, strict=True):
        if number in skip:
            continue
        offsets[number] = body.tell()
        body.write(pdf[offset:end])
    return _Form(
        head=pdf[: ordered[0][1]],
        body=body.getvalue(),
        offsets=offsets,
        trailer=trailer,
        size=max(positions) + 1,
        page=page,
        overlay=dynamic[0],
        annot=dynamic[1],
        qr=dynamic[2],
        slots=tuple(slots),
    )


_forms: dict[str, _Form] = {}
_forms_lock = threading.Lock()


def form_get(kind: str) -> _Form:
    """The laid-out form of `kind`, built on first use in this process."""
    form = _forms.get(kind)
    if form is None:
        with _forms_lock:
            form = _forms.get(kind) or _form_build(kind)
            _forms[kind] = form
    return form


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _uri_literal(url: str) -> str:
    return "(" + url.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _stamp(form: _Form, *, data: dict[str, Any], verification_url: str | None) -> bytes:
    font = value_font()
    ops = ["Q", "0 g"]
    for slot in form.slots:
        text = str(data.get(slot.cell.key) or "")
        if not text:
            continue
        size, lines = value_fit(text=text, cell=slot.cell, font=font)
        baseline = slot.top + slot.baseline_ratio * size
        for index, line in enumerate(lines):
            y = A4_HEIGHT_PT - (baseline + index * LINE_HEIGHT * size)
            glyphs = "".join(f"{font.gid[c]:04x}" for c in line)
            ops.append(f"BT /CgV {_num(size)} Tf 1 0 0 1 {_num(slot.x)} {_num(y)} Tm <{glyphs}> Tj ET")
    objects: dict[int, bytes] = {}
    x, size = QR_BOX["x"] * PT_PER_MM, QR_BOX["size"] * PT_PER_MM
    y = A4_HEIGHT_PT - (QR_BOX["y"] + QR_BOX["size"]) * PT_PER_MM
    if verification_url:
        side, rows = qr_image_rows(verification_url)
        image = zlib.compress(rows)
        objects[form.qr] = (
            (
                f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
                f"/BitsPerComponent 1 /Interpolate false /Filter /FlateDecode /Length {len(image)} >>\nstream\n"
            ).encode()
            + image
            + b"\nendstream"
        )
        ops.append(f"q {_num(size)} 0 0 {_num(size)} {_num(x)} {_num(y)} cm /CgQ Do Q")
        objects[form.annot] = (
            f"<< /Type /Annot /Subtype /Link /Rect [{_num(x)} {_num(y)} {_num(x + size)} {_num(y + size)}] "
            f"/Border [0 0 0] /F 4 /A << /Type /Action /S /URI /URI {_uri_literal(verification_url)} >> >>"
        ).encode("latin-1", "replace")
        objects[form.page[0]] = form.page[1]
    else:
        objects[form.qr] = b"null"
        objects[form.annot] = b"null"
        objects[form.page[0]] = form.page[2]
    content = zlib.compress("\n".join(ops).encode("ascii"), 6)
    objects[form.overlay] = (
        f"<< /Filter /FlateDecode /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
    )
    return _assemble(form, objects)


def _assemble(form: _Form, objects: dict[int, bytes]) -> bytes:
    out = bytearray(form.head)
    base = len(out)
    out += form.body
    positions = {number: base + offset for number, offset in form.offsets.items()}
    for number, body in objects.items():
        positions[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    entries = ["0000000000 65535 f "]
    for number in range(1, form.size):
        offset = positions.get(number)
        entries.append(f"{offset:010d} 00000 n " if offset is not None else "0000000000 00001 f ")
    out += f"xref\n0 {form.size}\n".encode() + "\n".join(entries).encode() + b"\n"
    out += form.trailer + b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


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
    if not _printable(data, form_cells(kind), value_font()):
        # A character outside the stamping font: WeasyPrint picks a fallback font for it.
        return render_document_full(kind=kind, data=data, verification_url=verification_url)
    return _stamp(form_get(kind), data=data, verification_url=verification_url)
