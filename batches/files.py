"""A dealer's batch file (CSV or XLSX) read into rows named as in docs/domain/FIELDS.md, and its template.

Pure: no database. The reader only finds the columns and the values; every rule on a value (VIN,
dates, numbers, required fields) is applied downstream, row by row, so that one bad row never
stops the others. Only a problem with the file as a whole raises InvalidInput (field "file").

Columns are named by field name ("make", "vehicle.make"), French header ("Marque") or, for a
vehicle field, certificate code ("D.1"), with case, accents, surrounding spaces and the
difference between "_", "-" and a space ignored. Headers come from the models (a vehicle field's
help text, a holder or dossier field's verbose name), so a renamed label changes the file format
in one place.
"""

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import openpyxl
from django.conf import settings
from django.db import models
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from dossiers import validators
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import HOLDER_FIELDS, VEHICLE_FIELDS, Dossier, Holder, Vehicle

BATCH_MAX_ROWS_DEFAULT = 10_000
XLSX_MAGIC = b"PK\x03\x04"
BOM = "\ufeff"
# Dossier facts a batch row carries besides the vehicle and the holder. holder_is_owner and
# validity_until have verbose names made for forms ("le titulaire est propriétaire (C.4a)"):
# their column headers are the short ones of the data dictionary.
_FACT_HEADERS = {
    "holder_is_owner": _lazy("Titulaire propriétaire"),
    "validity_until": _lazy("Fin de validité"),
}
FACT_FIELDS = ("holder_is_owner", "validity_until", "invoice_date", "mandate_reference", "external_ref")
_FACT_CODES = {"holder_is_owner": "C.4a", "validity_until": "H"}
# The plate is the portal's to give, never the dealer's: its column gets a message of its own.
_PLATE_HEADERS = ("plate", "vehicle.plate", str(Vehicle._meta.get_field("plate").help_text))
_TRUE = frozenset({"oui", "vrai", "true", "1", "o"})
_FALSE = frozenset({"non", "faux", "false", "0", "n"})
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SEPARATORS = re.compile(r"[\s_-]+")
# Signatures of files people upload by mistake instead of a CSV (PDF, old .xls, images, gzip).
_NOT_CSV = (b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"\x1f\x8b", b"GIF8")
# Binary content under these names is a spreadsheet or document of another format, not a CSV.
_SPREADSHEET_EXTENSIONS = frozenset({"xls", "xlsx", "xlsm", "xlsb", "ods", "numbers", "pdf"})


def _field_codes() -> dict[str, str]:
    """Each field path's certificate code (vehicle fields' verbose names, two dossier facts)."""
    codes = {f"vehicle.{name}": str(Vehicle._meta.get_field(name).verbose_name) for name in VEHICLE_FIELDS}
    codes.update(_FACT_CODES)
    return codes


def _columns() -> dict[str, str]:
    columns = {
        f"vehicle.{name}": str(Vehicle._meta.get_field(name).help_text)
        for name in VEHICLE_FIELDS
        if name != "plate"
    }
    columns.update(
        {f"holder.{name}": capfirst(str(Holder._meta.get_field(name).verbose_name)) for name in HOLDER_FIELDS}
    )
    for name in FACT_FIELDS:
        columns[name] = str(_FACT_HEADERS.get(name) or capfirst(Dossier._meta.get_field(name).verbose_name))
    return columns


# Field path → French header, in the template's order.
COLUMNS: dict[str, str] = _columns()
CODES: dict[str, str] = {path: code for path, code in _field_codes().items() if path in COLUMNS}


def header_key(header: str) -> str:
    """A header as it is matched: no accents, case folded, "_", "-" and spaces alike, trimmed."""
    text = unicodedata.normalize("NFKD", header)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def _aliases() -> dict[str, str]:
    """Every accepted spelling (normalised) → field path. Two fields sharing one is a bug: raised here."""
    aliases: dict[str, str] = {}
    for path, header in COLUMNS.items():
        names = {header, path, path.rsplit(".", 1)[-1]}
        if path in CODES:
            names.add(CODES[path])
        for name in names:
            key = header_key(name)
            if aliases.setdefault(key, path) != path:
                raise RuntimeError(f"batch column {name!r} names both {aliases[key]} and {path}")
    return aliases


ALIASES: dict[str, str] = _aliases()


@dataclass(frozen=True)
class FileRow:
    row_number: int  # the line as a spreadsheet shows it: the header is line 1
    data: dict[str, Any]  # {"vehicle": {...}, "holder": {...}, facts...}; empty cells left out
    columns: dict[str, str]  # field path → the file's own header (shared by every row: do not mutate)


@dataclass(frozen=True)
class FileRows:
    source: str  # "csv" or "xlsx" (batches.models.BatchSource)
    rows: list[FileRow]


def _file_error(rule: str, message: str, expected: str = "") -> FieldError:
    return FieldError("file", rule, message, expected)


def _shown(text: str) -> str:
    """A header as it can be echoed in a message: at most 100 characters, no control character."""
    return _CONTROL_CHARACTER.sub("\ufffd", text[:100])


def max_rows() -> int:
    return getattr(settings, "BATCH_MAX_ROWS", BATCH_MAX_ROWS_DEFAULT)


def file_rows(*, content: bytes, filename: str) -> FileRows:
    """The rows of a CSV or XLSX batch file, keyed by field path; InvalidInput for a file-level problem.

    The content decides: a zip is an XLSX, text is a CSV whatever its name. The extension only
    tells a spreadsheet of another format (.xls, .ods) from a CSV in the wrong encoding."""
    if not content.strip().lstrip(BOM.encode()).strip():
        raise InvalidInput(
            [_file_error("empty_file", _("Le fichier est vide."), _("un fichier CSV ou XLSX"))]
        )
    if content.startswith(XLSX_MAGIC):
        return FileRows(source="xlsx", rows=_rows(_xlsx_lines(content)))
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return FileRows(source="csv", rows=_rows(_csv_lines(content, extension=extension)))


def _not_csv_nor_xlsx() -> InvalidInput:
    return InvalidInput(
        [
            _file_error(
                "format",
                _(
                    "Ce fichier n'est ni un CSV ni un classeur Excel (.xlsx) : enregistrez-le "
                    "au format « CSV UTF-8 » ou « Classeur Excel (.xlsx) »."
                ),
                "CSV UTF-8, XLSX",
            )
        ]
    )


def _csv_lines(content: bytes, *, extension: str) -> Iterator[list[str]]:
    """The CSV's records (one per spreadsheet line, blank ones included), delimiter found on the header."""
    if content.startswith(_NOT_CSV):
        raise _not_csv_nor_xlsx()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    first = next((line for line in io.StringIO(text) if line.strip()), "") if text is not None else ""
    # UTF-16 ("Texte Unicode" in Excel) decodes as UTF-8 only without its BOM, with a NUL per letter.
    if text is None or "\x00" in first:
        if extension in _SPREADSHEET_EXTENSIONS:
            raise _not_csv_nor_xlsx()
        raise InvalidInput(
            [
                _file_error(
                    "encoding",
                    _(
                        "Le fichier n'est pas encodé en UTF-8 : dans votre tableur, enregistrez-le "
                        "au format « CSV UTF-8 (délimité par des virgules) »."
                    ),
                    "CSV UTF-8",
                )
            ]
        )
    return _csv_records(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first.rstrip("\r\n"))))


def _csv_records(reader: Any) -> Iterator[list[str]]:
    """The reader's records; a quote never closed (its field swallows the rest of the file past the
    csv module's limit) is the file's problem, said with the line where it went wrong."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InvalidInput(
            [
                _file_error(
                    "csv_invalid",
                    _(
                        "Le fichier CSV est mal formé vers la ligne %(line)d : un guillemet n'est pas "
                        "refermé ou une valeur est trop longue."
                    )
                    % {"line": reader.line_num},
                    _("des valeurs entre guillemets refermés"),
                )
            ]
        ) from exc


def _delimiter(line: str) -> str:
    """The most frequent of ";", "," and tab outside quotes on the header line (";" by default)."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {delimiter: outside.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ";"


def _xlsx_lines(content: bytes) -> Iterator[list[str]]:
    """The first sheet's rows as text, every row (blank ones included) so that numbers match the sheet."""
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # a broken archive raises zipfile, XML, KeyError...: all mean the same
        raise _xlsx_invalid() from exc
    return _sheet_lines(book)


def _sheet_lines(book: Any) -> Iterator[list[str]]:
    try:
        sheet = book.worksheets[0]
        # Each row as wide as its own last cell, not as the sheet's declared dimension: a sheet
        # whose formatting spans A:XFD would otherwise give 16,384 cells a row.
        sheet.reset_dimensions()
        for row in sheet.iter_rows(min_row=1, values_only=True):
            yield [_xlsx_text(value) for value in row]
    except Exception as exc:  # the sheet's XML is read lazily, here
        raise _xlsx_invalid() from exc
    finally:
        book.close()


def _xlsx_invalid() -> InvalidInput:
    return InvalidInput(
        [
            _file_error(
                "xlsx_invalid",
                _(
                    "Le classeur Excel est illisible ou endommagé : enregistrez-le de nouveau "
                    "en « Classeur Excel (.xlsx) » ou en « CSV UTF-8 »."
                ),
                "XLSX",
            )
        ]
    )


def _xlsx_text(value: Any) -> str:
    """A cell as the text a CSV would hold: ISO days, whole numbers without ".0", "" for empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "vrai" if value else "faux"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value)


def _rows(lines: Iterator[list[str]]) -> list[FileRow]:
    """The data rows under the first non-blank line (the header); read no further than the limit."""
    numbered = enumerate(lines, start=1)
    for _number, line in numbered:
        header = [cell.strip().lstrip(BOM).strip() for cell in line]
        if any(header):
            break
    else:
        raise InvalidInput([_file_error("empty_file", _("Le fichier est vide."), _("une ligne d'en-têtes"))])
    paths, columns = _header_map(header)
    limit = max_rows()
    rows: list[FileRow] = []
    extra: list[int] = []
    width = len(paths)
    unnamed = [i for i, path in enumerate(paths) if path is None]
    targets = _targets(paths)
    for row_number, line in numbered:
        cells = [cell.strip() for cell in line]
        if not any(cells):
            continue
        if any(cells[width:]) or any(cells[i] for i in unnamed if i < len(cells)):
            extra.append(row_number)
            continue
        if len(rows) >= limit:
            raise InvalidInput(
                [
                    _file_error(
                        "too_many_rows",
                        _("Un lot compte au plus %(max)d véhicules : découpez le fichier en plusieurs lots.")
                        % {"max": limit},
                        _("%(max)d lignes au plus") % {"max": limit},
                    )
                ]
            )
        rows.append(FileRow(row_number=row_number, data=_row_data(cells, targets), columns=columns))
    if extra:
        raise InvalidInput([_extra_values_error(extra)])
    if not rows:
        raise InvalidInput(
            [
                _file_error(
                    "no_rows",
                    _("Le fichier ne contient aucune ligne de véhicule sous la ligne d'en-têtes."),
                    _("au moins une ligne de véhicule"),
                )
            ]
        )
    return rows


def _extra_values_error(lines: list[int]) -> FieldError:
    shown = ", ".join(str(number) for number in lines[:20]) + (" ..." if len(lines) > 20 else "")
    return _file_error(
        "extra_values",
        _(
            "Des valeurs se trouvent hors des colonnes nommées (lignes %(lines)s) : une valeur "
            "contenant le séparateur doit être entre guillemets, et chaque colonne a un en-tête."
        )
        % {"lines": shown},
        _("une valeur par colonne nommée"),
    )


def _header_map(header: list[str]) -> tuple[list[str | None], dict[str, str]]:
    """Each column's field path (None for an unnamed one) and field path → header; InvalidInput
    listing every unknown or repeated column and a missing VIN column."""
    while header and not header[-1]:
        header.pop()
    errors: list[FieldError] = []
    paths: list[str | None] = []
    columns: dict[str, str] = {}
    for text in header:
        if not text:
            paths.append(None)
            continue
        key = header_key(text)
        path = ALIASES.get(key)
        paths.append(path)
        if path is None:
            errors.append(_unknown_column_error(text, key))
        elif path in columns:
            errors.append(
                _file_error(
                    "duplicate_column",
                    _("Les colonnes « %(first)s » et « %(second)s » désignent le même champ (%(field)s).")
                    % {"first": _shown(columns[path]), "second": _shown(text), "field": COLUMNS[path]},
                    _("une seule colonne par champ"),
                )
            )
        else:
            columns[path] = text
    if "vehicle.vin" not in columns:
        errors.append(
            _file_error(
                "missing_column",
                _(
                    "La colonne « %(header)s » est obligatoire : chaque ligne est un véhicule désigné par son VIN."
                )
                % {"header": COLUMNS["vehicle.vin"]},
                COLUMNS["vehicle.vin"],
            )
        )
    if errors:
        raise InvalidInput(errors)
    return paths, columns


def _unknown_column_error(text: str, key: str) -> FieldError:
    if key in {header_key(name) for name in _PLATE_HEADERS}:
        return _file_error(
            "unknown_column",
            _(
                "La colonne « %(header)s » n'est pas acceptée : l'immatriculation d'un véhicule neuf "
                "est attribuée par le portail."
            )
            % {"header": _shown(text)},
            _("les en-têtes du modèle de fichier"),
        )
    close = difflib.get_close_matches(key, ALIASES, n=1, cutoff=0.8)
    hint = (
        " " + _("Vouliez-vous dire « %(header)s » ?") % {"header": COLUMNS[ALIASES[close[0]]]}
        if close
        else ""
    )
    return _file_error(
        "unknown_column",
        _("Colonne inconnue : « %(header)s ».") % {"header": _shown(text)} + hint,
        ", ".join(COLUMNS.values()),
    )


def _targets(paths: list[str | None]) -> list[tuple[int, str | None, str]]:
    """Each named column's (index, part, name): part "vehicle" or "holder", None for a dossier fact."""
    targets = []
    for index, path in enumerate(paths):
        if path is not None:
            part, _dot, name = path.rpartition(".")
            targets.append((index, part or None, name))
    return targets


def _row_data(cells: list[str], targets: list[tuple[int, str | None, str]]) -> dict[str, Any]:
    """One row's non-empty cells (already stripped) as {"vehicle": {...}, "holder": {...}, facts}."""
    data: dict[str, Any] = {"vehicle": {}, "holder": {}}
    count = len(cells)
    for index, part, name in targets:
        if index >= count or not cells[index]:
            continue
        if part is not None:
            data[part][name] = cells[index]
        elif name == "holder_is_owner":
            data[name] = _boolean(cells[index])
        else:
            data[name] = cells[index]
    return data


def _boolean(value: str) -> bool | str:
    """oui/non, vrai/faux, true/false, 1/0, o/n in any case; anything else is kept for the row's error."""
    lowered = value.casefold()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return value


# --- The template -------------------------------------------------------------------------------------

# A new Renault Clio for a private buyer: every column a dealer usually fills, in the accepted formats.
EXAMPLE: dict[str, Any] = {
    "vehicle.vin": "VF1RJA00568123456",
    "vehicle.make": "RENAULT",
    "vehicle.type_variant_version": "RJABE2MT6C",
    "vehicle.cnit": "M10RENVP0A1B234",
    "vehicle.commercial_name": "CLIO",
    "vehicle.max_mass_kg": 1640,
    "vehicle.ptac_kg": 1640,
    "vehicle.mass_kg": 1180,
    "vehicle.empty_mass_kg": 1105,
    "vehicle.eu_category": "M1",
    "vehicle.genre": "VP",
    "vehicle.eu_body": "AB",
    "vehicle.body": "CI",
    "vehicle.approval_number": "e2*2007/46*0654*15",
    "vehicle.displacement_cm3": 999,
    "vehicle.power_kw": Decimal("67.5"),
    "vehicle.energy": "ES",
    "vehicle.fiscal_power": 5,
    "vehicle.seats": 5,
    "vehicle.co2_g_km": 118,
    "vehicle.euro_class": "EURO6",
    "vehicle.noise_db": 72,
    "vehicle.noise_rpm": 3750,
    "holder.holder_kind": "person",
    "holder.last_name": "DUPONT",
    "holder.first_names": "Marie Claire",
    "holder.birth_date": date(1985, 4, 12),
    "holder.email": "marie.dupont@example.fr",
    "holder.address_line": "12 rue de la Roquette",
    "holder.postcode": "75011",
    "holder.city": "Paris",
    "holder_is_owner": True,
    "invoice_date": date(2026, 11, 15),
    "mandate_reference": "MAN-2026-000123",
    "external_ref": "CMD-4512",
}


def _french(value: Any) -> str:
    """A template value as a French spreadsheet writes it: 15/11/2026, 67,5, oui."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        return str(value).replace(".", ",")
    return str(value)


def template_csv() -> bytes:
    """The batch template as CSV: UTF-8 with BOM (Excel then reads accents right), ";", one example."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS.values())
    writer.writerow(_french(EXAMPLE[path]) if path in EXAMPLE else "" for path in COLUMNS)
    return (BOM + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The batch template as XLSX: sheet "Véhicules" (headers, one example with real dates and
    numbers) and sheet "Aide" (each column's header, field name, certificate code, format, need)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("Véhicules")
    sheet.append(list(COLUMNS.values()))
    sheet.append([_xlsx_example(EXAMPLE.get(path)) for path in COLUMNS])
    for cell in sheet[2]:
        if isinstance(cell.value, date):
            cell.number_format = "DD/MM/YYYY"
        elif isinstance(cell.value, str):
            cell.number_format = "@"  # a postcode keeps its leading zero
    for cell in sheet[1]:
        sheet.column_dimensions[cell.column_letter].width = max(12, len(str(cell.value)) + 2)
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet(_("Aide"))
    help_sheet.append(
        [_("En-tête"), _("Nom du champ"), _("Code du certificat"), _("Format"), _("Obligatoire")]
    )
    for path, header in COLUMNS.items():
        help_sheet.append([header, path, CODES.get(path, ""), column_format(path), column_required(path)])
    for letter, width in zip("ABCDE", (36, 34, 18, 70, 34), strict=True):
        help_sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_example(value: Any) -> Any:
    if isinstance(value, bool):
        return _french(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


_SPECIAL_FORMATS = {
    "vehicle.vin": _lazy("17 caractères, chiffres et lettres sauf I, O et Q"),
    "vehicle.cnit": _lazy("12 ou 15 caractères"),
    "vehicle.energy": format_lazy("{} {}", _lazy("code P.3 :"), ", ".join(validators.ENERGY_CODES)),
    "vehicle.genre": format_lazy("{} {}", _lazy("code J.1 :"), ", ".join(validators.GENRE_CODES)),
    "vehicle.co2_g_km": _lazy("nombre entier de g/km (WLTP)"),
    "vehicle.power_kw": _lazy("nombre décimal de kW, une décimale au plus (ex. 67,5)"),
    "holder.holder_kind": _lazy("person (personne physique) ou company (personne morale) ; person si vide"),
    "holder.siret": _lazy("14 chiffres"),
    "holder.postcode": _lazy("5 chiffres"),
    "holder.department": _lazy("déduit du code postal si vide"),
    "holder_is_owner": _lazy("oui ou non (non : location longue durée, crédit-bail) ; oui si vide"),
}


def column_format(path: str) -> str:
    """What a column holds, in French, from the model field's type unless it has a rule of its own."""
    if path in _SPECIAL_FORMATS:
        return str(_SPECIAL_FORMATS[path])
    field = _model_field(path)
    if isinstance(field, models.DateField):
        return _("date JJ/MM/AAAA ou AAAA-MM-JJ")
    if isinstance(field, models.DecimalField):
        return _("nombre décimal (virgule ou point)")
    if isinstance(field, models.IntegerField):
        return _("nombre entier")
    if isinstance(field, models.EmailField):
        return _("adresse électronique")
    return _("texte, %(n)d caractères au plus") % {"n": field.max_length}


_SPECIAL_REQUIRED = {
    "vehicle.co2_g_km": _lazy("oui, sauf énergie EL ou H2"),
    "vehicle.mass_kg": _lazy("oui pour une voiture (VP)"),
    "holder.holder_kind": _lazy("non"),
    "holder.last_name": _lazy("oui (personne physique)"),
    "holder.first_names": _lazy("oui (personne physique)"),
    "holder.company_name": _lazy("oui (personne morale)"),
    "holder.siret": _lazy("oui (personne morale)"),
    "holder.department": _lazy("non"),
    "invoice_date": _lazy("oui"),
    "mandate_reference": _lazy("oui"),
}


def column_required(path: str) -> str:
    """Whether a column must be filled, in French: the model's own rule unless the domain's differs."""
    if path in _SPECIAL_REQUIRED:
        return str(_SPECIAL_REQUIRED[path])
    field = _model_field(path)
    optional = field.blank or field.null or field.has_default()
    return _("non") if optional else _("oui")


def _model_field(path: str) -> models.Field:
    model = {"vehicle": Vehicle, "holder": Holder}.get(path.split(".", 1)[0], Dossier)
    return model._meta.get_field(path.rsplit(".", 1)[-1])
