"""API tokens (issue 12, finding 7): stored as a digest, shown once, expiring, revoked with the
password, listed and revoked by their owner; organisation tokens hashed without breaking them."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import ApiToken, OrganisationToken, Role, User
from tests import factories

pytestmark = pytest.mark.django_db

DOSSIERS = "/api/v1/dossiers/"
TOKENS = "/api/v1/auth/tokens/"


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """A different algorithm than the tests' MD5, cheap enough to rehash into."""

    iterations = 1


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()  # the token endpoint's throttle counts in the cache


def obtain(user: User, password: str = factories.PASSWORD, **extra) -> dict:
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": user.email, "password": password, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def call(secret: str, path: str = DOSSIERS, method: str = "get"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return getattr(client, method)(path)


def rows(model) -> list[dict]:
    return list(model.objects.order_by("pk").values())


def raw_row(table: str, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test tables
        return cursor.fetchone()


def error(response) -> dict:
    return response.json()["errors"][0]


# --- stored as a digest, shown once ---------------------------------------------------------------


def test_the_database_holds_no_personal_secret_and_the_list_never_shows_it():
    user = factories.citizen()
    issued = obtain(user, name="Script de suivi")
    secret = issued["token"]
    assert len(secret) >= 40 and issued["name"] == "Script de suivi"

    token = ApiToken.objects.get(pk=issued["id"])
    assert token.digest != secret
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in raw_row("portal_apitoken", token.pk))
    assert token.prefix == issued["prefix"] and secret.startswith(token.prefix)

    listed = call(secret, TOKENS)
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    assert [row["prefix"] for row in listed.json()["results"]] == [issued["prefix"]]
    assert call(secret).status_code == 200


def test_the_database_holds_no_organisation_secret():
    staff = factories.dealer()
    secret = factories.organisation_token(staff)
    token = OrganisationToken.objects.get()
    assert token.digest != secret
    assert not any(secret in str(value) for value in raw_row("portal_organisationtoken", token.pk))
    assert call(secret).status_code == 200


def test_every_exchange_issues_a_new_token_and_the_old_ones_keep_working():
    user = factories.citizen()
    first, second = obtain(user)["token"], obtain(user)["token"]
    assert first != second
    assert call(first).status_code == 200 and call(second).status_code == 200


def test_admin_shows_a_new_organisation_token_once(client):
    staff_user = factories.UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(staff_user)
    dealer = factories.dealer()
    response = client.post(
        "/admin/portal/organisationtoken/add/",
        {"organisation": dealer.organisation_id, "name": "DMS", "created_by": dealer.pk, "expires_at_0": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = OrganisationToken.objects.get()
    shown = re.findall(r"cgo_[A-Za-z0-9_-]{43}", response.content.decode())
    assert len(shown) == 1
    secret = shown[0]
    assert call(secret).status_code == 200
    assert token.expires_at > timezone.now() + timedelta(days=89)
    again = client.get(f"/admin/portal/organisationtoken/{token.pk}/change/").content.decode()
    assert token.prefix in again and secret not in again


# --- expiry ----------------------------------------------------------------------------------------


def test_a_token_expires_after_the_configured_lifetime(settings):
    settings.API_TOKEN_DAYS = 7
    user = factories.citizen()
    before = timezone.now()
    issued = obtain(user)
    token = ApiToken.objects.get(pk=issued["id"])
    assert before + timedelta(days=7) <= token.expires_at <= timezone.now() + timedelta(days=7)

    # Time passes: the lifetime is over.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = rows(ApiToken)
    response = call(issued["token"])
    assert response.status_code == 401
    assert error(response)["rule"] == "token_expired"
    assert "Jeton expiré le" in error(response)["message"]
    assert "POST /api/v1/auth/token/" in error(response)["message"]
    assert rows(ApiToken) == before  # not even its last use is recorded
    assert call(issued["token"], TOKENS).status_code == 401
    renewed = obtain(user)
    assert [row["id"] for row in call(renewed["token"], TOKENS).json()["results"]] == [renewed["id"]]


def test_an_expired_organisation_token_is_refused():
    staff = factories.dealer()
    secret = factories.organisation_token(staff)
    OrganisationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = call(secret)
    assert response.status_code == 401
    assert error(response)["rule"] == "token_expired"
    assert "Jeton d'organisation expiré" in error(response)["message"]


# --- revoked with the password ---------------------------------------------------------------------


def test_a_password_change_revokes_every_personal_token():
    user = factories.citizen()
    other = factories.citizen()
    first, second = factories.token_for(user), factories.token_for(user)
    others = factories.token_for(other)

    user.set_password("un-nouveau-mot-de-passe-2026")
    user.save()

    for secret in (first, second):
        response = call(secret)
        assert response.status_code == 401 and error(response)["rule"] == "token_revoked"
    assert call(others).status_code == 200
    # The new password gets a new token that works.
    assert call(obtain(user, "un-nouveau-mot-de-passe-2026")["token"]).status_code == 200


def test_a_password_change_in_the_admin_revokes_the_tokens(client):
    admin_user = factories.UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    user = factories.citizen()
    secret = factories.token_for(user)
    response = client.post(
        f"/admin/portal/user/{user.pk}/password/",
        {"password1": "Autre-mot-de-passe-2026", "password2": "Autre-mot-de-passe-2026"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Autre-mot-de-passe-2026")
    assert call(secret).status_code == 401


def test_disabling_password_login_revokes_the_tokens():
    user = factories.citizen()
    secret = factories.token_for(user)
    user.set_unusable_password()
    user.save()
    assert call(secret).status_code == 401


def test_saving_the_account_or_rehashing_the_same_password_keeps_the_tokens(settings):
    user = factories.citizen()
    secret = factories.token_for(user)
    user.first_name = "Camille"
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    # A new hasher: logging in rehashes the same password, which is no password change.
    settings.PASSWORD_HASHERS = [
        "tests.test_tokens.FastPBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    obtain(user)
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$1$")
    assert call(secret).status_code == 200
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_an_account_created_without_password_keeps_its_tokens_when_saved():
    user = User.objects.create_user("sans-mot-de-passe@example.fr")
    secret = factories.token_for(user)
    user.first_name = "Dominique"
    user.save()
    assert call(secret).status_code == 200


# --- listed and revoked by their owner -------------------------------------------------------------


def test_the_owner_lists_their_usable_tokens_only():
    user = factories.citizen()
    other = factories.citizen()
    a = obtain(user, name="Ordinateur")
    b = obtain(user, name="Téléphone")
    revoked = obtain(user, name="Ancien")
    call(a["token"], f"{TOKENS}{revoked['id']}/", "delete")
    factories.token_for(other)

    response = call(a["token"], TOKENS)
    assert response.status_code == 200
    listed = response.json()["results"]
    assert [(row["id"], row["name"], row["prefix"]) for row in listed] == [
        (b["id"], "Téléphone", b["prefix"]),
        (a["id"], "Ordinateur", a["prefix"]),
    ]
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "expires_at", "last_used_at"}
    body = response.content.decode()
    assert all(issued["token"] not in body for issued in (a, b, revoked))


def test_the_owner_revokes_a_token_and_it_is_refused_at_once():
    user = factories.citizen()
    kept, lost = obtain(user), obtain(user)
    assert call(lost["token"]).status_code == 200

    response = call(kept["token"], f"{TOKENS}{lost['id']}/", "delete")
    assert response.status_code == 204
    refused = call(lost["token"])
    assert refused.status_code == 401 and error(refused)["message"] == "Jeton révoqué."
    assert call(kept["token"]).status_code == 200
    assert [row["id"] for row in call(kept["token"], TOKENS).json()["results"]] == [kept["id"]]
    # A token can revoke itself: the next request with it is refused.
    assert call(kept["token"], f"{TOKENS}{kept['id']}/", "delete").status_code == 204
    assert call(kept["token"]).status_code == 401


def test_revoking_another_users_token_is_a_404_and_changes_nothing():
    owner = factories.citizen()
    intruder = factories.citizen()
    victim = obtain(owner)
    intruder_secret = obtain(intruder)["token"]
    before = list(ApiToken.objects.filter(user=owner).values())

    response = call(intruder_secret, f"{TOKENS}{victim['id']}/", "delete")
    missing = call(intruder_secret, f"{TOKENS}999999/", "delete")
    assert response.status_code == 404 and missing.status_code == 404
    assert response.json() == missing.json()
    assert list(ApiToken.objects.filter(user=owner).values()) == before
    assert call(victim["token"]).status_code == 200


def test_an_organisation_token_does_not_manage_personal_tokens():
    staff = factories.dealer()
    personal = obtain(staff)
    org_secret = factories.organisation_token(staff)
    before = rows(ApiToken)
    assert call(org_secret, TOKENS).status_code == 403
    assert call(org_secret, f"{TOKENS}{personal['id']}/", "delete").status_code == 403
    assert rows(ApiToken) == before
    assert call(personal["token"]).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute():
    user = factories.citizen()
    secret = factories.token_for(user)
    assert ApiToken.objects.get().last_used_at is None
    call(secret)
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        assert call(secret).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert ApiToken.objects.get().last_used_at == first_use

    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    call(secret)
    assert ApiToken.objects.get().last_used_at > timezone.now() - timedelta(seconds=10)


# --- migration of the plain keys -------------------------------------------------------------------

BEFORE = [("portal", "0001_initial")]
LEGACY_KEY = "0123456789abcdef0123456789abcdef01234567"
LEGACY_DRF_KEY = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.mark.django_db(transaction=True)
def test_existing_plain_keys_keep_working_once_hashed():
    staff = factories.dealer()
    citizen = factories.citizen()
    factories.draft(filed_by=staff)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldToken = old.get_model("portal", "OrganisationToken")
    OldToken.objects.create(
        key=LEGACY_KEY, organisation_id=staff.organisation_id, created_by_id=staff.pk, name="DMS"
    )
    OldToken.objects.create(
        key="9" * 40,
        organisation_id=staff.organisation_id,
        created_by_id=staff.pk,
        name="Ancien",
        revoked_at=timezone.now(),
    )
    # A database that had DRF's plain-text personal tokens.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id bigint)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)", [LEGACY_DRF_KEY, timezone.now(), citizen.pk]
        )

    executor = MigrationExecutor(connection)
    # Up to the latest migration of every app: the rest of the test uses today's models.
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert call(LEGACY_KEY).status_code == 200
    assert len(call(LEGACY_KEY).json()["results"]) == 1
    assert call("9" * 40).status_code == 401  # revoked stays revoked
    assert call(LEGACY_DRF_KEY, TOKENS).status_code == 200  # the citizen's DRF token, now hashed
    assert "authtoken_token" not in connection.introspection.table_names()
    for table, pk in (
        ("portal_organisationtoken", OrganisationToken.objects.get(name="DMS").pk),
        ("portal_apitoken", ApiToken.objects.get(user=citizen).pk),
    ):
        assert not any(
            key in str(value) for value in raw_row(table, pk) for key in (LEGACY_KEY, LEGACY_DRF_KEY)
        )
    assert OrganisationToken.objects.get(name="DMS").expires_at > timezone.now()
