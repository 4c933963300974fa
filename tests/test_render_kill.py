"""A worker killed with SIGKILL in the middle of a rendering leaves, after the sweep, exactly one
stored PDF and the dossier `issued`.

The real worker (tests/celery_worker.py) runs the real rendering task on PostgreSQL. To catch it in
the middle without any test-only code path, a separate connection holds the dossier's row lock: the
task renders the certificate, stores the PDF, starts its recording transaction and blocks where it
moves the dossier to `issued`. The worker is killed there like a lost machine (its PDF is in
storage, its record rolled back), the lock released, and the sweep must finish the job on a new
worker without a second file.
"""

from datetime import timedelta

import psycopg
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.models import DocumentKind, IssuedDocument
from cert_workflow.review import decisions
from dossiers.models import Dossier, State
from tests import factories
from tests.celery_worker import purge_broker, wait_until, worker_database_url
from tests.factories import in_review, stored_files

pytestmark = [pytest.mark.services, pytest.mark.celery_worker]


def _backends(condition: str) -> int:
    """Other client sessions on the test database matching `condition`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND " + condition
        )
        return cursor.fetchone()[0]


def _activity() -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, wait_event_type, wait_event, left(query, 300) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_in_the_middle_of_a_rendering_ends_with_one_pdf_and_the_dossier_issued(
    start_celery_worker, redis_url, settings, tmp_path
):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    worker_env = {"MEDIA_ROOT": str(media)}
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = in_review(cert=cert, agent=agent)
    # Only the certificate and CPI of the approval matter here: drop the submission's tasks.
    purge_broker(redis_url)
    decisions.dossier_decide(
        dossier=dossier, agent=agent, decision="approve", **factories.APPROVAL_CONFIRMATION
    )
    certificate = IssuedDocument.objects.get(dossier=dossier, kind=DocumentKind.CERTIFICATE)
    assert certificate.rendered_at is None

    blocker = psycopg.connect(worker_database_url(), autocommit=False)
    try:
        blocker.execute("SELECT id FROM dossiers_dossier WHERE id = %s FOR UPDATE", [dossier.pk])
        first = start_celery_worker(env=worker_env)
        # In the middle: the PDF is rendered and stored, the task waits to record it.
        wait_until(
            lambda: _backends(
                """wait_event_type = 'Lock' AND query ILIKE '%FROM "dossiers_dossier"%FOR UPDATE%'"""
            ),
            60,
            message=lambda: f"the rendering never reached its record: {_activity()}\n{first.log()[-2000:]}",
        )
        assert stored_files(certificate.serial) == [f"{certificate.serial}.pdf"]
        first.kill()
    finally:
        blocker.rollback()
        blocker.close()
    wait_until(lambda: _backends("state <> 'idle'") == 0, 30, message="the killed worker's session lingers")

    certificate.refresh_from_db()
    assert certificate.rendered_at is None and certificate.render_attempts == 1
    assert Dossier.objects.get(pk=dossier.pk).state == State.APPROVED

    second = start_celery_worker(env=worker_env)
    # Time passes: the approved dossier's clock and the document's pending period run out.
    result = sweeps.sweep_run(now=timezone.now() + timedelta(minutes=31))

    assert result["renders_overdue"] >= 1
    wait_until(
        lambda: Dossier.objects.get(pk=dossier.pk).state == State.ISSUED,
        90,
        message=lambda: f"the dossier was not issued after the sweep:\n{second.log()[-4000:]}",
    )
    certificate.refresh_from_db()
    assert stored_files(certificate.serial) == [f"{certificate.serial}.pdf"]
    assert certificate.file.name == f"issued/{certificate.serial}.pdf"
    with default_storage.open(certificate.file.name, "rb") as pdf:
        content = pdf.read()
    assert len(content) == certificate.size and content.startswith(b"%PDF-")
    assert certificate.render_attempts == 2
    assert Dossier.objects.get(pk=dossier.pk).events.filter(to_state=State.ISSUED).count() == 1
