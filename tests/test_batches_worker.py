"""Dealer batches through the real services: PostgreSQL (COPY, locks) and a real Celery worker on
Redis, from the API request to every CPI rendered; and two identical requests at the same moment."""

import json
import threading

import pytest
from django.db import connection
from django.urls import reverse

from batches.models import Batch, BatchRow, BatchState, RowStatus
from cert_workflow.models import DocumentKind, IssuedDocument
from dossiers.models import Dossier, DossierEvent
from tests import factories
from tests.celery_worker import wait_until

pytestmark = [pytest.mark.services, pytest.mark.celery_worker]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


def test_a_batch_runs_end_to_end_on_a_real_worker(postgres, nine_certs, start_celery_worker, media, settings):
    settings.BATCH_CHUNK_SIZE = 20  # several chunk tasks, on two worker processes
    worker = start_celery_worker(concurrency=2, env={"MEDIA_ROOT": media, "BATCH_CHUNK_SIZE": "20"})
    dealer = factories.dealer()
    client = factories.api_client(token=factories.organisation_token(dealer))
    rows = [factories.batch_row(external_ref=f"S{n}") for n in range(1, 61)]
    rows[10] = factories.batch_row(vehicle={**rows[3]["vehicle"]})  # row 11 repeats row 4's VIN
    rows[40] = factories.batch_row(holder=factories.holder_data(postcode="1234"))  # row 41: bad postcode

    response = client.post(
        reverse("api-batches"),
        data=json.dumps({"vehicles": rows}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="worker-batch-1",
    )
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]

    def done():
        detail = client.get(reverse("api-batch-detail", args=[batch_id])).json()
        return detail if detail["state"] == "done" else None

    detail = wait_until(done, 90, interval=0.5, message=lambda: worker.log()[-4000:])
    assert detail["progress"] == 100
    counts = detail["counts"]
    assert (counts["received"], counts["valid"], counts["rejected"]) == (60, 58, 2)
    assert counts["plated"] == 58 and counts["cpi_ready"] == 58

    rejected = dict(
        BatchRow.objects.filter(batch_id=batch_id, status=RowStatus.REJECTED).values_list(
            "row_number", "errors"
        )
    )
    assert sorted(rejected) == [11, 41]
    assert rejected[11][0]["rule"] == "duplicate_in_batch" and "ligne 4" in rejected[11][0]["message"]
    dossiers = Dossier.objects.filter(batch_row__batch_id=batch_id)
    assert dossiers.count() == 58
    assert len(set(dossiers.values_list("vehicle__plate", flat=True))) == 58
    assert len(set(dossiers.values_list("reference", flat=True))) == 58
    # Each dossier: one creation and one submission event, however many times tasks ran.
    assert DossierEvent.objects.filter(dossier__in=dossiers, action="created").count() == 58
    assert (
        IssuedDocument.objects.filter(
            dossier__in=dossiers, kind=DocumentKind.CPI, rendered_at__isnull=False
        ).count()
        == 58
    )
    assert not IssuedDocument.objects.filter(dossier__in=dossiers, kind=DocumentKind.RECEIPT).exists()
    batch = Batch.objects.get(pk=batch_id)
    wait_until(
        lambda: Batch.objects.filter(pk=batch_id).exclude(acknowledgement="").exists(),
        60,
        message=lambda: worker.log()[-4000:],
    )
    assert batch.valid == 58 and batch.rejected == 2
    # The automatic checks ran on the worker: every dossier left `submitted`.
    wait_until(
        lambda: not dossiers.filter(state="submitted").exists(), 60, message=lambda: worker.log()[-6000:]
    )


def test_two_identical_requests_at_the_same_moment_make_one_batch(
    postgres, transactional_db, media, settings, redis_url
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the tasks wait in Redis: only the receipt is tested
    dealer = factories.dealer()
    token = factories.organisation_token(dealer)
    body = json.dumps({"vehicles": [factories.batch_row() for _ in range(30)]})
    barrier = threading.Barrier(4)
    answers: list[tuple[int, int]] = []

    def send() -> None:
        client = factories.api_client(token=token)
        barrier.wait()
        try:
            response = client.post(
                reverse("api-batches"),
                data=body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same-moment",
            )
            answers.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _id in answers) == [200, 200, 200, 201]
    assert len({batch_id for _code, batch_id in answers}) == 1
    assert Batch.objects.count() == 1
    assert BatchRow.objects.count() == 30
    assert Batch.objects.get().state == BatchState.RECEIVED
