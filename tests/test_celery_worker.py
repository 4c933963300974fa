"""A real `celery -A portal worker` process, on Redis and the test database: it consumes the
portal's queues with the at-least-once settings, runs what the broker hands it, and a task queued
while no worker runs waits in Redis for the next one."""

import pytest

from portal.celery import app
from tests.celery_worker import QUEUES, wait_until

pytestmark = [pytest.mark.services, pytest.mark.celery_worker]

# A task every Celery app registers (it returns its arguments): sending it proves the path from
# a producer through Redis to the worker's pool without adding test-only code to the portal.
BUILTIN_TASK = "celery.accumulate"


def _tasks_run(worker) -> dict[str, int]:
    stats = worker.inspect().stats() or {}
    return stats.get(worker.hostname, {}).get("total", {})


def test_worker_consumes_the_portal_queues_with_at_least_once_settings(celery_worker):
    assert celery_worker.ping()
    queues = celery_worker.inspect().active_queues()[celery_worker.hostname]
    assert {queue["name"] for queue in queues} == set(QUEUES)

    conf = celery_worker.inspect().conf(with_defaults=True)[celery_worker.hostname]
    assert conf["task_always_eager"] is False
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_time_limit"] < conf["broker_transport_options"]["visibility_timeout"]


def test_task_sent_over_redis_is_executed_by_the_worker(celery_worker):
    app.send_task(BUILTIN_TASK, args=[1], queue="pdf")

    wait_until(
        lambda: _tasks_run(celery_worker).get(BUILTIN_TASK) == 1,
        30,
        message=lambda: f"the worker did not run the task:\n{celery_worker.log()[-4000:]}",
    )


def test_task_queued_while_the_worker_is_dead_runs_on_the_next_worker(start_celery_worker):
    first = start_celery_worker(warm_up=False)
    first.kill()
    assert not first.alive()
    assert not first.ping(timeout=0.5)

    app.send_task(BUILTIN_TASK, args=[2], queue="default")
    second = start_celery_worker(warm_up=False)

    wait_until(
        lambda: _tasks_run(second).get(BUILTIN_TASK) == 1,
        30,
        message=lambda: f"the new worker did not run the queued task:\n{second.log()[-4000:]}",
    )
