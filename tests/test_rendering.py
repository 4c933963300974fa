"""The issued documents as a holder reads them: every printed value, an A4 page, a working QR code."""

from datetime import datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from cert_workflow.documents.data import OWNER_MENTION, document_data
from cert_workflow.documents.full_render import render_document_full
from cert_workflow.documents.layout import A4_HEIGHT_PT, PT_PER_MM, form_cells
from cert_workflow.documents.rendering import render_document
from dossiers.models import Dossier, Procedure, Vehicle
from dossiers.services import title_mentions_set
from tests.factories import dealer, draft, holder_data, vehicle_data
from tests.pdf import rasterise

PARIS = ZoneInfo("Europe/Paris")
ISSUED = datetime(2026, 3, 5, 10, 30, tzinfo=PARIS)
URL = "https://cartegrise.example.fr/verifier/eyJkIjoxMjMsImsiOiJjZXJ0aWZpY2F0ZSJ9.c2lnbmF0dXJl"
KINDS = ["certificate", "cpi", "receipt", "rejection_letter", "complement_letter"]


def _dossier(*, procedure: str = Procedure.FIRST_REGISTRATION, **vehicle) -> Dossier:
    dossier = draft(
        filed_by=dealer(),
        procedure=Procedure.FIRST_REGISTRATION,
        vehicle=vehicle_data(vin="VF1RFB00123456789", **vehicle),
        holder=holder_data(),
    )
    Vehicle.objects.filter(pk=dossier.vehicle_id).update(plate="GH-512-KL")
    Dossier.objects.filter(pk=dossier.pk).update(
        procedure=procedure,
        submitted_at=datetime(2026, 3, 2, 9, 0, tzinfo=PARIS),
        y1=Decimal("385"),
        y2=Decimal("0"),
        y3=Decimal("1172"),
        y4=Decimal("11"),
        y5=Decimal("2.76"),
        y6=Decimal("1570.76"),
    )
    return Dossier.objects.select_related("vehicle", "holder").get(pk=dossier.pk)


def _data(dossier: Dossier, kind: str, **extra) -> dict:
    return document_data(dossier=dossier, kind=kind, serial="2026CG00042", issued_at=ISSUED, extra=extra)


def _text(pdf: bytes) -> str:
    # Words as read, whatever the line breaks.
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())


# The printed value of every certificate field for the factories' Renault Mégane and its holder.
CERTIFICATE_VALUES = {
    "A": "GH-512-KL",
    "B": "05/03/2026",
    "C.1": "MARTIN Camille Louise",
    "C.3": "12 rue des Lilas",
    "C.3 city": "25000 Besançon",
    "C.4a": "EST LE PROPRIETAIRE DU VEHICULE",
    "D.1": "RENAULT",
    "D.2": "RFB0A2",
    "D.2.1": "M10RENVP000A123",
    "D.3": "MEGANE",
    "E": "VF1RFB00123456789",
    "F.1": "1850",
    "G": "1350",
    "G.1": "1280",
    "I": "05/03/2026",
    "J": "M1",
    "J.1": "VP",
    "J.2": "AB",
    "J.3": "CI",
    "K": "e2*2007/46*0534*12",
    "P.1": "1332",
    "P.2": "103",
    "P.3": "ES",
    "P.6": "7",
    "S.1": "5",
    "V.7": "128",
    "V.9": "EURO6",
    "Y.1": "385,00 €",
    "Y.3": "1 172,00 €",
    "Y.4": "11,00 €",
    "Y.5": "2,76 €",
    "Y.6": "1 570,76 €",
    "serial": "2026CG00042",
}


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
@pytest.mark.parametrize("kind", ["certificate", "cpi"])
def test_certificate_and_cpi_print_every_field_of_the_vehicle_and_holder(db, render, kind):
    data = _data(_dossier(), kind)
    text = _text(render(kind=kind, data=data, verification_url=URL))

    for code, value in CERTIFICATE_VALUES.items():
        assert value in text, f"{code}: {value!r} missing"
    assert "Rendu du portail — ce document n'est pas le formulaire sécurisé" in text
    assert "F.2" in text and "Z.4" in text  # the codes are printed next to the values
    assert data["Q"] == "" and data["Z.1"] == ""  # a car: no power/weight ratio, no mention


def _boxes(pdf: bytes, kind: str) -> dict[str, str]:
    """The text printed inside each value box of the form (its lines joined by a space), by code.

    A run belongs to a box when its origin lies in the box: the field's label, printed above the
    value box, never does, so a value printed in the wrong box or not at all shows here.
    """
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((text, x, A4_HEIGHT_PT - y))

    PdfReader(BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    printed = {}
    for cell in form_cells(kind):
        left, right = (cell.value_x - 0.5) * PT_PER_MM, (cell.value_x + cell.value_w) * PT_PER_MM
        top, bottom = cell.value_y * PT_PER_MM, (cell.value_y + cell.value_h) * PT_PER_MM
        inside = sorted((y, x, text) for text, x, y in runs if left <= x <= right and top <= y <= bottom)
        printed[cell.key] = " ".join(" ".join(text for _, _, text in inside).split())
    return printed


# A vehicle, holder and dossier with a distinct value in every field of the form: an imported
# minibus that tows, carries standing passengers and four special mentions. Q (power/weight) is
# printed for motorcycles only: see the motorcycle test below.
FULL_VEHICLE = {
    "vin": "WDB9066351P482157",
    "make": "MERCEDES-BENZ",
    "type_variant_version": "906BB35",
    "cnit": "M10MCDVP000J512",
    "commercial_name": "SPRINTER TRAVEL 65",
    "max_mass_kg": 4100,
    "ptac_kg": 3880,
    "ptra_kg": 6600,
    "mass_kg": 2915,
    "empty_mass_kg": 2740,
    "eu_category": "M2",
    "genre": "TCP",
    "eu_body": "CE",
    "body": "BUS",
    "approval_number": "e1*2007/46*0585*07",
    "displacement_cm3": 2987,
    "power_kw": "140.5",
    "energy": "GO",
    "fiscal_power": 12,
    "seats": 17,
    "standing_places": 6,
    "co2_g_km": 263,
    "euro_class": "EURO6E",
    "first_registration_date": "2023-06-14",
    # U.1, U.2 and X.1: register facts of the vehicle.
    "noise_db": 78,
    "noise_rpm": 2850,
    "technical_inspection_date": "2025-10-02",
}
FULL_HOLDER = holder_data(
    last_name="Fournier-Lambert",
    first_names="Hélène Margaux",
    birth_date="1979-09-23",
    address_line="48 bis quai Aristide Briand",
    postcode="17300",
    city="Rochefort",
)
FULL_FACTS = {"validity_until": "2027-03-04"}
# Z.1–Z.4: written by the register or an agent through the service, never by the applicant.
FULL_MENTIONS = [
    "VÉHICULE DE DÉMONSTRATION",
    "TRANSPORT EN COMMUN D'ENFANTS",
    "ATTELAGE AUTORISÉ",
    "IMPORTÉ D'ALLEMAGNE",
]
FULL_FEES = {"y1": "552", "y2": "128.50", "y3": "2105", "y4": "11", "y5": "2.76", "y6": "2799.26"}
# What every box of the certificate prints for them; the CPI adds its end of validity.
FULL_VALUES = {
    "serial": "2026CG00042",
    "issued_on": "05/03/2026",
    "A": "FX-318-RT",
    "B": "14/06/2023",
    "I": "05/03/2026",
    "H": "04/03/2027",
    "C.1": "FOURNIER-LAMBERT Hélène Margaux",
    "C.3": "48 bis quai Aristide Briand 17300 Rochefort",
    "C.4a": OWNER_MENTION,
    "D.1": "MERCEDES-BENZ",
    "D.3": "SPRINTER TRAVEL 65",
    "D.2": "906BB35",
    "D.2.1": "M10MCDVP000J512",
    "X.1": "02/10/2025",
    "E": "WDB9066351P482157",
    "K": "e1*2007/46*0585*07",
    "J": "M2",
    "J.1": "TCP",
    "J.2": "CE",
    "J.3": "BUS",
    "F.1": "4100",
    "F.2": "3880",
    "F.3": "6600",
    "G": "2915",
    "G.1": "2740",
    "P.1": "2987",
    "P.2": "140,5",
    "P.3": "GO",
    "P.6": "12",
    "Q": "",
    "S.1": "17",
    "S.2": "6",
    "U.1": "78",
    "U.2": "2850",
    "V.7": "263",
    "V.9": "EURO6E",
    "Y.1": "552,00 €",
    "Y.2": "128,50 €",
    "Y.3": "2 105,00 €",
    "Y.4": "11,00 €",
    "Y.5": "2,76 €",
    "Y.6": "2 799,26 €",
    "Z.1": "VÉHICULE DE DÉMONSTRATION",
    "Z.2": "TRANSPORT EN COMMUN D'ENFANTS",
    "Z.3": "ATTELAGE AUTORISÉ",
    "Z.4": "IMPORTÉ D'ALLEMAGNE",
}


def _full_dossier(**facts) -> Dossier:
    dossier = draft(
        filed_by=dealer(),
        procedure=Procedure.IMPORT,
        vehicle=vehicle_data(**FULL_VEHICLE),
        holder=FULL_HOLDER,
        facts={**FULL_FACTS, **facts},
    )
    title_mentions_set(dossier=dossier, mentions=FULL_MENTIONS)
    Vehicle.objects.filter(pk=dossier.vehicle_id).update(plate="FX-318-RT")
    Dossier.objects.filter(pk=dossier.pk).update(
        **{name: Decimal(value) for name, value in FULL_FEES.items()}
    )
    return Dossier.objects.select_related("vehicle", "holder").get(pk=dossier.pk)


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
@pytest.mark.parametrize("kind", ["certificate", "cpi"])
def test_fully_filled_certificate_and_cpi_print_each_value_in_the_box_of_its_code(db, render, kind):
    pdf = render(kind=kind, data=_data(_full_dossier(), kind), verification_url=URL)

    expected = {**FULL_VALUES, **({"valid_until_on": "05/04/2026"} if kind == "cpi" else {})}
    assert _boxes(pdf, kind) == expected
    # Every value is distinct, so each one was found in its own box and nowhere else.
    values = [value for code, value in FULL_VALUES.items() if value and code not in ("issued_on", "I")]
    assert len(set(values)) == len(values)


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
@pytest.mark.parametrize("kind", ["certificate", "cpi"])
def test_leased_vehicle_certificate_and_cpi_leave_out_the_owner_mention(db, render, kind):
    pdf = render(kind=kind, data=_data(_full_dossier(holder_is_owner=False), kind), verification_url=URL)

    printed = _boxes(pdf, kind)
    assert printed["C.4a"] == ""
    assert "PROPRIETAIRE" not in _text(pdf)
    # The holder (the lessee) and everything else are printed as usual.
    assert {code: printed[code] for code in FULL_VALUES if code != "C.4a"} == {
        code: value for code, value in FULL_VALUES.items() if code != "C.4a"
    }


def test_cpi_says_provisional_and_valid_one_month_in_france(db):
    text = _text(render_document(kind="cpi", data=_data(_dossier(), "cpi")))

    assert "CERTIFICAT PROVISOIRE" in text
    assert "Valable jusqu'au" in text and "05/04/2026" in text
    assert "en France uniquement" in text


def test_duplicate_certificate_says_duplicata_in_z1(db):
    data = _data(_dossier(procedure=Procedure.DUPLICATE), "certificate")

    assert data["Z.1"] == "DUPLICATA"
    assert "DUPLICATA" in _text(render_document(kind="certificate", data=data))


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
@pytest.mark.parametrize("kind", ["certificate", "cpi"])
def test_motorcycle_certificate_and_cpi_print_its_power_to_weight_ratio_in_q(db, render, kind):
    dossier = _dossier(
        genre="MTT2", eu_category="L3e", power_kw="35", mass_kg=200, empty_mass_kg=190, seats=2
    )
    data = _data(dossier, kind)

    assert data["Q"] == "0,18"
    printed = _boxes(render(kind=kind, data=data, verification_url=URL), kind)
    assert (printed["Q"], printed["P.2"], printed["G"]) == ("0,18", "35", "200")


def test_receipt_shows_reference_procedure_submission_date_and_fees(db):
    dossier = _dossier()
    text = _text(render_document(kind="receipt", data=_data(dossier, "receipt")))

    for value in (dossier.reference, "Première immatriculation d'un véhicule neuf", "02/03/2026"):
        assert value in text
    for value in ("385,00 €", "1 172,00 €", "11,00 €", "2,76 €", "1 570,76 €", "Accusé de dépôt"):
        assert value in text
    assert "MARTIN Camille Louise" in text and "25000 Besançon" in text


def test_rejection_letter_gives_the_reason_label_and_the_agent_text(db):
    data = _data(
        _dossier(), "rejection_letter", reason_code="document_unreadable", message="Le COC est illisible."
    )
    text = _text(render_document(kind="rejection_letter", data=data))

    assert "Pièce illisible ou incomplète" in text
    assert "Le COC est illisible." in text
    assert "Décision de refus" in text


def test_complement_letter_lists_the_items_in_french_with_the_deadline(db):
    deadline = datetime(2026, 4, 5, 23, 59, tzinfo=PARIS)
    data = _data(_dossier(), "complement_letter", items=["insurance", "co2_g_km"], deadline=deadline)
    text = _text(render_document(kind="complement_letter", data=data))

    assert "Attestation d'assurance" in text
    assert "V.7 — CO2" in text
    assert "05/04/2026" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_stays_under_100_kb(db, kind):
    data = _data(_dossier(), kind, items=["insurance"], deadline=ISSUED)

    assert len(render_document(kind=kind, data=data, verification_url=URL)) < 100_000
    assert len(render_document_full(kind=kind, data=data, verification_url=URL)) < 100_000


def _png(pdf: bytes, dpi: int) -> Image.Image:
    return rasterise(pdf, dpi=dpi).convert("L")


def test_certificate_renders_as_a_full_a4_page_with_content(db):
    image = _png(render_document(kind="certificate", data=_data(_dossier(), "certificate")), 50)

    width, height = image.size
    assert abs((height / width) / (297 / 210) - 1) < 0.01
    dark = image.histogram()[:128]
    assert sum(dark) > 0.01 * width * height  # a blank page has none


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
def test_qr_code_decodes_to_the_verification_url_and_is_a_link(db, render):
    zxingcpp = pytest.importorskip("zxingcpp")
    pdf = render(kind="certificate", data=_data(_dossier(), "certificate"), verification_url=URL)

    results = zxingcpp.read_barcodes(_png(pdf, 150))
    assert [result.text for result in results] == [URL]
    # Marked as text, not binary data (ECI): a phone's camera offers to open it.
    assert [result.content_type for result in results] == [zxingcpp.ContentType.Text]
    links = [a.get_object() for a in PdfReader(BytesIO(pdf)).pages[0]["/Annots"]]
    assert links and {link["/A"]["/URI"] for link in links} == {URL}
