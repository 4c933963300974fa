"""Celery entry points of the CERT workflow: ids in, one service call, nothing else.

Every task is safe to run twice (the services check the current state first), and anything a lost
task leaves behind is found again by the sweep.
"""

import gc
import logging
import time

from celery import shared_task, signals
from django.conf import settings
from django.db import OperationalError

from cert_workflow import sweeps
from cert_workflow.checks import services as checks
from cert_workflow.documents import render_queue, rendering
from cert_workflow.routing import services as routing
from cert_workflow.stats import services as stats

logger = logging.getLogger(__name__)

# Queues are assigned in settings (CELERY_TASK_ROUTES), by the names these functions get here
# ("cert_workflow.tasks.<function>"). This module is the top layer: nothing imports it, and the
# services enqueue these tasks by name (cert_workflow/enqueue.py).
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 8}


@shared_task(**RETRY)
def check_dossiers(dossier_ids: list[int]) -> None:
    checks.checks_run(dossier_ids=dossier_ids)


@shared_task(**RETRY)
def route_dossiers(dossier_ids: list[int]) -> None:
    routing.dossiers_route(dossier_ids=dossier_ids)


@shared_task(**RETRY)
def rebalance_queues() -> None:
    routing.queues_rebalance()


@shared_task(**RETRY)
def sweep() -> None:
    sweeps.sweep_run()


@shared_task(**RETRY)
def refresh_stats() -> None:
    stats.stats_refresh()


@shared_task(**RETRY)
def render_documents(document_ids: list[int]) -> None:
    render_queue.documents_render(document_ids=document_ids)


@signals.celeryd_after_setup.connect
def pdf_worker_warm_up(sender=None, instance=None, **kwargs) -> None:
    """A worker that consumes the pdf queue warms its renderer up once, in the main process, before
    the pool forks: every pool process then starts with WeasyPrint loaded and the forms laid out."""
    queues = instance.app.amqp.queues.consume_from if instance is not None else {}
    if not getattr(settings, "RENDER_WORKER_WARMUP", True) or "pdf" not in (queues or {}):
        return
    start = time.monotonic()
    try:
        rendering.renderer_warm_up()
    except Exception:  # a worker that cannot warm up still renders, only its first documents slower
        logger.exception("pdf worker %s: renderer warm-up failed", sender)
        return
    # Everything loaded so far lives as long as the worker: move it out of the garbage collector's
    # reach, so that collections during renderings scan only the documents' own objects, and the
    # pool processes do not copy the shared pages when the collector touches them.
    gc.collect()
    gc.freeze()
    logger.info("pdf worker %s: renderer warmed up in %.1f s", sender, time.monotonic() - start)
