"""Celery entry points of the CERT workflow: ids in, one service call, nothing else.

Every task is safe to run twice (the services check the current state first), and anything a lost
task leaves behind is found again by the sweep.
"""

from celery import shared_task
from django.db import OperationalError

# Queues are assigned in settings (CELERY_TASK_ROUTES). The services are imported inside each task
# because they enqueue these tasks in turn.
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 8}


@shared_task(**RETRY)
def check_dossiers(dossier_ids: list[int]) -> None:
    from cert_workflow import checks

    checks.checks_run(dossier_ids=dossier_ids)


@shared_task(**RETRY)
def route_dossiers(dossier_ids: list[int]) -> None:
    from cert_workflow import routing

    routing.dossiers_route(dossier_ids=dossier_ids)


@shared_task(**RETRY)
def rebalance_queues() -> None:
    from cert_workflow import routing

    routing.queues_rebalance()


@shared_task(**RETRY)
def sweep() -> None:
    from cert_workflow import sweeps

    sweeps.sweep_run()


@shared_task(**RETRY)
def refresh_stats() -> None:
    from cert_workflow import stats

    stats.stats_refresh()


@shared_task(**RETRY)
def bulk_approve(dossier_ids: list[int], agent_id: int) -> None:
    from cert_workflow import queue

    queue.dossiers_bulk_approve(dossier_ids=dossier_ids, agent_id=agent_id)


@shared_task(**RETRY)
def render_documents(document_ids: list[int]) -> None:
    from cert_workflow import issuing

    issuing.documents_render(document_ids=document_ids)
