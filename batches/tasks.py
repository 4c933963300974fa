"""Celery entry points of batches: ids in, one service call. Safe to run twice; the sweep finds
again what a lost task leaves behind."""

from celery import shared_task
from django.db import IntegrityError, OperationalError

from batches import services

# IntegrityError: a VIN inserted by a concurrent batch between a chunk's check and its insert; the
# rerun sees the VIN registered and refuses that row.
RETRY = {"autoretry_for": (OperationalError, IntegrityError), "retry_backoff": True, "max_retries": 8}


@shared_task(**RETRY)
def process(batch_id: int) -> None:
    services.batch_process(batch_id=batch_id)


@shared_task(**RETRY)
def process_chunk(batch_id: int, first_row: int, last_row: int) -> None:
    services.batch_chunk_process(batch_id=batch_id, first_row=first_row, last_row=last_row)


@shared_task(**RETRY)
def acknowledge(batch_id: int) -> None:
    services.acknowledgement_store(batch_id=batch_id)


@shared_task(**RETRY)
def sweep() -> None:
    services.batches_sweep()
