"""A dealer's batch file as the portal reads it: CSV (French or English, any delimiter) or XLSX into
rows named as in docs/domain/FIELDS.md, the file-level refusals, and the downloadable template."""

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from openpyxl.styles import Font

from batches import files
from batches.files import ALIASES, COLUMNS, file_rows, header_key, template_csv, template_xlsx
from dossiers.cleaning import holder_clean, vehicle_clean
from dossiers.errors import InvalidInput
from dossiers.models import HOLDER_FIELDS, VEHICLE_FIELDS

VIN = "VF1RJA00568123456"
VIN2 = "VF1RJA00068123457"


def csv_bytes(text: str, *, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def refusal(content: bytes, filename: str = "lot.csv") -> list[tuple[str, str]]:
    """The file-level errors (rule, message) of a refused file."""
    with pytest.raises(InvalidInput) as caught:
        file_rows(content=content, filename=filename)
    assert {error.field for error in caught.value.errors} == {"file"}
    return [(error.rule, error.message) for error in caught.value.errors]


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- Columns ------------------------------------------------------------------------------------


def test_columns_are_the_data_dictionary_headers_from_the_models():
    assert COLUMNS["vehicle.vin"] == "VIN"
    assert COLUMNS["vehicle.make"] == "Marque"
    assert COLUMNS["vehicle.commercial_name"] == "Dénomination commerciale"
    assert COLUMNS["holder.last_name"] == "Nom"
    assert COLUMNS["holder.first_names"] == "Prénoms"
    assert COLUMNS["holder.company_name"] == "Raison sociale"
    assert COLUMNS["holder.postcode"] == "Code postal"
    assert COLUMNS["holder_is_owner"] == "Titulaire propriétaire"
    assert COLUMNS["validity_until"] == "Fin de validité"
    assert COLUMNS["invoice_date"] == "Date de facture"
    assert COLUMNS["mandate_reference"] == "Référence du mandat"
    assert COLUMNS["external_ref"] == "Référence interne"
    expected = [f"vehicle.{name}" for name in VEHICLE_FIELDS if name != "plate"]
    expected += [f"holder.{name}" for name in HOLDER_FIELDS]
    expected += ["holder_is_owner", "validity_until", "invoice_date", "mandate_reference", "external_ref"]
    assert list(COLUMNS) == expected


def test_no_two_fields_share_a_header_once_normalised():
    spellings: dict[str, set[str]] = {}
    for path, header in COLUMNS.items():
        names = {header, path, path.rsplit(".", 1)[-1], files.CODES.get(path, header)}
        for name in names:
            spellings.setdefault(header_key(name), set()).add(path)
    shared = {key: paths for key, paths in spellings.items() if len(paths) > 1}
    assert not shared
    assert ALIASES[header_key("Nom")] == "holder.last_name"
    assert ALIASES[header_key("D.1")] == ALIASES[header_key("make")] == "vehicle.make"


@pytest.mark.parametrize(
    "header",
    [
        "Dénomination commerciale",
        "DENOMINATION_COMMERCIALE",
        "  dénomination-commerciale ",
        "commercial_name",
        "D.3",
    ],
)
def test_a_header_matches_whatever_its_case_accents_and_separators(header):
    rows = file_rows(content=csv_bytes(f"VIN;{header}\n{VIN};CLIO\n"), filename="lot.csv").rows
    assert rows[0].data["vehicle"] == {"vin": VIN, "commercial_name": "CLIO"}
    assert rows[0].columns == {"vehicle.vin": "VIN", "vehicle.commercial_name": header.strip()}


# --- CSV ----------------------------------------------------------------------------------------


def test_a_french_csv_with_bom_semicolons_decimal_commas_and_french_dates():
    content = csv_bytes(
        "vin;MARQUE;dénomination commerciale;Puissance NETTE max;Masse en service;ÉNERGIE;"
        "nom;PRENOMS;code_postal;Commune;Adresse;Date de facture;Référence du mandat;Titulaire propriétaire\n"
        f"{VIN};Renault;Clio;85,5;1 450;ES;Dupont;Marie;75011;Paris;12 rue de la Roquette;12/03/2026;M-1;Non\n",
        bom=True,
    )
    result = file_rows(content=content, filename="livraisons.csv")
    assert result.source == "csv"
    [row] = result.rows
    assert row.row_number == 2
    assert row.data == {
        "vehicle": {
            "vin": VIN,
            "make": "Renault",
            "commercial_name": "Clio",
            "power_kw": "85,5",
            "mass_kg": "1 450",
            "energy": "ES",
        },
        "holder": {
            "last_name": "Dupont",
            "first_names": "Marie",
            "postcode": "75011",
            "city": "Paris",
            "address_line": "12 rue de la Roquette",
        },
        "invoice_date": "12/03/2026",
        "mandate_reference": "M-1",
        "holder_is_owner": False,
    }
    # An error downstream names the dealer's own column.
    assert row.columns["vehicle.vin"] == "vin"
    assert row.columns["vehicle.power_kw"] == "Puissance NETTE max"
    assert row.columns["holder.postcode"] == "code_postal"


def test_an_english_csv_with_commas_and_field_names():
    content = csv_bytes(
        "vin,make,commercial_name,holder.last_name,postcode,invoice_date,external_ref\r\n"
        f"{VIN},RENAULT,CLIO,Martin,25000,2026-03-12,A1\r\n"
        f"{VIN2},PEUGEOT,208,Durand,69003,2026-03-13,A2\r\n"
    )
    rows = file_rows(content=content, filename="batch.csv").rows
    assert [row.row_number for row in rows] == [2, 3]
    assert rows[1].data == {
        "vehicle": {"vin": VIN2, "make": "PEUGEOT", "commercial_name": "208"},
        "holder": {"last_name": "Durand", "postcode": "69003"},
        "invoice_date": "2026-03-13",
        "external_ref": "A2",
    }
    assert rows[0].columns == {
        "vehicle.vin": "vin",
        "vehicle.make": "make",
        "vehicle.commercial_name": "commercial_name",
        "holder.last_name": "holder.last_name",
        "holder.postcode": "postcode",
        "invoice_date": "invoice_date",
        "external_ref": "external_ref",
    }


def test_a_tab_delimited_file():
    rows = file_rows(content=csv_bytes(f"VIN\tMarque\n{VIN}\tRENAULT\n"), filename="lot.txt").rows
    assert rows[0].data["vehicle"] == {"vin": VIN, "make": "RENAULT"}


def test_empty_cells_are_left_out_so_that_required_checks_fire_downstream():
    rows = file_rows(content=csv_bytes(f"VIN;Marque;Nom;Date de facture\n{VIN}; ;;\n"), filename="l.csv").rows
    assert rows[0].data == {"vehicle": {"vin": VIN}, "holder": {}}
    with pytest.raises(InvalidInput) as caught:
        vehicle_clean(rows[0].data["vehicle"])
    assert ("make", "required") in {(e.field.split(".")[-1], e.rule) for e in caught.value.errors}


def test_blank_lines_are_skipped_and_rows_keep_their_spreadsheet_line():
    content = csv_bytes(f"VIN;Marque\n\n{VIN};RENAULT\n;\n\n{VIN2};PEUGEOT\n\n")
    rows = file_rows(content=content, filename="lot.csv").rows
    assert [(row.row_number, row.data["vehicle"]["make"]) for row in rows] == [(3, "RENAULT"), (6, "PEUGEOT")]


def test_quoted_fields_keep_their_delimiters_quotes_and_line_breaks():
    content = csv_bytes(
        "VIN;Adresse;Commune\n"
        f'{VIN};"3 rue du Bac; bâtiment ""B""";Paris\n'
        f'{VIN2};"Résidence des Pins\n12 allée Verte";Lyon\n'
    )
    rows = file_rows(content=content, filename="lot.csv").rows
    assert rows[0].data["holder"] == {"address_line": '3 rue du Bac; bâtiment "B"', "city": "Paris"}
    assert rows[1].data["holder"]["address_line"] == "Résidence des Pins\n12 allée Verte"
    # One record per spreadsheet line, whatever line breaks a cell holds.
    assert [row.row_number for row in rows] == [2, 3]


def test_trailing_empty_columns_are_ignored():
    content = csv_bytes(f"VIN;Marque;;;\n{VIN};RENAULT;;;\n")
    rows = file_rows(content=content, filename="lot.csv").rows
    assert rows[0].data["vehicle"] == {"vin": VIN, "make": "RENAULT"}


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("oui", True),
        ("OUI", True),
        ("Vrai", True),
        ("true", True),
        ("1", True),
        ("O", True),
        ("non", False),
        ("FAUX", False),
        ("False", False),
        ("0", False),
        ("n", False),
        ("peut-être", "peut-être"),
    ],
)
def test_holder_is_owner_reads_french_and_english_booleans(typed, read):
    rows = file_rows(content=csv_bytes(f"VIN;Titulaire propriétaire\n{VIN};{typed}\n"), filename="l.csv").rows
    value = rows[0].data["holder_is_owner"]
    assert value == read and type(value) is type(read)


def test_a_nul_byte_in_a_cell_reaches_the_row_check_without_a_crash():
    rows = file_rows(content=csv_bytes(f"VIN;Marque\n{VIN};REN\x00AULT\n"), filename="lot.csv").rows
    assert rows[0].data["vehicle"]["make"] == "REN\x00AULT"
    with pytest.raises(InvalidInput) as caught:
        vehicle_clean(rows[0].data["vehicle"])
    assert ("vehicle.make", "control_character") in {(e.field, e.rule) for e in caught.value.errors}


# --- XLSX ---------------------------------------------------------------------------------------


def test_an_xlsx_with_real_dates_and_numbers():
    content = xlsx_bytes(
        [
            [
                "VIN",
                "Marque",
                "Puissance nette max",
                "Masse en service",
                "Date de facture",
                "Code postal",
                "Titulaire propriétaire",
            ],
            [VIN, " RENAULT ", 85.5, 1450.0, date(2026, 3, 12), "01000", True],
            [],
            [VIN2, "PEUGEOT", 66, 1200, datetime(2026, 3, 13, 9, 30), 69003, "non"],
        ]
    )
    result = file_rows(content=content, filename="lot.xlsx")
    assert result.source == "xlsx"
    first, second = result.rows
    assert first.row_number == 2 and second.row_number == 4
    assert first.data == {
        "vehicle": {"vin": VIN, "make": "RENAULT", "power_kw": "85.5", "mass_kg": "1450"},
        "holder": {"postcode": "01000"},
        "invoice_date": "2026-03-12",
        "holder_is_owner": True,
    }
    assert second.data["vehicle"]["power_kw"] == "66"
    assert second.data["invoice_date"] == "2026-03-13"
    assert second.data["holder"]["postcode"] == "69003"
    assert second.data["holder_is_owner"] is False
    assert first.columns["vehicle.power_kw"] == "Puissance nette max"


def test_an_xlsx_formatted_to_its_last_column_is_read_row_by_row():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["VIN", "Marque"])
    sheet.append([VIN, "RENAULT"])
    sheet.cell(row=1, column=16384).font = Font(bold=True)  # a styled, empty cell in column XFD
    out = io.BytesIO()
    book.save(out)
    [row] = file_rows(content=out.getvalue(), filename="lot.xlsx").rows
    assert row.data["vehicle"] == {"vin": VIN, "make": "RENAULT"}
    assert row.columns == {"vehicle.vin": "VIN", "vehicle.make": "Marque"}


def test_an_xlsx_is_known_by_its_content_whatever_its_name():
    content = xlsx_bytes([["VIN"], [VIN]])
    assert file_rows(content=content, filename="lot.csv").source == "xlsx"
    assert file_rows(content=csv_bytes(f"VIN\n{VIN}\n"), filename="lot").source == "csv"


# --- File-level refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" ; ;\n;;\n"])
def test_an_empty_file_is_refused(content):
    assert [rule for rule, _message in refusal(content)] == ["empty_file"]


def test_an_empty_xlsx_is_refused():
    assert [rule for rule, _m in refusal(xlsx_bytes([]), "lot.xlsx")] == ["empty_file"]


def test_a_header_without_rows_is_refused():
    assert [rule for rule, _m in refusal(csv_bytes("VIN;Marque\n\n;\n"))] == ["no_rows"]
    assert [rule for rule, _m in refusal(xlsx_bytes([["VIN", "Marque"]]), "lot.xlsx")] == ["no_rows"]


def test_each_unknown_column_is_named():
    errors = refusal(csv_bytes(f"VIN;Marqe;Couleur;Immatriculation\n{VIN};RENAULT;rouge;AB-123-CD\n"))
    assert [rule for rule, _m in errors] == ["unknown_column"] * 3
    messages = [message for _rule, message in errors]
    assert "« Marqe »" in messages[0] and "« Marque »" in messages[0]  # the close header it meant
    assert "« Couleur »" in messages[1]
    assert "attribuée par le portail" in messages[2]
    with pytest.raises(InvalidInput) as caught:
        file_rows(content=csv_bytes(f"VIN;Couleur\n{VIN};rouge\n"), filename="lot.csv")
    assert "Dénomination commerciale" in caught.value.errors[0].expected


def test_the_same_column_twice_is_refused():
    errors = refusal(csv_bytes(f"VIN;Marque;D.1\n{VIN};RENAULT;RENAULT\n"))
    assert [rule for rule, _m in errors] == ["duplicate_column"]
    assert "« Marque »" in errors[0][1] and "« D.1 »" in errors[0][1]


def test_a_file_without_a_vin_column_is_refused_but_other_missing_columns_are_row_errors():
    assert [rule for rule, _m in refusal(csv_bytes("Marque;Nom\nRENAULT;Dupont\n"))] == ["missing_column"]
    rows = file_rows(content=csv_bytes(f"VIN\n{VIN}\n"), filename="lot.csv").rows
    assert rows[0].data == {"vehicle": {"vin": VIN}, "holder": {}}


def test_header_errors_are_all_said_at_once():
    errors = refusal(csv_bytes("Marque;Couleur;Marque\nRENAULT;rouge;RENAULT\n"))
    assert sorted(rule for rule, _m in errors) == ["duplicate_column", "missing_column", "unknown_column"]


def test_more_rows_than_a_batch_holds_is_refused(settings):
    settings.BATCH_MAX_ROWS = 2
    three = csv_bytes(f"VIN\n{VIN}\n{VIN2}\n{VIN}\n")
    errors = refusal(three)
    assert [rule for rule, _m in errors] == ["too_many_rows"]
    assert "2" in errors[0][1]
    assert len(file_rows(content=csv_bytes(f"VIN\n{VIN}\n\n\n{VIN2}\n"), filename="l.csv").rows) == 2


def test_a_file_that_is_not_utf8_is_asked_again_as_csv_utf8():
    latin1 = "VIN;Dénomination commerciale\nVF1;Clio\n".encode("latin-1")
    errors = refusal(latin1)
    assert [rule for rule, _m in errors] == ["encoding"]
    assert "CSV UTF-8" in errors[0][1]
    utf16_without_bom = "VIN;Marque\nVF1;Clio\n".encode("utf-16-le")
    assert [rule for rule, _m in refusal(utf16_without_bom)] == ["encoding"]
    assert [rule for rule, _m in refusal("VIN\nVF1\n".encode("utf-16"))] == ["encoding"]


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "lot.pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "lot.xls"),
        ("VIN;Dénomination\nVF1;Clio\n".encode("cp1252"), "lot.xls"),
        (b"\x00\x01\x02\xff\xfe binary", "lot.ods"),
    ],
)
def test_a_file_neither_csv_nor_xlsx_is_refused(content, filename):
    assert [rule for rule, _m in refusal(content, filename)] == ["format"]


def test_a_csv_is_read_whatever_its_name():
    for filename in ("lot.xlsx", "lot.xls", "lot.txt", "lot"):
        result = file_rows(content=csv_bytes(f"VIN;Marque\n{VIN};RENAULT\n"), filename=filename)
        assert result.source == "csv" and result.rows[0].data["vehicle"]["make"] == "RENAULT"


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")  # an OpenDocument sheet, say
    return out.getvalue()


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04not really a zip", xlsx_bytes([["VIN"], [VIN]])[:300], zip_bytes()]
)
def test_a_corrupt_xlsx_is_refused(content):
    assert [rule for rule, _m in refusal(content, "lot.xlsx")] == ["xlsx_invalid"]


def test_values_outside_the_named_columns_are_refused_with_their_lines():
    # An unquoted comma in a comma-separated file shifts every following value.
    errors = refusal(csv_bytes(f"vin,address_line,city\n{VIN},3 rue du Bac, bât B,Paris\n{VIN2},x,Lyon\n"))
    assert [rule for rule, _m in errors] == ["extra_values"]
    assert "lignes 2" in errors[0][1]
    errors = refusal(csv_bytes(f"VIN;;Marque\n{VIN};oups;RENAULT\n"))
    assert [rule for rule, _m in errors] == ["extra_values"]


def test_a_quote_never_closed_is_refused_with_its_line():
    content = csv_bytes(f'VIN;Adresse\n{VIN};"12 rue du Bac\n' + "x" * 200_000 + "\n")
    errors = refusal(content)
    assert [rule for rule, _m in errors] == ["csv_invalid"]
    assert "ligne" in errors[0][1]


def test_a_nul_byte_in_a_header_is_refused_without_a_crash():
    errors = refusal(csv_bytes("VIN;Mar\x00que\nVF1;Clio\n"))
    assert [rule for rule, _m in errors] == ["encoding"]


# --- Template -----------------------------------------------------------------------------------


def _example_row_is_clean(row):
    vehicle = vehicle_clean(row.data["vehicle"])
    holder = holder_clean(row.data["holder"])
    assert vehicle["vin"] == VIN and vehicle["make"] == "RENAULT" and vehicle["commercial_name"] == "CLIO"
    assert str(vehicle["power_kw"]) == "67.5"
    assert holder["postcode"] == "75011" and holder["department"] == "75"
    assert holder["birth_date"] == date(1985, 4, 12)


def test_the_csv_template_reads_back_as_its_one_example():
    content = template_csv()
    assert content.startswith(b"\xef\xbb\xbf")
    header = content.decode("utf-8-sig").splitlines()[0]
    assert header.split(";") == list(COLUMNS.values())
    result = file_rows(content=content, filename="modele.csv")
    [row] = result.rows
    assert result.source == "csv" and row.row_number == 2
    assert row.data["vehicle"]["power_kw"] == "67,5"
    assert row.data["invoice_date"] == "15/11/2026"
    assert row.data["holder"]["birth_date"] == "12/04/1985"
    assert row.data["holder_is_owner"] is True
    assert row.data["vehicle"]["vin"] == VIN
    assert row.data["holder"] == {
        "holder_kind": "person",
        "last_name": "DUPONT",
        "first_names": "Marie Claire",
        "birth_date": "12/04/1985",
        "email": "marie.dupont@example.fr",
        "address_line": "12 rue de la Roquette",
        "postcode": "75011",
        "city": "Paris",
    }
    assert row.columns == COLUMNS
    _example_row_is_clean(row)


def test_the_xlsx_template_reads_back_as_its_one_example_with_its_help_sheet():
    content = template_xlsx()
    result = file_rows(content=content, filename="modele.xlsx")
    [row] = result.rows
    assert result.source == "xlsx" and row.row_number == 2
    assert row.data["vehicle"]["power_kw"] == "67.5"
    assert row.data["vehicle"]["mass_kg"] == "1180"
    assert row.data["invoice_date"] == "2026-11-15"
    assert row.data["holder_is_owner"] is True
    csv_row = file_rows(content=template_csv(), filename="modele.csv").rows[0]
    assert set(row.data["vehicle"]) == set(csv_row.data["vehicle"])
    assert set(row.data["holder"]) == set(csv_row.data["holder"])
    _example_row_is_clean(row)

    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Véhicules", "Aide"]
    help_rows = list(book["Aide"].iter_rows(values_only=True))
    assert help_rows[0] == ("En-tête", "Nom du champ", "Code du certificat", "Format", "Obligatoire")
    by_field = {line[1]: line for line in help_rows[1:]}
    assert list(by_field) == list(COLUMNS)
    assert by_field["vehicle.make"] == (
        "Marque",
        "vehicle.make",
        "D.1",
        "texte, 60 caractères au plus",
        "oui",
    )
    assert by_field["vehicle.ptra_kg"][3:] == ("nombre entier", "non")
    assert by_field["invoice_date"][3].startswith("date JJ/MM/AAAA")
    assert by_field["holder.last_name"][4] == "oui (personne physique)"
