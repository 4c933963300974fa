"""The fixed layout of the certificate and the CPI: every box of the form, the value font, and
the pure function (`value_fit`) that picks each value's size and line breaks, shared by the full
render and the stamped forms so that both print the same text at the same places."""

import subprocess
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import Any

from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont

VALUE_FONT_FAMILY = "DejaVu Sans"
FALLBACK_FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LINE_HEIGHT = 1.15  # unitless CSS line-height of every value box
PX_PER_PT = 4 / 3  # WeasyPrint lays out in CSS px
PT_PER_MM = 72 / 25.4
A4_HEIGHT_PT = 297 * PT_PER_MM
SHRINK_STEP = 0.5
QR_BOX = {"x": 168.0, "y": 247.0, "size": 30.0}  # mm, bottom right of the form


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


def printable(data: dict[str, Any], cells: tuple[Cell, ...], font: ValueFont) -> bool:
    return all(set(str(data.get(cell.key) or "")) <= font.charset | {"\n"} for cell in cells)
