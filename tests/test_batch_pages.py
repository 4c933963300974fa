"""The dealer's batch pages, as a dealer uses them: upload a French CSV and land on the batch page
with its counts and rows; a refused file shows every error at once and stores nothing; the form
sent twice makes one batch; the progress JSON, the errors CSV, the acknowledgement, the CPI ZIP and
the templates; another organisation's dealer, a citizen and an agent get 404.

Tasks run in-process (the `issuing` fixture), as in tests/test_batches.py."""

import csv
import html
import io
import re
import uuid
import zipfile

import pytest
from django.urls import reverse
from pypdf import PdfReader

from batches import files
from batches.models import Batch, BatchRow, RowStatus
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = factories.BATCH_CSV_HEADER


def french_csv(*, co2_missing_on_second: bool = True) -> bytes:
    return factories.batch_csv_french(co2_missing_on_second=co2_missing_on_second)


def upload(content: bytes, name: str = "livraisons.csv") -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def words(response) -> str:
    """The page's text as a reader sees it: no tags, no scripts, spaces collapsed."""
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def form_key(page: str) -> str:
    return re.search(r'name="key" value="([0-9a-f]{32})"', page).group(1)


@pytest.fixture
def dealer(issuing):
    return factories.dealer()


@pytest.fixture
def web(client, dealer):
    client.force_login(dealer)
    return client


@pytest.fixture
def batch(web, django_capture_on_commit_callbacks) -> Batch:
    """A French CSV uploaded through the page: row 2 accepted, row 3 refused (no CO2)."""
    key = form_key(web.get(reverse("batch-list")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("batch-list"), {"file": upload(french_csv()), "key": key})
    assert response.status_code == 302
    return Batch.objects.get()


def test_a_french_csv_uploaded_leads_to_its_batch_page_with_counts_and_rows(web, batch):
    response = web.get(reverse("batch-detail", args=[batch.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    text = words(response)
    assert f"Lot n° {batch.pk}" in text and "livraisons.csv" in text
    assert "Terminé" in text and 'value="100"' in page
    assert 'http-equiv="refresh"' not in page and "Actualiser la page" not in text
    assert re.search(r"Lignes acceptées : 1\b", text) and re.search(r"Lignes refusées : 1\b", text)
    assert re.search(r"CPI prêts : 1\b", text)
    accepted = BatchRow.objects.get(batch=batch, status=RowStatus.ACCEPTED).dossier
    assert accepted.reference in text and accepted.vehicle.plate in text
    cpi = accepted.issued_documents.get(kind="cpi")
    assert reverse("dossier-issued-document", args=[accepted.reference, cpi.pk]) in page
    # The refused row names the dealer's own column and says why in French; no stored code shown.
    assert "CO2 :" in text
    for code in ("required_for_thermal", "vehicle.co2_g_km", "accepted", "rejected", "pending"):
        assert code not in text, code
    assert "Accusé de dépôt du lot (PDF)" in text and "Lignes refusées et leurs erreurs (CSV)" in text
    # The filter keeps the refused row only.
    refused = words(web.get(reverse("batch-detail", args=[batch.pk]), {"statut": "rejected"}))
    assert "Refusé" in refused and accepted.reference not in refused

    listing = words(web.get(reverse("batch-list")))
    assert f"Lot n° {batch.pk}" in listing and "livraisons.csv" in listing


def test_a_refused_file_shows_every_error_at_once_and_stores_nothing(web, dealer):
    key = form_key(web.get(reverse("batch-list")).content.decode())
    before = factories.batch_stored()
    bad = HEADER.replace("Marque", "Marqeu").replace("CO2", "Couleur") + "\r\n" + "X;Y\r\n"
    response = web.post(reverse("batch-list"), {"file": upload(bad.encode()), "key": key})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="error-summary"' in page and "autofocus" in page
    assert "Fichier refusé : 2 erreurs, aucun véhicule enregistré" in words(response)
    summary = page[page.index('id="error-summary"') : page.index("</ul>", page.index('id="error-summary"'))]
    assert summary.count('href="#id_file"') == 2
    assert "Colonne inconnue : « Marqeu »" in summary and "Vouliez-vous dire « Marque » ?" in summary
    assert "Colonne inconnue : « Couleur »" in summary
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_file-error"' in page
    assert factories.batch_stored() == before
    # The page shown again carries a new key, so that the corrected file makes a new batch.
    assert form_key(page) != key

    before = factories.batch_stored()
    response = web.post(reverse("batch-list"), {"key": key})
    assert "Choisissez le fichier du lot (CSV ou XLSX)." in words(response)
    assert factories.batch_stored() == before


def test_the_form_sent_twice_makes_one_batch_and_a_corrected_file_a_new_one(
    web, django_capture_on_commit_callbacks
):
    key = form_key(web.get(reverse("batch-list")).content.decode())
    content = french_csv()
    with django_capture_on_commit_callbacks(execute=True):
        first = web.post(reverse("batch-list"), {"file": upload(content), "key": key})
        second = web.post(reverse("batch-list"), {"file": upload(content), "key": key})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Batch.objects.count() == 1

    # Back on the same form, the corrected file (CO2 given) is a new batch, not a conflict.
    corrected = french_csv(co2_missing_on_second=False)
    with django_capture_on_commit_callbacks(execute=True):
        third = web.post(reverse("batch-list"), {"file": upload(corrected), "key": key})
    assert third.status_code == 302 and third["Location"] != first["Location"]
    assert Batch.objects.count() == 2
    assert Batch.objects.order_by("pk").last().valid == 2


def test_a_tampered_form_key_is_an_error_on_the_file_and_stores_nothing(web):
    before = factories.batch_stored()
    response = web.post(reverse("batch-list"), {"file": upload(french_csv()), "key": "x" * 40})
    assert response.status_code == 200
    assert "Ce formulaire n'est plus valable" in words(response)
    assert 'href="#id_file"' in response.content.decode()
    assert factories.batch_stored() == before


def test_a_dealer_without_the_tax_agrement_is_told_before_uploading(issuing, client):
    dealer = factories.dealer(organisation=factories.OrganisationFactory(tax_agrement=False))
    client.force_login(dealer)
    response = client.get(reverse("batch-list"))
    assert response.status_code == 200
    text = words(response)
    assert "Votre organisation ne peut pas déposer de lot" in text
    assert "agréés pour encaisser les taxes" in text
    assert 'type="file"' not in response.content.decode()


def test_the_progress_json_says_done_with_the_counts(web, batch):
    data = web.get(reverse("batch-progress", args=[batch.pk])).json()
    assert data["done"] is True and data["progress"] == 100 and data["state_label"] == "Terminé"
    assert data["counts"]["received"] == 2
    assert (data["counts"]["valid"], data["counts"]["rejected"], data["counts"]["cpi_ready"]) == (1, 1, 1)


def test_the_errors_csv_names_the_refused_row_and_its_column(web, batch):
    response = web.get(reverse("batch-errors", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert [(row["ligne"], row["colonne"]) for row in rows] == [("3", "CO2")]


def test_the_acknowledgement_and_the_cpi_zip(web, batch):
    response = web.get(reverse("batch-acknowledgement", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"Accusé de dépôt du lot n° {batch.pk}" in text

    response = web.get(reverse("batch-cpis", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    plate = BatchRow.objects.get(batch=batch, status=RowStatus.ACCEPTED).dossier.vehicle.plate
    assert archive.namelist() == [f"ligne-00002-CPI-{plate}.pdf"]
    assert archive.read(archive.namelist()[0]).startswith(b"%PDF")


@pytest.mark.parametrize(
    ("name", "filename"), [("batch-template-csv", "x.csv"), ("batch-template-xlsx", "x.xlsx")]
)
def test_the_templates_read_back_as_one_example_row(web, name, filename):
    response = web.get(reverse(name))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    read = files.file_rows(content=response.content, filename=filename)
    assert read.source == filename.rsplit(".", 1)[-1]
    assert len(read.rows) >= 1 and read.rows[0].data["vehicle"]["vin"]


def test_another_organisations_dealer_gets_404_on_every_batch_url(batch, client):
    client.force_login(factories.dealer())
    for name in ("batch-detail", "batch-progress", "batch-errors", "batch-cpis", "batch-acknowledgement"):
        assert client.get(reverse(name, args=[batch.pk])).status_code == 404, name
    assert f"Lot n° {batch.pk}" not in words(client.get(reverse("batch-list")))


@pytest.mark.parametrize("role", ["citizen", "agent"])
def test_a_citizen_or_an_agent_gets_404_on_the_batch_pages(batch, client, role):
    client.force_login(getattr(factories, role)())
    before = factories.batch_stored()
    for url in (
        reverse("batch-list"),
        reverse("batch-template-csv"),
        reverse("batch-detail", args=[batch.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("batch-list"), {"file": upload(french_csv()), "key": uuid.uuid4().hex})
    assert response.status_code == 404
    assert factories.batch_stored() == before


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("batch-list"))
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_a_batch_still_running_reloads_itself_without_javascript_and_polls_with_it(web):
    """No task run (no on-commit callback executed): the batch stays received."""
    key = form_key(web.get(reverse("batch-list")).content.decode())
    response = web.post(reverse("batch-list"), {"file": upload(french_csv()), "key": key}, follow=True)
    batch = Batch.objects.get()
    page = response.content.decode()
    assert response.redirect_chain == [(reverse("batch-detail", args=[batch.pk]), 302)]
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert "Actualiser la page" in words(response) and reverse("batch-progress", args=[batch.pk]) in page
    assert 'value="0"' in page and "Reçu" in words(response)
    data = web.get(reverse("batch-progress", args=[batch.pk])).json()
    assert (data["done"], data["progress"], data["state_label"]) == (False, 0, "Reçu")
    # Nothing to download yet, and the page says when it will be.
    assert reverse("batch-acknowledgement", args=[batch.pk]) not in page
    assert (
        "L'accusé de dépôt du lot (PDF) est prêt peu après la fin du lot (toutes ses lignes vérifiées, tous ses CPI prêts)."
        in words(response)
    )
    assert web.get(reverse("batch-acknowledgement", args=[batch.pk])).status_code == 404


def test_the_excel_template_filled_in_and_uploaded_makes_an_xlsx_batch(
    web, django_capture_on_commit_callbacks
):
    template = web.get(reverse("batch-template-xlsx")).content
    key = form_key(web.get(reverse("batch-list")).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("batch-list"), {"file": upload(template, "modele.xlsx"), "key": key})
    assert response.status_code == 302
    batch = Batch.objects.get()
    assert (batch.source, batch.filename, batch.received) == ("xlsx", "modele.xlsx", 1)
    text = words(web.get(reverse("batch-detail", args=[batch.pk])))
    assert "modele.xlsx" in text and "Terminé" in text
