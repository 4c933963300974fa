"""The settings read the environment as documented: each case starts Django in a subprocess with
exactly the environment it names, so the values seen are those a fresh process would see."""

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = "test-only-key-not-secret-6f1c0e9b2d4a4f7e8c3b5a19d0e2f4c6"
PUBLIC_URL = "https://cartegrise.example.fr"

# Prints, as JSON, what the rest of the project relies on once Django has started.
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from celery.fixups.django import DjangoWorkerFixup
from portal.celery import app

conf = app.conf
print(json.dumps({
    "database": {k: str(v) for k, v in settings.DATABASES["default"].items() if k in (
        "ENGINE", "NAME", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")},
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "always_eager": conf.task_always_eager,
    "broker_url": conf.broker_url,
    "acks_late": conf.task_acks_late,
    "reject_on_worker_lost": conf.task_reject_on_worker_lost,
    "prefetch_multiplier": conf.worker_prefetch_multiplier,
    "time_limit": conf.task_time_limit,
    "soft_time_limit": conf.task_soft_time_limit,
    "visibility_timeout": conf.broker_transport_options.get("visibility_timeout"),
    "serializer": conf.task_serializer,
    "accept_content": list(conf.accept_content),
    "db_reuse_max": conf.get("CELERY_DB_REUSE_MAX"),
    "worker_fixup_db_reuse_max": DjangoWorkerFixup(app).db_reuse_max,
}))
"""


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a Python command in the project with only `env` (plus PATH) as its environment."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=full_env, capture_output=True, text=True, timeout=120
    )


def _settings_under(env: dict[str, str]) -> dict:
    result = _run(["-c", PROBE], {"DOCUMENT_SIGNING_KEY_GENERATE": "1", "SITE_URL": PUBLIC_URL, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _names_read_by_settings() -> set[str]:
    source = (BASE_DIR / "portal" / "settings.py").read_text()
    helpers = re.findall(r"\benv_\w+\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source)
    direct = re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source)
    return set(helpers) | set(direct)


def test_every_variable_read_by_the_settings_is_documented_in_env_example():
    names = _names_read_by_settings()
    # Guards the regular expressions: the settings read at least these.
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_DB_REUSE_MAX"} <= names
    example = (BASE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert names - documented == set()


def test_production_start_without_secret_key_is_refused():
    result = _run(["-c", "import django; django.setup()"], {})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_mode_starts_without_secret_key(tmp_path):
    result = _run(["-c", "import django; django.setup()"], {"DEBUG": "1", "VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_production_start_without_a_document_signing_key_is_refused(tmp_path):
    env = {"SECRET_KEY": secrets.token_urlsafe(50), "SITE_URL": PUBLIC_URL, "VAR_DIR": str(tmp_path)}
    result = _run(["-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "DOCUMENT_SIGNING_KEY" in result.stderr


def test_deploy_checks_pass_with_a_production_environment(tmp_path):
    env = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DOCUMENT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "cartegrise.example.fr",
        "SITE_URL": PUBLIC_URL,
        "VAR_DIR": str(tmp_path),
    }
    result = _run(["manage.py", "check", "--deploy"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _check_ids(result.stdout + result.stderr) <= EXPECTED_WARNINGS


# No real payment provider is connected yet: the fake one's deploy warning is expected (and only it).
EXPECTED_WARNINGS = {"payments.W001"}


def _check_ids(output: str) -> set[str]:
    return set(re.findall(r"\(([a-z_]+\.[EWC]\d{3})\)", output))


def _env_example_values() -> dict[str, str]:
    """The KEY=VALUE lines of .env.example that are not commented out, as docker compose reads them."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values


def test_deploy_checks_are_clean_with_env_example_as_shipped_plus_its_two_secrets(tmp_path):
    env = _env_example_values()
    # As shipped, the example never turns a security default off.
    assert not {
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SITE_URL_ALLOW_HTTP",
    } & set(env)
    assert env["SITE_URL"].startswith("https://")
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["DOCUMENT_SIGNING_KEY"] = base64.b64encode(os.urandom(32)).decode()
    env["VAR_DIR"] = str(tmp_path)

    result = _run(["manage.py", "check", "--deploy"], env)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert _check_ids(output) <= EXPECTED_WARNINGS, output
    assert "?: (security" not in output


def test_production_start_without_site_url_is_refused(tmp_path):
    env = {"SECRET_KEY": TEST_SECRET_KEY, "DOCUMENT_SIGNING_KEY_GENERATE": "1", "VAR_DIR": str(tmp_path)}
    result = _run(["-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SITE_URL must be set" in result.stderr


def test_production_refuses_an_http_site_url_unless_the_local_override_is_on(tmp_path):
    env = {
        "SECRET_KEY": TEST_SECRET_KEY,
        "DOCUMENT_SIGNING_KEY_GENERATE": "1",
        "VAR_DIR": str(tmp_path),
        "SITE_URL": "http://127.0.0.1:8000",
    }
    refused = _run(["-c", "import django; django.setup()"], env)
    assert refused.returncode != 0
    assert "SITE_URL must start with https://" in refused.stderr

    allowed = _run(
        ["-c", "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"],
        {**env, "SITE_URL_ALLOW_HTTP": "1"},
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "http://127.0.0.1:8000"


def test_without_services_the_portal_runs_embedded(tmp_path):
    seen = _settings_under({"SECRET_KEY": TEST_SECRET_KEY, "VAR_DIR": str(tmp_path)})
    assert seen["database"]["ENGINE"] == "django.db.backends.sqlite3"
    assert seen["database"]["NAME"] == str(tmp_path / "portal.sqlite3")
    assert seen["always_eager"] is True
    assert seen["broker_url"].startswith("memory://")
    assert seen["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"


def test_service_urls_switch_to_postgres_and_a_real_broker(tmp_path):
    redis_url = "redis://127.0.0.1:6379/7"
    seen = _settings_under(
        {
            "SECRET_KEY": TEST_SECRET_KEY,
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://portal@db.example.internal:5432/portal_prod",
            "REDIS_URL": redis_url,
        }
    )
    assert seen["database"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "portal_prod",
        "CONN_MAX_AGE": "60",
        "CONN_HEALTH_CHECKS": "True",
    }
    assert seen["always_eager"] is False
    assert seen["broker_url"] == redis_url
    assert seen["cache_backend"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(
    ("env", "expected_limit", "expected_visibility"),
    [
        ({}, 600, 3600),
        ({"CELERY_TASK_TIME_LIMIT": "1200", "CELERY_VISIBILITY_TIMEOUT": "7200"}, 1200, 7200),
    ],
)
def test_celery_delivers_tasks_at_least_once(tmp_path, env, expected_limit, expected_visibility):
    seen = _settings_under(
        {
            "SECRET_KEY": TEST_SECRET_KEY,
            "VAR_DIR": str(tmp_path),
            "REDIS_URL": "redis://127.0.0.1:6379/7",
            **env,
        }
    )
    assert seen["acks_late"] is True
    assert seen["reject_on_worker_lost"] is True
    assert seen["prefetch_multiplier"] == 1
    assert seen["time_limit"] == expected_limit
    assert seen["visibility_timeout"] == expected_visibility
    # A task still running when the broker's visibility timeout ends would be run a second time.
    assert seen["soft_time_limit"] < seen["time_limit"] < seen["visibility_timeout"]
    assert seen["serializer"] == "json"
    assert seen["accept_content"] == ["json"]


@pytest.mark.parametrize(("env", "expected"), [({}, 1000), ({"CELERY_DB_REUSE_MAX": "250"}, 250)])
def test_celery_worker_keeps_its_database_connection(tmp_path, env, expected):
    seen = _settings_under({"SECRET_KEY": TEST_SECRET_KEY, "VAR_DIR": str(tmp_path), **env})
    # Celery's Django fixup reads exactly this key from app.conf; without it every task reconnects.
    assert seen["db_reuse_max"] == expected
    assert seen["worker_fixup_db_reuse_max"] == expected
