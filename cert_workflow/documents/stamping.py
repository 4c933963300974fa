"""Stamped forms: each form laid out once per process with WeasyPrint (about 200 ms) and prepared
with pypdf; every document is then that cached form plus a small content stream drawing its values
at the recorded positions (about 2.5 ms)."""

import re
import threading
import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from cert_workflow.documents.full_render import page_html
from cert_workflow.documents.layout import (
    A4_HEIGHT_PT,
    LINE_HEIGHT,
    PT_PER_MM,
    PX_PER_PT,
    QR_BOX,
    Cell,
    ValueFont,
    form_cells,
    value_fit,
    value_font,
)
from cert_workflow.documents.qr import qr_image_rows


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
    from weasyprint import HTML  # loaded only by the processes that render

    document = HTML(string=page_html(kind=kind, data={}, verification_url=None, mode="marker")).render()
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
    from pypdf.generic import (  # loaded only by the processes that render
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
    from pypdf.generic import TextStringObject  # loaded only by the processes that render

    return TextStringObject(text)


def _serialise(obj) -> bytes:
    out = BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _form_build(kind: str) -> _Form:
    """Lay the empty form out with WeasyPrint, then rewrite it with room for one document's values."""
    # Imported here: pypdf and WeasyPrint load only in the processes that render.
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NullObject
    from weasyprint import HTML

    slots = _slots(kind)
    blank = HTML(string=page_html(kind=kind, data={}, verification_url=None, mode="blank")).write_pdf()
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


def stamp(form: _Form, *, data: dict[str, Any], verification_url: str | None) -> bytes:
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
