"""The issued documents as a holder reads them: every printed value, an A4 page, a working QR code."""

import subprocess
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from cert_workflow.document_data import document_data
from cert_workflow.rendering import render_document, render_document_full
from dossiers.models import Dossier, Procedure, Vehicle
from tests.factories import dealer, draft, holder_data, vehicle_data

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


def test_cpi_says_provisional_and_valid_one_month_in_france(db):
    text = _text(render_document(kind="cpi", data=_data(_dossier(), "cpi")))

    assert "CERTIFICAT PROVISOIRE" in text
    assert "Valable jusqu'au" in text and "05/04/2026" in text
    assert "en France uniquement" in text


def test_duplicate_certificate_says_duplicata_in_z1(db):
    data = _data(_dossier(procedure=Procedure.DUPLICATE), "certificate")

    assert data["Z.1"] == "DUPLICATA"
    assert "DUPLICATA" in _text(render_document(kind="certificate", data=data))


def test_motorcycle_certificate_prints_its_power_to_weight_ratio(db):
    dossier = _dossier(
        genre="MTT2", eu_category="L3e", power_kw="35", mass_kg=200, empty_mass_kg=190, seats=2
    )
    data = _data(dossier, "certificate")

    assert data["Q"] == "0,18"
    assert "0,18" in _text(render_document(kind="certificate", data=data))


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


def _png(pdf: bytes, tmp_path: Path, dpi: int) -> Image.Image:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", source, tmp_path / "page"], check=True)
    return Image.open(tmp_path / "page.png").convert("L")


def test_certificate_renders_as_a_full_a4_page_with_content(db, tmp_path):
    image = _png(render_document(kind="certificate", data=_data(_dossier(), "certificate")), tmp_path, 50)

    width, height = image.size
    assert abs((height / width) / (297 / 210) - 1) < 0.01
    dark = image.histogram()[:128]
    assert sum(dark) > 0.01 * width * height  # a blank page has none


@pytest.mark.parametrize("render", [render_document, render_document_full], ids=["stamped", "full"])
def test_qr_code_decodes_to_the_verification_url_and_is_a_link(db, tmp_path, render):
    zxingcpp = pytest.importorskip("zxingcpp")
    pdf = render(kind="certificate", data=_data(_dossier(), "certificate"), verification_url=URL)

    decoded = [result.text for result in zxingcpp.read_barcodes(_png(pdf, tmp_path, 150))]
    assert decoded == [URL]
    links = [a.get_object() for a in PdfReader(BytesIO(pdf)).pages[0]["/Annots"]]
    assert links and {link["/A"]["/URI"] for link in links} == {URL}
