"""Celery entry points of webhooks: ids in, one service call, nothing else."""

from celery import shared_task
from django.db import OperationalError

from webhooks import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def deliver(delivery_ids: list[int]) -> None:
    services.deliveries_send(delivery_ids=delivery_ids)


@shared_task
def retry_due() -> None:
    services.deliveries_retry_due()
