"""Dealer batches: received under an Idempotency-Key, every row checked by the rules of a single
registration, the valid rows made into submitted dossiers with their plates and CPIs, the refused
ones named by row, column, rule and value; files, acknowledgement, scope.

Tasks run in-process here (the `issuing` fixture); tests/test_batches_worker.py runs the same
through a real worker on PostgreSQL."""

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from batches import services
from batches.models import Batch, BatchRow, BatchState, RowStatus
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers.models import Dossier, DossierEvent, State, Vehicle
from portal import organisation, tokens
from tests import factories
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def post_batch(client, body, *, key: str | None = "lot-0001", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        reverse("api-batches"), data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.fixture
def dealer(issuing):
    return factories.dealer()


@pytest.fixture
def client(dealer):
    return factories.api_client(token=factories.organisation_token(dealer))


def test_a_clean_batch_gives_each_vehicle_a_plate_and_a_cpi_and_one_acknowledgement(
    dealer, client, django_capture_on_commit_callbacks
):
    rows = [factories.batch_row(external_ref=f"STOCK-{n}") for n in range(1, 6)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, {"vehicles": rows})
    assert response.status_code == 201, response.content
    batch = Batch.objects.get(pk=response.json()["id"])
    assert response["Location"] == reverse("api-batch-detail", args=[batch.pk])

    detail = client.get(reverse("api-batch-detail", args=[batch.pk])).json()
    assert detail["state"] == "done" and detail["progress"] == 100
    assert detail["counts"] == {
        "received": 5,
        "valid": 5,
        "rejected": 0,
        "plated": 5,
        "cpi_ready": 5,
        "approved": 0,
    }

    dossiers = list(Dossier.objects.filter(batch_row__batch=batch).select_related("vehicle"))
    assert len(dossiers) == 5
    assert {d.state for d in dossiers} <= {State.SUBMITTED, State.QUEUED, State.IN_REVIEW}
    assert all(d.organisation_id == dealer.organisation_id and d.filed_in_batch for d in dossiers)
    assert all(d.vehicle.plate for d in dossiers) and len({d.vehicle.plate for d in dossiers}) == 5
    assert sorted(d.external_ref for d in dossiers) == [f"STOCK-{n}" for n in range(1, 6)]
    assert all(d.mandate_reference.startswith("MAND-") and d.invoice_date for d in dossiers)
    # Fees frozen at submission, as for a single registration.
    assert all(d.y6 is not None and d.y6 > 0 for d in dossiers)
    # One CPI each, valid one month; no receipt per vehicle: the batch has one acknowledgement.
    cpis = IssuedDocument.objects.filter(
        dossier__in=dossiers, kind=DocumentKind.CPI, rendered_at__isnull=False
    )
    assert cpis.count() == 5
    assert not IssuedDocument.objects.filter(dossier__in=dossiers, kind=DocumentKind.RECEIPT).exists()
    batch.refresh_from_db()
    assert batch.acknowledgement
    text = "".join(page.extract_text() for page in PdfReader(batch.acknowledgement.open("rb")).pages)
    assert f"Accusé de dépôt du lot n° {batch.pk}" in text
    assert all(d.reference in text for d in dossiers)
    # Nor one "demande déposée" mail per vehicle: the acknowledgement says it for the batch.
    assert mail.outbox == []
    # The audit of each dossier says it came from this batch, row by row.
    created = DossierEvent.objects.filter(dossier__in=dossiers, action="created")
    assert sorted(e.data["row"] for e in created) == [1, 2, 3, 4, 5]


def test_every_rejection_path_names_row_column_rule_and_value_and_keeps_the_valid_rows(
    dealer, client, django_capture_on_commit_callbacks
):
    registered = factories.registered()  # a VIN the register knows
    first = factories.batch_row()
    rows = [
        first,  # 1: valid
        factories.batch_row(
            vehicle={**factories.vehicle_data(), "vin": "VF1RFB00I12345678"}
        ),  # 2: VIN charset
        factories.batch_row(vehicle={**first["vehicle"]}),  # 3: repeats row 1's VIN
        factories.batch_row(
            vehicle={**factories.vehicle_data(), "vin": registered.vehicle.vin}
        ),  # 4: registered
        factories.batch_row(vehicle={k: v for k, v in factories.vehicle_data().items() if k != "make"}),  # 5
        factories.batch_row(holder=factories.holder_data(postcode="00900")),  # 6: no department
        factories.batch_row(vehicle=factories.vehicle_data(energy="XX")),  # 7: unknown P.3
        factories.batch_row(vehicle=factories.vehicle_data(mass_kg=2100, ptac_kg=1850)),  # 8: F.2 < G
        factories.batch_row(
            vehicle={k: v for k, v in factories.vehicle_data().items() if k != "co2_g_km"}
        ),  # 9
        factories.batch_row(mandate_reference=""),  # 10: required fact
        factories.batch_row(vehicle=factories.vehicle_data(plate="AB-123-CD")),  # 11: plate chosen
        factories.batch_row(),  # 12: valid
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, {"vehicles": rows})
    assert response.status_code == 201
    batch = Batch.objects.get(pk=response.json()["id"])
    outcome = {row.row_number: row for row in BatchRow.objects.filter(batch=batch)}
    assert [n for n, row in sorted(outcome.items()) if row.status == RowStatus.ACCEPTED] == [1, 12]

    def rules(n: int) -> set[tuple[str, str]]:
        return {(error["field"], error["rule"]) for error in outcome[n].errors}

    assert ("vehicle.vin", "vin_forbidden_letter") in rules(2) or ("vehicle.vin", "vin_charset") in rules(2)
    assert rules(3) == {("vehicle.vin", "duplicate_in_batch")}
    assert "ligne 1" in outcome[3].errors[0]["message"]
    assert outcome[3].errors[0]["value"] == first["vehicle"]["vin"]
    assert rules(4) == {("vehicle.vin", "vin_unavailable")}
    assert rules(5) == {("vehicle.make", "required")}
    assert ("holder.postcode", "postcode_department") in rules(6)
    assert outcome[6].errors[0]["value"] == "00900"
    assert ("vehicle.energy", "energy_unknown") in rules(7) or any(
        f == "vehicle.energy" for f, _r in rules(7)
    )
    assert ("vehicle.mass_kg", "mass_order") in rules(8)
    assert ("vehicle.co2_g_km", "required_for_thermal") in rules(9)
    assert rules(10) == {("mandate_reference", "required")}
    assert rules(11) == {("vehicle.plate", "plate_assigned")}
    # A JSON row names its columns by field name.
    assert all(error["column"] == error["field"] for row in outcome.values() for error in row.errors)

    detail = client.get(reverse("api-batch-detail", args=[batch.pk])).json()
    assert detail["counts"]["valid"] == 2 and detail["counts"]["rejected"] == 10
    assert detail["state"] == "done"
    # Nothing was created for a refused row; the registered vehicle is untouched.
    assert Dossier.objects.filter(batch_row__batch=batch).count() == 2
    registered.vehicle.refresh_from_db()
    assert registered.vehicle.dossiers.count() == 0

    errors = client.get(reverse("api-batch-errors", args=[batch.pk]))
    lines = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:4] == ["ligne", "colonne", "champ", "regle"]
    assert {int(line[0]) for line in lines[1:]} == set(range(2, 12))
    assert lines[[line[0] for line in lines].index("3")][:4] == [
        "3",
        "vehicle.vin",
        "vehicle.vin",
        "duplicate_in_batch",
    ]

    rejected = client.get(reverse("api-batch-rows", args=[batch.pk]), {"status": "rejected"}).json()
    assert rejected["count"] == 10
    accepted = client.get(reverse("api-batch-rows", args=[batch.pk]), {"status": "accepted"}).json()
    assert [row["row_number"] for row in accepted["results"]] == [1, 12]
    assert all(row["dossier"]["plate"] and row["dossier"]["cpi"] for row in accepted["results"])


def test_the_same_key_and_content_returns_the_first_batch_other_content_is_409(
    dealer, client, django_capture_on_commit_callbacks
):
    body = {"vehicles": [factories.batch_row(), factories.batch_row()]}
    with django_capture_on_commit_callbacks(execute=True):
        first = post_batch(client, body, key="2f6a-lot")
    assert first.status_code == 201
    before = factories.batch_stored()
    # The same content, spaced and ordered differently, is the same batch.
    replay = client.post(
        reverse("api-batches"),
        data=json.dumps(body, indent=2, sort_keys=True),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="2f6a-lot",
    )
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    assert replay["Idempotent-Replayed"] == "true"
    assert factories.batch_stored() == before

    other = post_batch(client, {"vehicles": [factories.batch_row()]}, key="2f6a-lot")
    assert other.status_code == 409
    assert other.json()["errors"][0]["rule"] == "idempotency_conflict"
    assert factories.batch_stored() == before

    # Another organisation may use the same key for its own batch.
    stranger = factories.api_client(token=factories.organisation_token(factories.dealer()))
    with django_capture_on_commit_callbacks(execute=True):
        theirs = post_batch(stranger, {"vehicles": [factories.batch_row()]}, key="2f6a-lot")
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


def test_a_batch_without_idempotency_key_is_428_and_a_malformed_one_400(client):
    before = factories.batch_stored()
    missing = post_batch(client, {"vehicles": [factories.batch_row()]}, key=None)
    assert missing.status_code == 428
    assert "Idempotency-Key" in missing.json()["errors"][0]["message"]
    malformed = post_batch(client, {"vehicles": [factories.batch_row()]}, key="une clé avec espaces")
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0] == {
        "field": "Idempotency-Key",
        "rule": "format",
        "message": malformed.json()["errors"][0]["message"],
        "expected": "un UUID",
    }
    assert factories.batch_stored() == before


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "vehicles", "required"),
        ({"vehicles": []}, "vehicles", "empty"),
        ({"vehicles": {"vin": "x"}}, "vehicles", "required"),
        ({"vehicles": [{}], "priority": 9}, "priority", "unknown_field"),
    ],
)
def test_a_malformed_batch_body_is_refused_whole(client, body, field, rule):
    before = factories.batch_stored()
    response = post_batch(client, body)
    assert response.status_code == 400
    assert (response.json()["errors"][0]["field"], response.json()["errors"][0]["rule"]) == (field, rule)
    assert factories.batch_stored() == before


def test_more_rows_than_the_limit_is_refused_whole(client, settings):
    settings.BATCH_MAX_ROWS = 3
    before = factories.batch_stored()
    response = post_batch(client, {"vehicles": [factories.batch_row() for _ in range(4)]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["rule"] == "max_items"
    assert factories.batch_stored() == before


def test_a_dealer_without_the_tax_agrement_cannot_file_a_batch(issuing):
    dealer = factories.dealer(organisation=factories.OrganisationFactory(tax_agrement=False))
    client = factories.api_client(token=factories.organisation_token(dealer))
    before = factories.batch_stored()
    response = post_batch(client, {"vehicles": [factories.batch_row()]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["rule"] == "tax_agrement_required"
    assert factories.batch_stored() == before


def test_a_citizen_gets_no_batch(issuing):
    client = factories.api_client(factories.citizen())
    before = factories.batch_stored()
    assert post_batch(client, {"vehicles": [factories.batch_row()]}).status_code == 403
    assert client.get(reverse("api-batches")).status_code == 403
    assert factories.batch_stored() == before


def _french_csv() -> bytes:
    lines = [
        "VIN;Marque;Dénomination commerciale;GENRE NATIONAL;energie;Puissance administrative;"
        "Puissance nette max;CO2;Masse en service;PTAC;Nom;Prénoms;Date de naissance;Adresse;"
        "Code postal;Commune;Date de facture;Référence du mandat;Référence interne",
        f"{factories.new_vin()};RENAULT;CLIO;VP;ES;5;67,5;118;1 180;1 650;Durand;Léa;03/02/1990;"
        "4 rue Oberkampf;75011;Paris;01/12/2026;MDT-77;VO-1",
        "",
        f"{factories.new_vin()};PEUGEOT;208;VP;ES;5;74,0;;1 160;1 600;Petit;Marc;17/07/1975;"
        "8 place Bellecour;69002;Lyon;01/12/2026;MDT-78;VO-2",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def test_a_french_csv_with_bom_semicolons_french_headers_decimal_comma_and_french_dates(
    client, django_capture_on_commit_callbacks
):
    upload = io.BytesIO(_french_csv())
    upload.name = "livraisons-décembre.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api-batches"), {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="csv-1"
        )
    assert response.status_code == 201, response.content
    batch = Batch.objects.get(pk=response.json()["id"])
    assert (batch.source, batch.filename) == ("csv", "livraisons-décembre.csv")
    rows = {row.row_number: row for row in BatchRow.objects.filter(batch=batch)}
    # Line numbers as a spreadsheet shows them: the blank line 3 still counts.
    assert sorted(rows) == [2, 4]
    clio = rows[2].dossier
    assert rows[2].status == RowStatus.ACCEPTED
    assert str(clio.vehicle.power_kw) == "67.5" and clio.vehicle.mass_kg == 1180
    assert (
        clio.holder.birth_date.isoformat() == "1990-02-03" and clio.invoice_date.isoformat() == "2026-12-01"
    )
    assert clio.holder.department == "75" and clio.external_ref == "VO-1"
    # Row 4 left CO2 empty: its error names the dealer's own column header.
    assert rows[4].status == RowStatus.REJECTED
    assert rows[4].errors == [
        {
            "field": "vehicle.co2_g_km",
            "column": "CO2",
            "rule": "required_for_thermal",
            "message": rows[4].errors[0]["message"],
            "expected": rows[4].errors[0]["expected"],
            "value": "",
        }
    ]


def test_an_xlsx_batch(client, django_capture_on_commit_callbacks):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    vehicle, holder = factories.vehicle_data(), factories.holder_data()
    names = (
        [f"vehicle.{k}" for k in vehicle]
        + [f"holder.{k}" for k in holder]
        + ["invoice_date", "mandate_reference"]
    )
    sheet.append([name.split(".")[-1] for name in names])
    values = [*vehicle.values(), *holder.values(), timezone.localdate() - timedelta(days=1), "MDT-X"]
    values = [float(v) if k == "vehicle.power_kw" else v for k, v in zip(names, values, strict=True)]
    values[names.index("holder.birth_date")] = timezone.datetime(1985, 4, 12)
    sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    upload = io.BytesIO(out.getvalue())
    upload.name = "lot.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api-batches"), {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="xlsx-1"
        )
    assert response.status_code == 201, response.content
    row = BatchRow.objects.get(batch_id=response.json()["id"])
    assert row.status == RowStatus.ACCEPTED, row.errors
    assert (
        row.dossier.vehicle.vin == vehicle["vin"]
        and row.dossier.holder.birth_date.isoformat() == "1985-04-12"
    )


def test_an_unreadable_file_is_refused_whole(client):
    upload = io.BytesIO(b"VIN;Marque;Couleur du toit\r\nVF1;RENAULT;rouge\r\n")
    upload.name = "lot.csv"
    before = factories.batch_stored()
    response = client.post(
        reverse("api-batches"), {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="bad-1"
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["field"], error["rule"]) == ("file", "unknown_column") and "Couleur du toit" in error[
        "message"
    ]
    assert factories.batch_stored() == before


def test_another_organisations_batch_is_404_and_a_revoked_token_401(
    dealer, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_batch(client, {"vehicles": [factories.batch_row()]}).json()["id"]
    stranger = factories.api_client(token=factories.organisation_token(factories.dealer()))
    for name in (
        "api-batch-detail",
        "api-batch-rows",
        "api-batch-errors",
        "api-batch-cpis",
        "api-batch-acknowledgement",
    ):
        assert stranger.get(reverse(name, args=[batch_id])).status_code == 404, name
    assert stranger.get(reverse("api-batches")).json()["count"] == 0

    organisation_token = tokens.organisation_token_create(
        organisation=dealer.organisation, created_by=dealer, name="DMS atelier"
    )
    revoked = factories.api_client(token=organisation_token[1])
    assert revoked.get(reverse("api-batch-detail", args=[batch_id])).status_code == 200
    organisation.organisation_token_revoke(
        organisation=dealer.organisation, token_id=organisation_token[0].pk
    )
    before = factories.batch_stored()
    assert revoked.get(reverse("api-batch-detail", args=[batch_id])).status_code == 401
    assert post_batch(revoked, {"vehicles": [factories.batch_row()]}, key="after-revoke").status_code == 401
    assert factories.batch_stored() == before


def test_the_cpi_zip_holds_every_cpi_ready(dealer, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_batch(
            client, {"vehicles": [factories.batch_row(), factories.batch_row(), {"vehicle": {}}]}
        ).json()["id"]
    response = client.get(reverse("api-batch-cpis", args=[batch_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    plates = sorted(
        Vehicle.objects.filter(dossiers__batch_row__batch_id=batch_id).values_list("plate", flat=True)
    )
    assert sorted(name.split("CPI-")[1].removesuffix(".pdf") for name in archive.namelist()) == plates
    for name in archive.namelist():
        assert archive.read(name).startswith(b"%PDF")


def test_batch_status_changes_are_written_for_the_organisations_webhooks(
    dealer, client, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    endpoint = WebhookEndpoint.objects.create(
        organisation=dealer.organisation,
        url="http://127.0.0.1:9/hooks",
        secret="whsec_test",
        created_by=dealer,
    )
    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_batch(client, {"vehicles": [factories.batch_row()]}).json()["id"]
    events = [
        d.payload["data"]
        for d in WebhookDelivery.objects.filter(
            endpoint=endpoint, event_type="batch.status_changed"
        ).order_by("pk")
    ]
    assert [(e["id"], e["status"]) for e in events] == [
        (batch_id, "received"),
        (batch_id, "processing"),
        (batch_id, "done"),
    ]


def test_the_sweep_processes_a_batch_whose_task_was_lost(dealer, django_capture_on_commit_callbacks):
    # Received, but its processing task never ran (the broker lost it).
    batch, created = services.batch_receive(
        user=dealer,
        idempotency_key="lost-1",
        content_sha256="x" * 64,
        source="json",
        rows=[services.RowInput(1, factories.batch_row())],
    )
    assert created and batch.state == BatchState.RECEIVED
    Batch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.batches_sweep()
    batch.refresh_from_db()
    assert batch.state == BatchState.DONE and batch.valid == 1
    # Run again: nothing more happens.
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_process(batch_id=batch.pk)
        services.batch_chunk_process(batch_id=batch.pk, first_row=1, last_row=1)
    assert Dossier.objects.filter(batch_row__batch=batch).count() == 1


def test_a_batch_dossiers_page_names_its_batch_and_row(dealer, client, django_capture_on_commit_callbacks):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        batch_id = post_batch(client, {"vehicles": [factories.batch_row(), factories.batch_row()]}).json()[
            "id"
        ]
    row = BatchRow.objects.get(batch_id=batch_id, row_number=2)
    browser = Client()
    browser.force_login(dealer)
    page = browser.get(reverse("dossier-detail", args=[row.dossier.reference])).content.decode()
    assert f"Lot n° {batch_id}, ligne 2" in page
    assert reverse("batch-detail", args=[batch_id]) in page


def test_a_vin_repeated_in_a_later_chunk_is_refused_naming_the_first_row(
    dealer, client, settings, django_capture_on_commit_callbacks
):
    # Chunks of two rows: the repeats (rows 4 and 5) are checked in chunks that never see row 1.
    settings.BATCH_CHUNK_SIZE = 2
    first = factories.batch_row()
    vin = first["vehicle"]["vin"]
    spaced = f" {vin[:8].lower()} {vin[8:]} "  # the same VIN as typed by another hand
    rows = [
        first,
        factories.batch_row(),
        factories.batch_row(),
        factories.batch_row(vehicle={**factories.vehicle_data(), "vin": vin}),
        factories.batch_row(vehicle={**factories.vehicle_data(), "vin": spaced}),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_batch(client, {"vehicles": rows})
    assert response.status_code == 201, response.content
    outcome = {row.row_number: row for row in BatchRow.objects.filter(batch_id=response.json()["id"])}
    assert [n for n in sorted(outcome) if outcome[n].status == RowStatus.ACCEPTED] == [1, 2, 3]
    for n in (4, 5):
        assert [(e["field"], e["rule"]) for e in outcome[n].errors] == [("vehicle.vin", "duplicate_in_batch")]
        assert "ligne 1 " in outcome[n].errors[0]["message"]
    assert outcome[5].errors[0]["value"] == spaced
    # One vehicle for the VIN: the first row's.
    assert Vehicle.objects.filter(vin=vin).count() == 1
    assert Vehicle.objects.get(vin=vin).dossiers.get().batch_row.row_number == 1
    # References reserved with the batch, one per row in row order: the refused rows' stay unused.
    reserved = dict(
        BatchRow.objects.filter(batch_id=response.json()["id"]).values_list("row_number", "reference")
    )
    numbers = [int(reserved[n].rsplit("-", 1)[1]) for n in range(1, 6)]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert {n: outcome[n].dossier.reference for n in (1, 2, 3)} == {n: reserved[n] for n in (1, 2, 3)}
    assert not Dossier.objects.filter(reference__in=[reserved[4], reserved[5]]).exists()
    single = factories.draft(filed_by=factories.citizen())  # a later filing: the next number
    assert single.reference > reserved[5]


def test_rows_received_before_first_row_was_recorded_get_it_from_the_migration(dealer):
    """batches 0002 fills BatchRow.first_row for rows stored before it existed."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("batches.migrations.0002_intake_without_shared_locks")
    vin = factories.batch_row()["vehicle"]["vin"]
    rows = [factories.batch_row(vehicle={**factories.vehicle_data(), "vin": vin}) for _ in range(3)]
    batch, _created = services.batch_receive(
        user=dealer,
        idempotency_key="avant-migration",
        content_sha256=services.content_hash_json(rows),
        source="json",
        rows=[services.RowInput(row_number=n, data=row) for n, row in enumerate(rows, start=1)],
    )
    recorded = dict(BatchRow.objects.filter(batch=batch).values_list("row_number", "first_row"))
    assert recorded == {1: None, 2: 1, 3: 1}
    BatchRow.objects.filter(batch=batch).update(first_row=None)
    migration.first_rows_fill(apps, None)
    assert dict(BatchRow.objects.filter(batch=batch).values_list("row_number", "first_row")) == recorded


def test_a_chunk_cleans_repeated_vehicles_by_the_same_rules_as_one_row_alone():
    """intake.row_clean remembers, within a chunk, the vehicles it accepted, and then checks only
    the VIN of a repeat: every row must come out exactly as it would alone."""
    from batches import intake
    from dossiers.errors import InvalidInput

    def outcome(row, known=None):
        try:
            return intake.row_clean(row, known=known)
        except InvalidInput as exc:
            return sorted((e.field, e.rule, e.message, e.expected) for e in exc.errors)

    base = factories.batch_row()
    vehicle = base["vehicle"]

    def variant(**changes):
        return {**base, "vehicle": {k: v for k, v in {**vehicle, **changes}.items() if v is not ...}}

    rows = [
        base,
        variant(vin=factories.new_vin()),  # a plain repeat: cleaned from memory
        variant(vin=f"  {factories.new_vin().lower()} "),  # spaced, lower case
        variant(vin="VF1AAAAAA0000000I"),  # forbidden letter
        variant(vin="VF1"),  # too short
        variant(vin=...),  # no VIN
        variant(vin=12345678901234567),  # a number
        variant(seats=True),  # equal to 1 in Python, not a number to the rules
        variant(seats=True),
        variant(seats=5.0),
        variant(seats="5"),
        variant(mass_kg=[1350]),  # unhashable
        variant(colour="rouge"),  # unknown field
        variant(vin=factories.new_vin(), plate="AB-123-CD"),
        {**base, "vehicle": None},
    ]
    known: dict = {}
    for row in rows:
        assert outcome(row, known) == outcome(row), row["vehicle"]
    assert known, "the repeats were cleaned from memory"


def test_vin_and_plate_lookups_use_the_btree_even_when_statistics_lag(postgres):
    """A trigram index is read through bitmap scans only: btree_lookups turns them off for the
    lookups of a chunk, then gives the transaction its setting back."""
    from django.db import connection, transaction

    from dossiers.bulk import btree_lookups

    query = "EXPLAIN SELECT id FROM dossiers_vehicle WHERE vin = ANY(%s)"
    vins = [factories.new_vin() for _ in range(500)]
    with transaction.atomic(), connection.cursor() as cursor:
        # A planner that finds a bitmap scan cheapest, as with the statistics of a table a batch is
        # filling (here: plain index scans and sequential scans priced out).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(query, [vins])
        assert "Bitmap Index Scan" in " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_indexscan = on")
        with btree_lookups():
            cursor.execute(query, [vins])
            plan = " ".join(row[0] for row in cursor.fetchall())
        assert "Bitmap" not in plan and "Index Scan using dossiers_vehicle_vin_" in plan  # a b-tree
        cursor.execute("SHOW enable_bitmapscan")
        assert cursor.fetchone()[0] == "on"
    # An error inside reaches the caller as it is (a deadlock is retried by the task), not as the
    # aborted transaction's refusal of the setting's restore.
    from django.db import DataError

    with pytest.raises(DataError), transaction.atomic(), btree_lookups(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")


def test_a_batch_received_before_references_were_reserved_takes_them_when_processed(
    dealer, django_capture_on_commit_callbacks
):
    first = factories.batch_row()
    rows = [first, factories.batch_row(), factories.batch_row(vehicle={**first["vehicle"]})]
    batch, _created = services.batch_receive(
        user=dealer,
        idempotency_key="avant-reservation",
        content_sha256=services.content_hash_json(rows),
        source="json",
        rows=[services.RowInput(n, row) for n, row in enumerate(rows, start=1)],
    )
    # As the previous batch_receive stored a batch (during a deployment, after batches 0002): no
    # reference and no first row.
    BatchRow.objects.filter(batch=batch).update(reference="", first_row=None)
    before = factories.draft(filed_by=factories.citizen()).reference
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_process(batch_id=batch.pk)
    outcome = {row.row_number: row for row in BatchRow.objects.filter(batch=batch)}
    assert [n for n in sorted(outcome) if outcome[n].status == RowStatus.ACCEPTED] == [1, 2]
    assert [(e["rule"], "ligne 1 " in e["message"]) for e in outcome[3].errors] == [
        ("duplicate_in_batch", True)
    ]
    references = sorted(Dossier.objects.filter(batch_row__batch=batch).values_list("reference", flat=True))
    assert len(references) == 2 and all(reference > before for reference in references)
    assert factories.draft(filed_by=factories.citizen()).reference > references[-1]
