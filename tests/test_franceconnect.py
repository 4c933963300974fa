"""FranceConnect login, end to end against a local OpenID Connect provider the test starts
(oidc-provider-mock on a thread, no network): the portal's login URL, the provider's authorisation
form, the callback, and the citizen signed in."""

from datetime import date
from urllib.parse import urlsplit

import pytest
import requests
from django.test import override_settings

from portal.models import Role, User
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    # authlib, under the mock provider, warns about its own APIs (not the portal's).
    pytest.mark.filterwarnings("ignore:.*deprecated:Warning"),
]

CLAIMS = {
    "given_name": "Angela Claire Louise",
    "family_name": "DUBOIS",
    "birthdate": "1962-08-24",
    "birthplace": "75107",
    "email": "angela.dubois@example.fr",
}


@pytest.fixture
def provider(monkeypatch):
    """The provider's base URL, with the portal's FranceConnect settings pointed at it."""
    from oidc_provider_mock import User as ProviderUser
    from oidc_provider_mock import run_server_in_thread

    # The mock speaks plain http on localhost; authlib refuses that unless told.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    users = [
        ProviderUser(sub="fc-sub-angela", claims=CLAIMS),
        ProviderUser(sub="fc-sub-staff", claims={**CLAIMS, "email": "agent@example.fr"}),
    ]
    with run_server_in_thread(user_claims=users, require_nonce=True) as server:
        base = f"http://localhost:{server.server_port}"
        with override_settings(
            FRANCECONNECT_ENABLED=True,
            OIDC_RP_CLIENT_ID="portail-carte-grise",
            OIDC_RP_CLIENT_SECRET="test-secret",  # noqa: S106 - the mock accepts any secret
            OIDC_OP_AUTHORIZATION_ENDPOINT=f"{base}/oauth2/authorize",
            OIDC_OP_TOKEN_ENDPOINT=f"{base}/oauth2/token",
            OIDC_OP_USER_ENDPOINT=f"{base}/userinfo",
            OIDC_OP_JWKS_ENDPOINT=f"{base}/jwks",
            # The mock grants the standard scopes only (FranceConnect names each claim instead).
            OIDC_RP_SCOPES="openid profile email",
            # The mock's one signing key has no `kid` (FranceConnect's keys do).
            OIDC_VERIFY_KID=False,
        ):
            yield base


def franceconnect_login(client, provider: str, *, sub: str, next_url: str = ""):
    """Run the code flow as the browser would; the portal's last response."""
    start = client.get("/franceconnect/connexion/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{provider}/oauth2/authorize?")
    # The provider's form: the person chooses who they are and authorises.
    form = requests.get(authorize, timeout=10)
    assert form.status_code == 200
    answer = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == "/franceconnect/retour/"
    return client.get(f"{callback.path}?{callback.query}")


def test_first_franceconnect_login_creates_a_confirmed_citizen(client, provider):
    response = franceconnect_login(client, provider, sub="fc-sub-angela")
    assert response.status_code == 302 and response["Location"] == "/mon-espace/"

    user = User.objects.get(franceconnect_sub="fc-sub-angela")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert (user.role, user.email, user.first_name, user.last_name) == (
        Role.CITIZEN,
        "angela.dubois@example.fr",
        "Angela Claire Louise",
        "DUBOIS",
    )
    assert (user.birth_date, user.birth_place) == (date(1962, 8, 24), "75107")
    assert user.email_confirmed_at is not None
    assert not user.has_usable_password()
    assert client.get("/mon-espace/").status_code == 200


def test_second_franceconnect_login_finds_the_same_account(client, provider):
    franceconnect_login(client, provider, sub="fc-sub-angela")
    first = User.objects.get(franceconnect_sub="fc-sub-angela")
    client.logout()

    response = franceconnect_login(client, provider, sub="fc-sub-angela", next_url="/mon-espace/profil/")
    assert response.status_code == 302 and response["Location"] == "/mon-espace/profil/"
    assert User.objects.count() == 1
    assert client.session["_auth_user_id"] == str(first.pk)


def test_franceconnect_links_a_signed_up_citizen_with_the_same_address(client, provider):
    citizen = factories.citizen(email="angela.dubois@example.fr", first_name="Angie", email_confirmed_at=None)
    franceconnect_login(client, provider, sub="fc-sub-angela")
    citizen.refresh_from_db()
    assert client.session["_auth_user_id"] == str(citizen.pk)
    assert (citizen.franceconnect_sub, citizen.first_name) == ("fc-sub-angela", "Angela Claire Louise")
    assert citizen.email_confirmed_at is not None
    assert User.objects.count() == 1


def test_franceconnect_never_logs_into_a_staff_account(client, provider):
    agent = factories.agent(email="agent@example.fr")
    response = franceconnect_login(client, provider, sub="fc-sub-staff")
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    assert "_auth_user_id" not in client.session
    agent.refresh_from_db()
    assert agent.franceconnect_sub is None
    assert User.objects.count() == 1
    page = client.get("/connexion/").content.decode()
    assert "La connexion avec FranceConnect n&#x27;a pas abouti" in page


def test_franceconnect_identity_is_read_only_in_the_profile(client, provider):
    franceconnect_login(client, provider, sub="fc-sub-angela")
    page = client.get("/mon-espace/profil/").content.decode()
    assert "Transmis par FranceConnect" in page
    response = client.post(
        "/mon-espace/profil/",
        {
            "first_name": "Autre",
            "last_name": "NOM",
            "birth_date": "01/01/1990",
            "birth_place": "Ailleurs",
            "address_line": "3 place Bellecour",
            "postcode": "69002",
            "city": "Lyon",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(franceconnect_sub="fc-sub-angela")
    assert (user.first_name, user.last_name, user.birth_date) == (
        "Angela Claire Louise",
        "DUBOIS",
        date(1962, 8, 24),
    )
    assert (user.address_line, user.city) == ("3 place Bellecour", "Lyon")


def test_login_and_sign_up_pages_show_the_franceconnect_button(client, provider):
    for url in ("/connexion/", "/inscription/"):
        page = client.get(url).content.decode()
        assert 'class="fr-connect"' in page and 'href="/franceconnect/connexion/' in page


def test_password_login_still_works_with_franceconnect_on(client, provider):
    factories.citizen(email="camille@example.fr")
    response = client.post("/connexion/", {"username": "camille@example.fr", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/mon-espace/"


def test_an_unreachable_provider_is_a_failed_login_not_an_error(client, provider):
    start = client.get("/franceconnect/connexion/")
    answer = requests.post(
        start["Location"], data={"sub": "fc-sub-angela"}, allow_redirects=False, timeout=10
    )
    callback = urlsplit(answer.headers["Location"])
    # The token endpoint stops answering between the authorisation and the callback.
    with override_settings(OIDC_OP_TOKEN_ENDPOINT="http://127.0.0.1:9/oauth2/token"):
        response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == 0
