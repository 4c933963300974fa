"""Shared fixtures. Services (PostgreSQL, Redis) are used when DATABASE_URL / REDIS_URL point at
them; a test that needs one skips without it, or fails when REQUIRE_SERVICES=1 (as in CI)."""

import os

import pytest
from django.db import connection

pytest_plugins = ["tests.celery_worker", "tests.browser"]


def _missing_service(what: str) -> None:
    message = f"{what} is required for this test"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres(db):
    """The test database must be PostgreSQL (locks, triggers, concurrency)."""
    if connection.vendor != "postgresql":
        _missing_service("PostgreSQL (set DATABASE_URL)")
    return connection


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        _missing_service("Redis (set REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} does not answer: {exc}", pytrace=False)
    return url


@pytest.fixture(autouse=True)
def _plain_static_names(settings):
    """Tests do not run collectstatic, so templates use plain static names instead of the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def nine_certs(db):
    """The nine centres of the data migration, present even after a transactional test flushed them.

    Transactional tests (live server, threads, real worker) empty every table when they end, data
    migrations included; tests that need the real centres ask for them here instead of relying on
    serialized_rollback, which collides with the content types a flush re-creates.
    """
    from dossiers.centres import CERTS, cert_defaults
    from dossiers.models import Cert

    return [Cert.objects.update_or_create(code=e["code"], defaults=cert_defaults(e))[0] for e in CERTS]
