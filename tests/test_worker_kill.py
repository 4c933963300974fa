"""A worker killed with SIGKILL in the middle of a check task leaves no dossier stuck after the sweep.

The real worker (tests/celery_worker.py) runs the real check task on PostgreSQL. To catch it in the
middle without any test-only code path, the test holds a lock on the check results table from a
separate connection: the task locks its dossiers, runs the checks, then blocks writing the results.
The worker is killed there like a lost machine, the lock released, the dossiers' clock moved past
their deadline, and the sweep must bring every one of them back to life.
"""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from cert_workflow import sweeps, tasks
from cert_workflow.models import SweepAction
from dossiers import services
from dossiers.models import Dossier, State
from tests import factories
from tests.celery_worker import purge_broker, wait_until, worker_database_url

pytestmark = [pytest.mark.services, pytest.mark.celery_worker]

DOSSIERS = 4


def _backends(condition: str) -> int:
    """Other client sessions on the test database matching `condition` (seen from a fresh snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND " + condition
        )
        return cursor.fetchone()[0]


def _states(ids: list[int]) -> dict[str, int]:
    return {state: Dossier.objects.filter(pk__in=ids, state=state).count() for state in State.values}


@pytest.mark.django_db(transaction=True)
def test_worker_killed_in_the_middle_of_a_check_task_leaves_no_dossier_stuck_after_the_sweep(
    start_celery_worker, redis_url
):
    factories.CertFactory(departments=["25"])  # the holders' home centre (postcode 25000)
    owner = factories.citizen()
    ids = [
        services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner).pk
        for _ in range(DOSSIERS)
    ]
    # Whatever the submission sent to the broker is lost, as with a broker that lost its memory.
    purge_broker(redis_url)

    blocker = psycopg.connect(worker_database_url(), autocommit=False)
    try:
        blocker.execute("LOCK TABLE cert_workflow_checkresult IN EXCLUSIVE MODE")
        first = start_celery_worker(warm_up=False)
        tasks.check_dossiers.delay(ids)
        # In the middle: the task holds its dossiers and waits to write their check results.
        wait_until(
            lambda: _backends("wait_event_type = 'Lock' AND query ILIKE '%cert_workflow_checkresult%'"),
            30,
            message=lambda: f"the check task never reached its writes:\n{first.log()[-4000:]}",
        )
        first.kill()
    finally:
        blocker.rollback()
        blocker.close()
    # The killed worker's session finds its client gone once the lock is released, and rolls back.
    wait_until(lambda: _backends("state <> 'idle'") == 0, 30, message="the killed worker's session lingers")

    assert Dossier.objects.filter(pk__in=ids, state=State.SUBMITTED).count() == DOSSIERS
    # Time passes: the check clock of the dossiers runs out (test data, written directly).
    Dossier.objects.filter(pk__in=ids, state=State.SUBMITTED).update(
        due_at=timezone.now() - timedelta(minutes=10)
    )
    assert set(sweeps.stuck_dossiers().values_list("pk", flat=True)) == set(ids)

    start_celery_worker(warm_up=False)
    result = sweeps.sweep_run()

    assert result["checks_requeued"] == DOSSIERS
    # Checked dossiers go to a queue or straight through to approval, after which the worker may
    # already have issued their certificate.
    moved_on = (State.QUEUED, State.APPROVED, State.ISSUED)
    wait_until(
        lambda: Dossier.objects.filter(pk__in=ids, state__in=moved_on).count() == DOSSIERS,
        60,
        message=lambda: f"dossiers did not move on after the sweep: {_states(ids)}",
    )
    assert not sweeps.stuck_dossiers().exists()
    assert SweepAction.objects.filter(kind=sweeps.CHECKS_REQUEUED, dossier_id__in=ids).count() == DOSSIERS
