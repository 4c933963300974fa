"""Citizen accounts: sign-up, email confirmation, login, password reset and profile, as a visitor
sees them through the pages and their mailbox."""

import pytest
from django.core import mail, signing
from django.test import override_settings

from portal import accounts
from portal.models import Role, User
from portal.selectors import profile_holder_initial
from tests import factories

pytestmark = pytest.mark.django_db

STRONG = "Clio-rouge-1998!"
SIGNUP = {
    "first_name": "Camille",
    "last_name": "Durand",
    "email": "Camille.Durand@Example.fr",
    "password1": STRONG,
    "password2": STRONG,
}


def signup(client, capture, **overrides):
    with capture(execute=True):
        return client.post("/inscription/", {**SIGNUP, **overrides})


def login(client, email, password):
    return client.post("/connexion/", {"username": email, "password": password})


def test_sign_up_confirm_by_mail_then_log_in(client, django_capture_on_commit_callbacks):
    response = signup(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == "/inscription/envoyee/"
    assert "camille.durand@example.fr" in client.get("/inscription/envoyee/").content.decode()

    user = User.objects.get(email="camille.durand@example.fr")
    assert (user.role, user.first_name, user.last_name) == (Role.CITIZEN, "Camille", "Durand")
    assert user.email_confirmed_at is None

    # Not confirmed yet: the login says so in French and offers a new link.
    page = login(client, "camille.durand@example.fr", STRONG).content.decode()
    assert "adresse électronique n&#x27;est pas encore confirmée" in page
    assert 'href="/inscription/nouveau-lien/"' in page
    assert "_auth_user_id" not in client.session

    [message] = mail.outbox
    assert message.to == ["camille.durand@example.fr"]
    assert message.subject == "Confirmez votre adresse électronique — Portail carte grise"
    assert message.alternatives[0][1] == "text/html"
    link = factories.mail_link(message, "/inscription/confirmer/")

    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    user.refresh_from_db()
    assert user.email_confirmed_at is not None

    response = login(client, "camille.durand@example.fr", STRONG)
    assert response.status_code == 302 and response["Location"] == "/mon-espace/"
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password1": "court", "password2": "court"}, "password1", "trop court"),
        ({"password1": "12345678901", "password2": "12345678901"}, "password1", "entièrement numérique"),
        ({"password1": "motdepasse", "password2": "motdepasse"}, "password1", "trop courant"),
        ({"password1": "camilledurand", "password2": "camilledurand"}, "password1", "trop semblable"),
        ({"password2": "Autre-chose-1998!"}, "password2", "ne sont pas identiques"),
        (
            {"email": "camille@"},
            "email",
            "Adresse électronique invalide : le format attendu est nom@domaine.fr.",
        ),
        ({"first_name": ""}, "first_name", "Ce champ est obligatoire"),
    ],
)
def test_sign_up_refusals_say_which_field_and_create_nothing(
    client, django_capture_on_commit_callbacks, overrides, field, message
):
    response = signup(client, django_capture_on_commit_callbacks, **overrides)
    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    page = response.content.decode()
    assert 'id="error-summary"' in page and f'href="#id_{field}"' in page
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_empty_sign_up_shows_every_error_at_once(client):
    response = client.post("/inscription/", {})
    form = response.context["form"]
    assert set(form.errors) == {"first_name", "last_name", "email", "password1", "password2"}
    page = response.content.decode()
    assert "Le formulaire contient 5 erreurs" in page
    assert 'aria-invalid="true"' in page
    assert User.objects.count() == 0


def test_sign_up_with_a_taken_address_reveals_nothing_and_mails_the_owner(
    client, django_capture_on_commit_callbacks
):
    owner = factories.citizen(email="camille.durand@example.fr", first_name="Camille")
    before = User.objects.values_list("pk", "password", "first_name", "last_name").get(pk=owner.pk)

    response = signup(client, django_capture_on_commit_callbacks, first_name="Intrus", password1=STRONG)
    # The same answer as a new sign-up: a redirect to the same "check your inbox" page.
    assert response.status_code == 302 and response["Location"] == "/inscription/envoyee/"
    assert User.objects.count() == 1
    assert User.objects.values_list("pk", "password", "first_name", "last_name").get(pk=owner.pk) == before
    [message] = mail.outbox
    assert message.to == [owner.email]
    assert message.subject == "Vous avez déjà un compte — Portail carte grise"
    assert "/connexion/" in message.body and "/mot-de-passe/oublie/" in message.body


def test_sign_up_again_before_confirming_sends_the_link_again(client, django_capture_on_commit_callbacks):
    signup(client, django_capture_on_commit_callbacks)
    signup(client, django_capture_on_commit_callbacks)
    assert User.objects.count() == 1
    assert [m.subject for m in mail.outbox] == [
        "Confirmez votre adresse électronique — Portail carte grise"
    ] * 2


def test_whoever_signed_up_first_with_an_address_cannot_keep_it(client, django_capture_on_commit_callbacks):
    """A stranger signs up with Camille's address and a password of theirs, never confirms; Camille
    signs up: her password replaces theirs and the link mailed before hers confirms nothing."""
    signup(
        client,
        django_capture_on_commit_callbacks,
        password1="Stranger-pass-2026!",
        password2="Stranger-pass-2026!",
    )
    stale = factories.mail_link(mail.outbox[0], "/inscription/confirmer/")
    signup(client, django_capture_on_commit_callbacks)
    fresh = factories.mail_link(mail.outbox[1], "/inscription/confirmer/")

    client.get(stale)
    assert User.objects.get().email_confirmed_at is None  # the stale link confirmed nothing
    client.get(fresh)
    user = User.objects.get()
    assert user.email_confirmed_at is not None
    assert user.check_password(STRONG) and not user.check_password("Stranger-pass-2026!")


def test_a_used_link_says_the_address_is_already_confirmed(client, django_capture_on_commit_callbacks):
    signup(client, django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/inscription/confirmer/")
    client.get(link)
    confirmed_at = User.objects.get().email_confirmed_at

    response = client.get(link)
    assert response.status_code == 200
    assert "Adresse déjà confirmée" in response.content.decode()
    assert User.objects.get().email_confirmed_at == confirmed_at


def test_an_expired_link_confirms_nothing_and_offers_a_new_one(client, django_capture_on_commit_callbacks):
    signup(client, django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/inscription/confirmer/")
    # A link older than its lifetime: the token carries its signing time.
    with override_settings(EMAIL_CONFIRMATION_DAYS=-1):
        response = client.get(link)
    assert response.status_code == 410
    page = response.content.decode()
    assert "Ce lien a expiré" in page and 'href="/inscription/nouveau-lien/"' in page
    assert User.objects.get().email_confirmed_at is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        # Signed with another key: a forged token for an account that exists.
        "forged",
    ],
)
def test_a_forged_link_confirms_nothing(client, django_capture_on_commit_callbacks, token):
    signup(client, django_capture_on_commit_callbacks)
    user = User.objects.get()
    if token == "forged":
        token = signing.dumps({"u": user.pk, "e": user.email}, key="x" * 50, salt=accounts.CONFIRMATION_SALT)
    response = client.get(f"/inscription/confirmer/{token}/")
    assert response.status_code == 400
    assert "Ce lien n'est pas valide" in response.content.decode()
    assert User.objects.get().email_confirmed_at is None


def test_resend_mails_only_an_unconfirmed_account_and_answers_the_same(
    client, django_capture_on_commit_callbacks
):
    signup(client, django_capture_on_commit_callbacks)
    factories.citizen(email="confirmed@example.fr")
    mail.outbox.clear()
    for email in ("camille.durand@example.fr", "confirmed@example.fr", "nobody@example.fr"):
        response = client.post("/inscription/nouveau-lien/", {"email": email})
        assert response.status_code == 302 and response["Location"] == "/inscription/envoyee/"
    assert [m.to for m in mail.outbox] == [["camille.durand@example.fr"]]
    client.get(factories.mail_link(mail.outbox[0], "/inscription/confirmer/"))
    assert User.objects.get(email="camille.durand@example.fr").email_confirmed_at is not None


def test_login_page_links_to_sign_up_and_password_reset(client):
    page = client.get("/connexion/").content.decode()
    assert 'href="/inscription/"' in page and "Créer un compte" in page
    assert 'href="/mot-de-passe/oublie/"' in page and "Mot de passe oublié ?" in page
    assert 'href="/inscription/"' in client.get("/").content.decode()


def test_password_reset_round_trip(client):
    user = factories.citizen(email="camille@example.fr")
    response = client.post("/mot-de-passe/oublie/", {"email": "camille@example.fr"})
    assert response.status_code == 302 and response["Location"] == "/mot-de-passe/envoye/"
    [message] = mail.outbox
    assert message.subject == "Choisissez un nouveau mot de passe — Portail carte grise"
    link = factories.mail_link(message, "/mot-de-passe/nouveau/")

    form_page = client.get(link, follow=True)
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert "trop court" in " ".join(weak.context["form"].errors["new_password1"])
    response = client.post(set_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302 and response["Location"] == "/mot-de-passe/modifie/"

    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert login(client, "camille@example.fr", STRONG).status_code == 302
    # The link served once.
    client.logout()
    assert "Ce lien n'est plus valable" in client.get(link, follow=True).content.decode()


def test_password_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(client):
    response = client.post("/mot-de-passe/oublie/", {"email": "nobody@example.fr"})
    assert response.status_code == 302 and response["Location"] == "/mot-de-passe/envoye/"
    assert mail.outbox == []


def test_password_reset_confirms_an_unconfirmed_address(client, django_capture_on_commit_callbacks):
    signup(client, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    client.post("/mot-de-passe/oublie/", {"email": "camille.durand@example.fr"})
    link = factories.mail_link(mail.outbox[0], "/mot-de-passe/nouveau/")
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": STRONG + "x", "new_password2": STRONG + "x"})
    assert login(client, "camille.durand@example.fr", STRONG + "x").status_code == 302


PROFILE = {
    "first_name": "Camille",
    "last_name": "Durand",
    "birth_date": "14/07/1985",
    "birth_place": "Lyon",
    "address_line": "12 rue de la Paix",
    "postcode": "69002",
    "city": "Lyon",
    "phone": "06 12 34 56 78",
}


def test_profile_is_saved_and_prefills_the_holder(client):
    user = factories.citizen(email="camille@example.fr")
    client.force_login(user)
    assert client.get("/mon-espace/profil/").status_code == 200
    response = client.post("/mon-espace/profil/", PROFILE)
    assert response.status_code == 302 and response["Location"] == "/mon-espace/profil/"
    user.refresh_from_db()
    assert (user.birth_date.isoformat(), user.department, user.phone) == ("1985-07-14", "69", "0612345678")
    assert profile_holder_initial(user) == {
        "holder_kind": "person",
        "last_name": "Durand",
        "first_names": "Camille",
        "birth_date": user.birth_date,
        "email": "camille@example.fr",
        "address_line": "12 rue de la Paix",
        "postcode": "69002",
        "city": "Lyon",
        "department": "69",
    }
    page = client.get("/mon-espace/profil/").content.decode()
    assert 'value="14/07/1985"' in page and 'value="12 rue de la Paix"' in page


def test_profile_holder_initial_gives_only_what_is_known():
    user = factories.citizen(email="camille@example.fr", first_name="", last_name="Durand")
    assert profile_holder_initial(user) == {
        "holder_kind": "person",
        "last_name": "Durand",
        "email": "camille@example.fr",
    }


def test_profile_errors_are_shown_next_to_each_field_and_nothing_is_saved(client):
    user = factories.citizen(email="camille@example.fr")
    client.force_login(user)
    before = User.objects.filter(pk=user.pk).values().get()
    response = client.post(
        "/mon-espace/profil/",
        {
            **PROFILE,
            "postcode": "6900",
            "birth_date": "31/02/1985",
            "address_line": "",
            "phone": "12",
            "last_name": "",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"postcode", "birth_date", "address_line", "phone", "last_name"}
    # The holder's own messages (dossiers.cleaning.holder_clean).
    assert errors["postcode"] == ["Le code postal doit comporter exactement 5 chiffres."]
    assert errors["address_line"] == ["Ce champ est obligatoire."]
    page = response.content.decode()
    assert "Le formulaire contient 5 erreurs" in page
    assert 'id="id_postcode-error"' in page
    assert User.objects.filter(pk=user.pk).values().get() == before


def test_an_empty_postcode_or_city_is_said_to_be_required_not_malformed(client):
    user = factories.citizen(email="camille@example.fr")
    client.force_login(user)
    before = User.objects.filter(pk=user.pk).values().get()
    response = client.post("/mon-espace/profil/", {**PROFILE, "postcode": "  ", "city": ""})
    errors = response.context["form"].errors
    assert errors == {"postcode": ["Ce champ est obligatoire."], "city": ["Ce champ est obligatoire."]}
    assert "exactement 5 chiffres" not in response.content.decode()
    assert User.objects.filter(pk=user.pk).values().get() == before


def test_a_birth_date_in_the_future_is_refused(client):
    client.force_login(factories.citizen())
    response = client.post("/mon-espace/profil/", {**PROFILE, "birth_date": "01/01/2999"})
    assert response.context["form"].errors["birth_date"] == ["Cette date ne peut pas être dans le futur."]


def test_profile_shows_only_the_signed_in_citizen(client):
    other = factories.citizen(email="other@example.fr")
    accounts.profile_update(user=other, data={**PROFILE, "address_line": "7 impasse Secrète"}, phone="")
    me = factories.citizen(email="me@example.fr")
    client.force_login(me)
    page = client.get("/mon-espace/profil/").content.decode()
    assert "me@example.fr" in page
    assert "Secrète" not in page and "other@example.fr" not in page
    # A post writes only the signed-in user's profile.
    client.post("/mon-espace/profil/", PROFILE)
    other.refresh_from_db()
    assert other.address_line == "7 impasse Secrète"


def test_profile_requires_login(client):
    response = client.get("/mon-espace/profil/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


def test_franceconnect_is_off_by_default(client):
    assert client.get("/franceconnect/connexion/").status_code == 404
    assert client.get("/franceconnect/retour/?code=x&state=y").status_code == 404
    assert "FranceConnect" not in client.get("/connexion/").content.decode()
    assert "FranceConnect" not in client.get("/inscription/").content.decode()


def test_staff_see_whether_an_address_is_confirmed_in_the_admin(client, django_capture_on_commit_callbacks):
    signup(client, django_capture_on_commit_callbacks)
    citizen = User.objects.get()
    admin = factories.user(Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/portal/user/{citizen.pk}/change/").content.decode()
    assert "Adresse confirmée le" in page and "Profil usager" in page


@pytest.mark.django_db
def test_a_refused_login_says_so_in_the_page_title(client):
    factories.citizen(email="refus@example.fr")
    page = client.post("/connexion/", {"username": "refus@example.fr", "password": "pas-le-bon"})
    assert "<title>Erreur — Connexion" in page.content.decode()
