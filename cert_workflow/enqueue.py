"""Enqueue a Celery task by its name: the services below never import tasks.py, the top layer.

`app.send_task` would ignore CELERY_TASK_ALWAYS_EAGER and leave the message in the embedded
mode's in-memory broker, where nothing consumes it. A signature by name resolves to the registered
task and runs it in-process when tasks are eager, exactly as `task.delay()` did.
"""

from typing import Any

from django.db import transaction

from portal.celery import app


def _registered(name: str) -> None:
    if name not in app.tasks:
        # Nothing imports tasks.py: a web process lets Celery import the installed apps' task
        # modules now, as a worker does when it starts (without the worker's system checks).
        app.autodiscover_tasks(force=True)
    if name not in app.tasks:
        raise LookupError(f"no Celery task named {name!r}")


def task_enqueue(name: str, *args: Any, priority: int | None = None, on_commit: bool = True) -> None:
    """Send task `name` with `args` (after the current transaction commits, by default); the queue
    comes from CELERY_TASK_ROUTES. In the embedded mode the task runs here, in-process."""
    _registered(name)
    signature = app.signature(name, args=args)

    def send() -> None:
        signature.apply_async(priority=priority)

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
