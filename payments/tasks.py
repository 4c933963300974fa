"""Celery entry points of payments: one service call each."""

from celery import shared_task

from payments import services


@shared_task
def payment_attempts_expire() -> int:
    return services.payment_attempts_expire()
