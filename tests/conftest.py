"""Shared fixtures. Services (PostgreSQL, Redis) are used when DATABASE_URL / REDIS_URL point at
them; a test that needs one skips without it, or fails when REQUIRE_SERVICES=1 (as in CI)."""

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test.utils import override_settings

from portal.celery import app

pytest_plugins = ["tests.celery_worker", "tests.browser"]

# The production hasher costs ~100 ms per password: two thirds of the suite's time went into the
# user factory. Enabled once for the whole session, before collection, so that it also covers users
# created at import time and by the live server's thread (same process); production settings are
# untouched. override_settings (not an assignment) sends setting_changed, which clears the cached
# hashers.
_FAST_HASHER = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


def pytest_configure(config):
    _FAST_HASHER.enable()


def pytest_unconfigure(config):
    _FAST_HASHER.disable()


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete_on_postgresql():
    """Empty the tables after a transactional test (live server, threads, real worker) with DELETE
    instead of TRUNCATE: as empty afterwards, in ~15 ms instead of ~0.3 s (TRUNCATE gives each of the
    ~80 tables and their indexes new files). Triggers (the events' append-only guard, the foreign
    keys' checks) are off for that one transaction, which only a superuser may ask; otherwise, and
    for a partial flush or a sequence reset, Django's TRUNCATE is kept."""
    try:
        from django.db.backends.postgresql.operations import DatabaseOperations
    except ImportError:  # no psycopg: SQLite only
        yield
        return

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if tables and not reset_sequences and not allow_cascade:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('is_superuser') = 'on'")
                superuser = cursor.fetchone()[0]
            if superuser:
                # execute_sql_flush runs the list in one transaction: SET LOCAL ends with it.
                return [
                    "SET LOCAL session_replication_role = replica",
                    *(
                        f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(t))}"
                        for t in tables
                    ),
                ]
        return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


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
def media_in_tmp(settings, tmp_path):
    """Uploaded and generated files go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def centres(db):
    """Start from no centre at all (the migration loads the nine real ones): tests create theirs."""
    # Models are imported once Django is set up, not when pytest loads this file.
    from dossiers.models import Cert

    Cert.objects.all().delete()


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


@pytest.fixture
def issuing(settings, tmp_path):
    """Tasks run in-process (as in the embedded mode), PDFs go to a fresh media folder, a fresh
    signing key, mails to the locmem outbox."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DOCUMENT_SIGNING_KEY = base64.b64encode(
        Ed25519PrivateKey.generate().private_bytes_raw()
    ).decode()
    settings.DOCUMENT_SIGNING_KEY_FILE = ""
    settings.SITE_URL = "https://carte-grise.example.fr"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
