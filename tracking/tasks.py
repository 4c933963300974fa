"""Celery entry points of the tracking app (the top layer: nothing imports it)."""

from celery import shared_task
from django.db import OperationalError

from tracking import reminders


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8)
def send_complement_reminders() -> None:
    reminders.complement_reminders_send()
