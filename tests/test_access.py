"""Who the client is and how long they stay in: addresses behind trusted proxies for the throttles
and the lockout, lockout per account and per address, and session timeouts by role."""

import base64
import time

import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from portal.network import client_ip
from portal.session_timeouts import SEEN_AT, STARTED_AT
from tests import factories
from tests.factories import text_of

pytestmark = pytest.mark.django_db

PROXY = "10.1.1.1"
ATTACKER = "203.0.113.66"
REAL_USER = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    """Throttles count in the cache and axes in the database: each test starts from nothing."""
    key = Ed25519PrivateKey.generate()
    settings.DOCUMENT_SIGNING_KEY = base64.b64encode(key.private_bytes_raw()).decode()
    settings.DOCUMENT_SIGNING_KEY_FILE = ""
    cache.clear()
    yield
    cache.clear()


def proxies(settings, count: int, *, verify_rate: str | None = None) -> None:
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
    if verify_rate:
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "verify": verify_rate}
    settings.REST_FRAMEWORK = rest  # DRF reloads api_settings on setting_changed


def login(client, email: str, password: str = factories.PASSWORD, **meta):
    return client.post(reverse("login"), {"username": email, "password": password}, follow=True, **meta)


def is_logged_in(client) -> bool:
    """Whether "Mon espace" opens (staff are sent on to their own pages) rather than the login page."""
    response = client.get(reverse("space"))
    return not (response.status_code == 302 and response.url.startswith(reverse("login")))


# --- Client address ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "", PROXY),
        (0, "1.2.3.4", PROXY),  # no proxy: the header is the client's to write, never read
        (1, "", PROXY),
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "1.2.3.4, 5.6.7.8", "5.6.7.8"),  # the address our proxy appended, not the client's own
        (2, "1.2.3.4, 5.6.7.8, 9.9.9.9", "5.6.7.8"),
        (3, "5.6.7.8", "5.6.7.8"),  # fewer entries than proxies: the leftmost there is
    ],
)
def test_client_ip_reads_only_what_the_trusted_proxies_appended(settings, count, forwarded, expected):
    proxies(settings, count)
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_rotating_x_forwarded_for_does_not_escape_the_token_endpoint_throttle(client, settings):
    settings.AXES_ENABLED = False  # the throttle alone, not the lockout
    factories.citizen(email="camille@example.fr")
    statuses = [
        client.post(
            reverse("api-token"),
            {"email": "camille@example.fr", "password": "pas-le-bon"},
            content_type="application/json",
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        ).status_code
        for attempt in range(21)
    ]
    assert 429 not in statuses[:20]  # THROTTLE_TOKEN is 20/minute
    assert statuses[20] == 429


def test_rotating_x_forwarded_for_does_not_escape_the_verification_page_limit(client, settings):
    proxies(settings, 0, verify_rate="5/minute")
    url = reverse("verify", args=["pas-un-jeton"])
    statuses = [
        client.get(url, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}").status_code
        for attempt in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    # Another client is still answered.
    assert client.get(url, REMOTE_ADDR=REAL_USER).status_code == 200


def test_behind_one_proxy_the_verification_page_counts_the_address_the_proxy_appended(client, settings):
    proxies(settings, 1, verify_rate="5/minute")
    url = reverse("verify", args=["pas-un-jeton"])
    statuses = [
        client.get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}, {ATTACKER}").status_code
        for attempt in range(6)
    ]
    assert statuses == [200] * 5 + [429]
    # Every client arrives from the proxy's address: the real user behind it is not throttled.
    assert client.get(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=REAL_USER).status_code == 200


def test_behind_one_proxy_the_token_endpoint_counts_the_address_the_proxy_appended(client, settings):
    settings.AXES_ENABLED = False
    proxies(settings, 1)

    def attempt(forwarded: str) -> int:
        return client.post(
            reverse("api-token"),
            {"email": "nobody@example.fr", "password": "pas-le-bon"},
            content_type="application/json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    statuses = [attempt(f"192.0.2.{n}, {ATTACKER}") for n in range(21)]
    assert 429 not in statuses[:20]
    assert statuses[20] == 429
    assert attempt(REAL_USER) != 429


# --- Lockout per account and per address ------------------------------------------------------


def test_an_address_trying_many_accounts_is_locked_but_the_real_user_elsewhere_logs_in(client, settings):
    settings.AXES_FAILURE_LIMIT = 5
    victims = [factories.citizen(email=f"usager{n}@example.fr") for n in range(5)]
    for victim in victims[:4]:
        assert login(client, victim.email, "pas-le-bon", REMOTE_ADDR=ATTACKER).status_code == 200
    # The fifth failure from the same address, on a fifth account, reaches the limit.
    assert login(client, victims[4].email, "pas-le-bon", REMOTE_ADDR=ATTACKER).status_code == 429

    # The attacker's address is now locked, for every account, even with the right password.
    response = login(client, factories.citizen(email="autre@example.fr").email, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 429
    assert "Connexion temporairement bloquée" in text_of(response)
    assert not is_logged_in(client)

    # The real holder of an attacked account, from their own address, is not.
    response = login(client, victims[0].email, REMOTE_ADDR=REAL_USER)
    assert response.status_code == 200
    assert is_logged_in(client)


def test_failures_on_one_account_from_rotating_addresses_lock_that_account(client, settings):
    settings.AXES_FAILURE_LIMIT = 5
    factories.citizen(email="camille@example.fr")
    factories.citizen(email="dominique@example.fr")
    for n in range(5):
        login(client, "camille@example.fr", "pas-le-bon", REMOTE_ADDR=f"192.0.2.{n}")

    # The account is locked from any address, the right password included.
    response = login(client, "camille@example.fr", REMOTE_ADDR=REAL_USER)
    assert response.status_code == 429
    assert not is_logged_in(client)
    # Rotating X-Forwarded-For changes nothing either (no trusted proxy).
    response = login(client, "camille@example.fr", REMOTE_ADDR=REAL_USER, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429

    # The addresses used are not locked for other accounts: one failure each.
    response = login(client, "dominique@example.fr", REMOTE_ADDR="192.0.2.4")
    assert response.status_code == 200
    assert is_logged_in(client)


def test_behind_one_proxy_the_lockout_counts_the_address_the_proxy_appended(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    proxies(settings, 1)
    factories.citizen(email="camille@example.fr")
    for n in range(3):
        login(
            client,
            f"inconnu{n}@example.fr",
            "pas-le-bon",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}

    locked = login(
        client, "camille@example.fr", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}"
    )
    assert locked.status_code == 429
    assert (
        login(client, "camille@example.fr", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=REAL_USER).status_code
        == 200
    )
    assert is_logged_in(client)


# --- Session timeouts -------------------------------------------------------------------------


def move_session_back(client, *, started_seconds: int = 0, seen_seconds: int = 0) -> None:
    """Make the session look as if it had started / last been used that many seconds ago."""
    session = client.session
    now = int(time.time())
    session[STARTED_AT] = now - started_seconds
    session[SEEN_AT] = now - seen_seconds
    session.save()


STAFF = {
    "agent": lambda: factories.agent(email="agent@example.fr"),
    "supervisor": lambda: factories.supervisor(email="superviseur@example.fr"),
}


@pytest.mark.parametrize("role", sorted(STAFF))
def test_a_staff_session_idle_for_31_minutes_is_logged_out_with_a_french_message(client, role):
    user = STAFF[role]()
    login(client, user.email)
    move_session_back(client, started_seconds=31 * 60, seen_seconds=31 * 60)

    response = client.get(reverse("space"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "Votre session a expiré après une période d'inactivité" in text_of(response)
    assert not is_logged_in(client)


def test_a_staff_session_ends_after_ten_hours_even_when_active(client):
    user = factories.agent(email="agent@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=10 * 3600 + 60, seen_seconds=0)

    response = client.get(reverse("space"), follow=True)

    assert "Votre session a atteint sa durée maximale" in text_of(response)
    assert not is_logged_in(client)


def test_an_active_staff_session_stays_open(client):
    user = factories.agent(email="agent@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=9 * 3600, seen_seconds=29 * 60)

    assert is_logged_in(client)
    # The request counted as activity: another 29 minutes later the session is still open.
    session = client.session
    assert int(time.time()) - session[SEEN_AT] < 60


def test_a_citizen_session_outlives_the_staff_limits(client):
    user = factories.citizen(email="camille@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=5 * 24 * 3600, seen_seconds=90 * 60)

    assert is_logged_in(client)


def test_a_citizen_session_idle_for_more_than_two_hours_is_logged_out(client):
    user = factories.citizen(email="camille@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=3 * 3600, seen_seconds=2 * 3600 + 60)

    response = client.get(reverse("space"), follow=True)

    assert "Votre session a expiré après une période d'inactivité" in text_of(response)
    assert not is_logged_in(client)


def test_the_limits_are_settings(client, settings):
    settings.SESSION_PUBLIC_IDLE_SECONDS = 60
    user = factories.dealer(email="garage@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=120, seen_seconds=120)

    assert not is_logged_in(client)


def test_an_expired_session_calling_the_api_is_anonymous(client):
    user = factories.agent(email="agent@example.fr")
    login(client, user.email)
    move_session_back(client, started_seconds=31 * 60, seen_seconds=31 * 60)

    response = client.get("/api/v1/dossiers/")

    assert response.status_code in (401, 403)
    assert not is_logged_in(client)
