"""A real Celery worker for integration tests: `celery -A portal worker` in its own process, on
REDIS_URL and on pytest-django's test database, so that a test can send it work, watch the
database, and SIGKILL it like a crashed machine.

Load it with `pytest_plugins = ["tests.celery_worker"]` in tests/conftest.py. Tests that use it
get a transactional test database (the worker only sees committed rows) and need PostgreSQL and
Redis: they skip without them, or fail when REQUIRE_SERVICES=1.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings

from portal.celery import app

BASE_DIR = Path(__file__).resolve().parent.parent
# The queues the production worker consumes (docker-compose.yml).
QUEUES = ("default", "checks", "routing", "pdf")
START_TIMEOUT = 60.0

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    *,
    interval: float = 0.1,
    message: str | Callable[[], str] = "",
) -> T:
    """Return the first truthy value of `predicate()`, polling until `timeout` seconds; fail the test after.
    `message` may be a callable, to describe the state at the time of the failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            pytest.fail(text or f"condition not met within {timeout} s", pytrace=False)
        time.sleep(interval)


@dataclass
class CeleryWorker:
    """A running worker process. `process` is the Popen of the main worker process; the pool's
    children share its process group, which `kill()` and the teardown signal as a whole."""

    process: subprocess.Popen
    hostname: str
    log_path: Path
    _log_file: object = field(repr=False)

    def ping(self, timeout: float = 1.0) -> bool:
        """Whether the worker answers a broadcast ping over the broker within `timeout` seconds."""
        replies = app.control.ping(destination=[self.hostname], timeout=timeout)
        return any(self.hostname in reply for reply in replies)

    def inspect(self, timeout: float = 2.0):
        """Celery's inspect API, addressed to this worker only."""
        return app.control.inspect(destination=[self.hostname], timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a lost machine would."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        """The fixture's teardown: SIGKILL whatever is left and close the log. Not a warm shutdown,
        which would wait for a task still running (a certificate rendered after an approval the
        test has already seen) for nothing; the next worker's start purges the broker."""
        self._signal_group(signal.SIGKILL)
        if self.alive():
            self.process.wait(timeout=10)
        self._log_file.close()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


def worker_database_url() -> str:
    """DATABASE_URL of pytest-django's test database, built from the configured DATABASE_URL."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path="/" + quote(settings.DATABASES["default"]["NAME"])).geturl()


def purge_broker(broker_url: str) -> None:
    """Empty the worker's queues and the broker's unacknowledged set, so that no task left by an
    earlier run reaches the new worker (or comes back later through the visibility timeout)."""
    with app.connection_for_write(broker_url) as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)
        channel.client.delete(channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key)


def _require_postgres() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        message = "PostgreSQL (set DATABASE_URL) is required for a real Celery worker"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message} (REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def start_celery_worker(transactional_db, redis_url, tmp_path) -> Iterator[Callable[..., CeleryWorker]]:
    """Start real workers on demand: `start_celery_worker(concurrency=1, pool="prefork", env={...},
    warm_up=True)`. Every worker started is killed at teardown, before the test database is flushed."""
    _require_postgres()
    purge_broker(redis_url)
    workers: list[CeleryWorker] = []

    def start(
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        env: dict[str, str] | None = None,
        warm_up: bool = True,
    ) -> CeleryWorker:
        hostname = f"pytest-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log_path = tmp_path / f"{hostname.split('@')[0]}.log"
        worker_env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
            # The pdf worker's renderer warm-up (production's default) costs a second or two at
            # every start; a test whose worker renders no document starts it with warm_up=False.
            "RENDER_WORKER_WARMUP": "1" if warm_up else "0",
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "portal", "worker",
            "--loglevel", "info", "--hostname", hostname, "--queues", ",".join(QUEUES),
            "--pool", pool, "--concurrency", str(concurrency),
            # Nothing to synchronise with in a test: start faster.
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        log_file = log_path.open("w")
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=worker_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = CeleryWorker(process=process, hostname=hostname, log_path=log_path, _log_file=log_file)
        workers.append(worker)

        def ready() -> bool:
            if not worker.alive():
                pytest.fail(f"the Celery worker exited at start:\n{worker.log()[-4000:]}", pytrace=False)
            return worker.ping(timeout=0.5)

        wait_until(
            ready,
            START_TIMEOUT,
            interval=0.2,
            message=lambda: f"the Celery worker did not answer:\n{worker.log()[-4000:]}",
        )
        return worker

    yield start
    for worker in workers:
        worker.close()


@pytest.fixture
def celery_worker(start_celery_worker) -> CeleryWorker:
    """One real worker (prefork, one process) consuming the portal's queues. Its renderer is not
    warmed up: the tests that use it wait for no document (a certificate is still rendered, cold)."""
    return start_celery_worker(warm_up=False)
