"""A dealer organisation's staff and tokens, as its admin, its staff and outsiders see them through
the dealer space, their mailbox and the API."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal import organisation, tokens
from portal.models import ApiToken, OrganisationInvitation, OrganisationToken, Role, User
from tests import factories

pytestmark = pytest.mark.django_db

STRONG = "Clio-rouge-1998!"
STAFF = "/mon-espace/organisation/"
TOKENS = "/mon-espace/organisation/jetons/"
DOSSIERS = "/api/v1/dossiers/"
ACCEPT = {"first_name": "Alex", "last_name": "Leroy", "password1": STRONG, "password2": STRONG}


def signed_in(client, user: User):
    client.force_login(user)
    return client


def invite(client, capture, email: str = "alex.leroy@example.fr"):
    with capture(execute=True):
        return client.post(STAFF, {"email": email})


def state() -> dict:
    """Everything these pages can change, to check that a refusal changed nothing."""
    return {
        "users": list(
            User.objects.order_by("pk").values(
                "pk", "role", "organisation_id", "is_active", "is_organisation_admin", "password"
            )
        ),
        "invitations": list(OrganisationInvitation.objects.order_by("pk").values()),
        "org_tokens": list(OrganisationToken.objects.order_by("pk").values()),
        "api_tokens": list(ApiToken.objects.order_by("pk").values()),
        "mails": len(mail.outbox),
    }


def form_errors(response) -> dict[str, str]:
    """The errors of the page's form, by field, as shown next to each field."""
    return {name: " ".join(errors) for name, errors in response.context["form"].errors.items()}


def api_status(secret: str) -> int:
    return factories.api_client(token=secret).get(DOSSIERS).status_code


# --- Invitations -----------------------------------------------------------------------------------


def test_invite_mail_accept_then_log_in_as_a_dealer_who_sees_the_organisations_dossiers(
    client, django_capture_on_commit_callbacks
):
    admin = factories.organisation_admin()
    dossier = factories.draft(filed_by=admin)
    response = invite(signed_in(client, admin), django_capture_on_commit_callbacks, "Alex.Leroy@Example.fr")
    assert response.status_code == 302 and response["Location"] == STAFF
    page = factories.text_of(client.get(STAFF))
    assert "Invitation envoyée à alex.leroy@example.fr" in page and "Invitations en attente" in page

    [message] = mail.outbox
    assert message.to == ["alex.leroy@example.fr"]
    assert admin.organisation.name in message.subject
    link = factories.mail_link(message, "/invitation/")

    client.logout()
    form = client.get(link)
    assert form.status_code == 200 and "alex.leroy@example.fr" in factories.text_of(form)
    response = client.post(link, ACCEPT)
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    member = User.objects.get(email="alex.leroy@example.fr")
    assert (member.role, member.organisation, member.is_organisation_admin) == (
        Role.DEALER,
        admin.organisation,
        False,
    )
    assert OrganisationInvitation.objects.get().accepted_at is not None

    response = client.post("/connexion/", {"username": "alex.leroy@example.fr", "password": STRONG})
    assert response.status_code == 302 and response["Location"] == "/mon-espace/"
    assert dossier.reference in client.get("/mon-espace/").content.decode()
    # The admin's list now shows the new member, and no pending invitation.
    signed_in(client, admin)
    page = factories.text_of(client.get(STAFF))
    assert "Alex Leroy" in page and "Aucune invitation en attente." in page


def test_an_address_with_an_account_is_never_invited_nor_converted(
    client, django_capture_on_commit_callbacks
):
    admin = factories.organisation_admin()
    citizen = factories.citizen(email="camille@example.fr")
    signed_in(client, admin)
    before = state()
    response = invite(client, django_capture_on_commit_callbacks, "camille@example.fr")
    assert response.status_code == 200
    assert "n'est jamais transformé" in form_errors(response)["email"]
    assert state() == before
    citizen.refresh_from_db()
    assert citizen.role == Role.CITIZEN and citizen.organisation is None


def test_an_invitation_whose_address_got_an_account_since_converts_nothing(
    client, django_capture_on_commit_callbacks
):
    admin = factories.organisation_admin()
    invite(signed_in(client, admin), django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/invitation/")
    citizen = factories.citizen(email="alex.leroy@example.fr")
    before = state()
    response = client.post(link, ACCEPT)
    assert response.status_code == 409 and "a déjà servi" in factories.text_of(response)
    assert state() == before
    citizen.refresh_from_db()
    assert citizen.role == Role.CITIZEN and citizen.organisation is None


def test_an_empty_invitation_form_says_so_next_to_the_field(client):
    admin = factories.organisation_admin()
    before = state()
    response = signed_in(client, admin).post(STAFF, {"email": "alex@"})
    assert response.status_code == 200
    assert form_errors(response)["email"].startswith("Adresse électronique invalide")
    assert 'id="error-summary"' in response.content.decode()
    assert state() == before


def test_a_reused_invitation_creates_nothing_more(client, django_capture_on_commit_callbacks):
    admin = factories.organisation_admin()
    invite(signed_in(client, admin), django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/invitation/")
    client.logout()
    client.post(link, ACCEPT)
    before = state()
    response = client.post(link, {**ACCEPT, "password1": "Autre-mot-2027!", "password2": "Autre-mot-2027!"})
    assert response.status_code == 409 and "a déjà servi" in factories.text_of(response)
    assert state() == before


def test_an_expired_invitation_creates_nothing(client, django_capture_on_commit_callbacks):
    admin = factories.organisation_admin()
    invite(signed_in(client, admin), django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/invitation/")
    OrganisationInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    before = state()
    for response in (client.get(link), client.post(link, ACCEPT)):
        assert response.status_code == 410 and "Cette invitation a expiré" in factories.text_of(response)
    assert state() == before


def test_a_forged_or_cancelled_invitation_creates_nothing(client, django_capture_on_commit_callbacks):
    admin = factories.organisation_admin()
    invite(signed_in(client, admin), django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/invitation/")
    invitation = OrganisationInvitation.objects.get()
    # The same content signed with another salt (as by someone without the key), and a truncated link.
    from django.core import signing  # noqa: PLC0415 - this test only

    forged = signing.dumps({"i": invitation.pk, "e": invitation.email}, salt="another")
    before = state()
    for path in (f"/invitation/{forged}/", link[:-4] + "/"):
        response = client.post(path, ACCEPT)
        assert response.status_code == 400 and "n'est pas valide" in factories.text_of(response)
    assert state() == before

    response = client.post(f"/mon-espace/organisation/invitations/{invitation.pk}/annuler/")
    assert response.status_code == 302
    client.logout()
    before = state()
    response = client.post(link, ACCEPT)
    assert response.status_code == 409
    assert state() == before


def test_accepting_shows_every_error_at_once_and_creates_nothing(client, django_capture_on_commit_callbacks):
    admin = factories.organisation_admin()
    invite(signed_in(client, admin), django_capture_on_commit_callbacks)
    link = factories.mail_link(mail.outbox[0], "/invitation/")
    client.logout()
    before = state()
    response = client.post(
        link, {"first_name": "", "last_name": "", "password1": "court", "password2": "autre"}
    )
    assert response.status_code == 200
    assert set(form_errors(response)) == {"first_name", "last_name", "password1", "password2"}
    assert state() == before


# --- Removing staff --------------------------------------------------------------------------------


def test_a_removed_member_loses_session_login_and_tokens(client, django_capture_on_commit_callbacks):
    admin = factories.organisation_admin()
    member = factories.dealer(admin.organisation)
    dossier = factories.draft(filed_by=admin)
    personal = factories.token_for(member)
    created_by_member = factories.organisation_token(member)
    created_by_admin = factories.organisation_token(admin)
    member_client = signed_in(client.__class__(), member)
    assert dossier.reference in member_client.get("/mon-espace/").content.decode()

    signed_in(client, admin)
    confirm = factories.text_of(client.get(f"/mon-espace/organisation/membres/{member.pk}/retirer/"))
    assert "DMS" in confirm and "seront aussi révoqués" in confirm
    response = client.post(f"/mon-espace/organisation/membres/{member.pk}/retirer/")
    assert response.status_code == 302 and response["Location"] == STAFF
    assert member.email not in client.get(STAFF).content.decode()

    # Their open session is over, their password no longer logs in, their tokens are refused.
    response = member_client.get("/mon-espace/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")
    response = client.__class__().post(
        "/connexion/", {"username": member.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 200 and "_auth_user_id" not in response.wsgi_request.session
    assert api_status(personal) == 401
    assert api_status(created_by_member) == 401
    assert OrganisationToken.objects.get(created_by=member).revoked_at is not None
    # The organisation's other tokens keep working.
    assert api_status(created_by_admin) == 200


def test_an_admin_cannot_remove_themselves_nor_the_last_admin(client):
    admin = factories.organisation_admin()
    signed_in(client, admin)
    before = state()
    response = client.post(f"/mon-espace/organisation/membres/{admin.pk}/retirer/")
    assert response.status_code == 409 and "vous retirer vous-même" in factories.text_of(response)
    assert state() == before

    # Two admins removing each other: the second removal would leave none (the service locks them).
    other = factories.organisation_admin(admin.organisation)
    organisation.staff_remove(organisation=admin.organisation, actor=admin, user_id=other.pk)
    before = state()
    with pytest.raises(organisation.RemovalRefused):
        organisation.staff_remove(organisation=admin.organisation, actor=other, user_id=admin.pk)
    assert state() == before


def test_the_last_admin_is_kept_even_by_another_admin(client):
    admin = factories.organisation_admin()
    second = factories.organisation_admin(admin.organisation)
    User.objects.filter(pk=second.pk).update(is_organisation_admin=False)  # demoted in the admin since
    before = state()
    with pytest.raises(organisation.RemovalRefused):
        organisation.staff_remove(organisation=admin.organisation, actor=second, user_id=admin.pk)
    assert state() == before


# --- Tokens ---------------------------------------------------------------------------------------


def test_a_token_is_shown_once_then_only_its_prefix(client):
    admin = factories.organisation_admin()
    signed_in(client, admin)
    response = client.post(TOKENS, {"name": "Logiciel DMS atelier"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    token = OrganisationToken.objects.get()
    page = factories.text_of(response)
    secret = page.split('id="token-secret" type="text" readonly value="')[1].split('"')[0]
    assert secret.startswith("cgo_") and token.digest == tokens.token_digest(secret=secret)
    assert "il ne sera plus jamais affiché" in page
    assert (token.name, token.created_by, token.organisation) == (
        "Logiciel DMS atelier",
        admin,
        admin.organisation,
    )

    listing = factories.text_of(client.get(TOKENS))
    assert secret not in listing and token.prefix in listing and "jamais" in listing

    # Used once: the list shows when.
    assert api_status(secret) == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.localtime(token.last_used_at).strftime("%d/%m/%Y %H:%M") in factories.text_of(
        client.get(TOKENS)
    )


def test_a_token_without_a_name_is_refused_next_to_the_field(client):
    admin = factories.organisation_admin()
    before = state()
    response = signed_in(client, admin).post(TOKENS, {"name": "  "})
    assert response.status_code == 200 and "Donnez un nom" in form_errors(response)["name"]
    assert state() == before


def test_a_revoked_token_is_refused_by_the_api_at_once(client):
    admin = factories.organisation_admin()
    secret = factories.organisation_token(admin)
    assert api_status(secret) == 200
    token = OrganisationToken.objects.get()
    signed_in(client, admin)
    confirm = client.get(f"/mon-espace/organisation/jetons/{token.pk}/revoquer/")
    assert confirm.status_code == 200 and token.prefix in factories.text_of(confirm)
    assert OrganisationToken.objects.get().revoked_at is None  # the GET only asks

    response = client.post(f"/mon-espace/organisation/jetons/{token.pk}/revoquer/")
    assert response.status_code == 302 and response["Location"] == TOKENS
    response = factories.api_client(token=secret).get(DOSSIERS)
    assert response.status_code == 401 and "révoqué" in response.content.decode()
    assert "Révoqué le" in factories.text_of(client.get(TOKENS))


# --- Who may do what ----------------------------------------------------------------------------------


def test_staff_who_are_not_admins_see_the_lists_and_change_nothing(
    client, django_capture_on_commit_callbacks
):
    admin = factories.organisation_admin()
    member = factories.dealer(admin.organisation)
    other_member = factories.dealer(admin.organisation)
    factories.organisation_token(admin)
    token = OrganisationToken.objects.get()
    invitation = organisation.invitation_create(
        organisation=admin.organisation, invited_by=admin, email="pending@example.fr"
    )
    signed_in(client, member)
    staff_page = factories.text_of(client.get(STAFF))
    assert (
        admin.email in staff_page
        and "lecture seule" in staff_page
        and "Envoyer l'invitation" not in staff_page
    )
    tokens_page = factories.text_of(client.get(TOKENS))
    assert (
        token.prefix in tokens_page and "lecture seule" in tokens_page and "Créer le jeton" not in tokens_page
    )

    before = state()
    for method, path, data in [
        ("post", STAFF, {"email": "x@example.fr"}),
        ("post", TOKENS, {"name": "Mien"}),
        ("get", f"/mon-espace/organisation/membres/{other_member.pk}/retirer/", {}),
        ("post", f"/mon-espace/organisation/membres/{other_member.pk}/retirer/", {}),
        ("post", f"/mon-espace/organisation/invitations/{invitation.pk}/annuler/", {}),
        ("get", f"/mon-espace/organisation/jetons/{token.pk}/revoquer/", {}),
        ("post", f"/mon-espace/organisation/jetons/{token.pk}/revoquer/", {}),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(path, data)
        assert response.status_code == 403, path
    assert state() == before


def test_another_organisations_ids_are_404(client):
    admin = factories.organisation_admin()
    stranger_admin = factories.organisation_admin()
    stranger = factories.dealer(stranger_admin.organisation)
    factories.organisation_token(stranger_admin)
    token = OrganisationToken.objects.get()
    invitation = organisation.invitation_create(
        organisation=stranger_admin.organisation, invited_by=stranger_admin, email="theirs@example.fr"
    )
    signed_in(client, admin)
    assert stranger.email not in client.get(STAFF).content.decode()
    assert token.prefix not in client.get(TOKENS).content.decode()
    before = state()
    for method, path in [
        ("get", f"/mon-espace/organisation/membres/{stranger.pk}/retirer/"),
        ("post", f"/mon-espace/organisation/membres/{stranger.pk}/retirer/"),
        ("post", f"/mon-espace/organisation/invitations/{invitation.pk}/annuler/"),
        ("get", f"/mon-espace/organisation/jetons/{token.pk}/revoquer/"),
        ("post", f"/mon-espace/organisation/jetons/{token.pk}/revoquer/"),
    ]:
        assert getattr(client, method)(path).status_code == 404, (method, path)
    assert state() == before


@pytest.mark.parametrize("make", [factories.citizen, factories.agent, factories.supervisor])
def test_other_roles_get_404_on_the_organisation_pages(client, make):
    admin = factories.organisation_admin()
    factories.organisation_token(admin)
    token = OrganisationToken.objects.get()
    signed_in(client, make())
    before = state()
    for method, path in [
        ("get", STAFF),
        ("post", STAFF),
        ("get", TOKENS),
        ("post", TOKENS),
        ("post", f"/mon-espace/organisation/membres/{admin.pk}/retirer/"),
        ("post", f"/mon-espace/organisation/jetons/{token.pk}/revoquer/"),
    ]:
        assert getattr(client, method)(path).status_code == 404, (method, path)
    assert state() == before


def test_anonymous_visitors_are_sent_to_the_login(client):
    for path in (STAFF, TOKENS):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/connexion/")


def test_the_dealer_space_links_to_the_organisation_pages(client):
    page = signed_in(client, factories.dealer()).get("/mon-espace/").content.decode()
    assert f'href="{STAFF}"' in page and f'href="{TOKENS}"' in page


def test_staff_see_invitations_and_the_admin_flag_in_the_administration(client):
    admin = factories.organisation_admin()
    organisation.invitation_create(
        organisation=admin.organisation, invited_by=admin, email="pending@example.fr"
    )
    superuser = User.objects.create_superuser("root@example.fr", factories.PASSWORD)
    signed_in(client, superuser)
    assert "pending@example.fr" in client.get("/admin/portal/organisationinvitation/").content.decode()
    page = client.get(f"/admin/portal/user/{admin.pk}/change/").content.decode()
    assert 'name="is_organisation_admin"' in page and "checked" in page


def test_only_a_dealer_can_be_an_organisation_admin():
    from django.db import IntegrityError, transaction  # noqa: PLC0415 - this test only

    citizen = factories.citizen()
    citizen.is_organisation_admin = True
    with pytest.raises(IntegrityError), transaction.atomic():
        citizen.save(update_fields=["is_organisation_admin"])


def test_an_expired_organisation_token_says_where_to_get_a_new_one(client):
    admin = factories.organisation_admin()
    secret = factories.organisation_token(admin)
    OrganisationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = factories.api_client(token=secret).get(DOSSIERS)
    assert response.status_code == 401 and TOKENS in response.content.decode()
    listing = factories.text_of(signed_in(client, admin).get(TOKENS))
    assert "Expiré" in listing


@pytest.mark.django_db(transaction=True)
def test_migrating_makes_each_organisations_first_dealer_its_admin():
    from django.db import connection  # noqa: PLC0415 - this test only
    from django.db.migrations.executor import MigrationExecutor  # noqa: PLC0415 - this test only

    first = factories.dealer()
    second = factories.dealer(first.organisation)
    other = factories.dealer()
    executor = MigrationExecutor(connection)
    executor.migrate([("portal", "0004_citizen_profile")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    admins = set(User.objects.filter(is_organisation_admin=True).values_list("pk", flat=True))
    assert admins == {first.pk, other.pk} and second.pk not in admins
