"""The site shell as people use it: home page, login by email, each role's space, logout, health check."""

import re

import pytest
from django.urls import reverse

from dossiers.models import Cert, DossierEvent, State
from dossiers.services import dossier_submit
from dossiers.transitions import dossier_transition
from portal.models import Role, User
from tests import factories
from tests.factories import text_of

pytestmark = pytest.mark.django_db


def login(client, email: str, password: str = factories.PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password}, follow=True)


def test_home_page_is_in_french_and_links_to_login_and_every_space(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr"' in html
    assert "Portail carte grise" in html
    assert "République" in html  # the State's block of the DSFR header
    assert f'href="{reverse("login")}"' in html
    assert html.count(f'href="{reverse("space")}"') == 2  # the citizen's and the dealer's cards
    assert f'href="{reverse("agent-queue")}"' in html and f'href="{reverse("supervision")}"' in html
    for anchor in ("espace-usager", "espace-professionnel", "espace-cert", "espace-supervision"):
        assert f'id="{anchor}"' in html and f'#{anchor}"' in html
    assert "/statistiques/" in html


def test_page_scripts_carry_the_nonce_of_the_content_security_policy(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert scripts, "the DSFR scripts are on the page"
    assert all(f'nonce="{nonce}"' in tag for tag in scripts)


@pytest.mark.parametrize(
    ("role", "landing", "heading"),
    [
        (Role.CITIZEN, "space", "Mon espace usager"),
        (Role.DEALER, "space", "Espace professionnel habilité"),
        (Role.AGENT, "agent-queue", "File d'instruction — CERT de Besançon"),
        (Role.SUPERVISOR, "supervision", "Supervision nationale"),
        (Role.ADMIN, "supervision", "Supervision nationale"),
    ],
)
def test_login_with_email_opens_the_page_of_the_role(client, role, landing, heading):
    extra = {}
    if role == Role.DEALER:
        extra["organisation"] = factories.OrganisationFactory(name="Garage du Pont")
    if role == Role.AGENT:
        extra["cert"] = Cert.objects.get(code="BES")
    factories.UserFactory(email="compte@example.fr", role=role, **extra)

    response = login(client, "Compte@Example.fr")  # the email's case does not matter

    assert [url for url, _status in response.redirect_chain] == [reverse(landing)]  # one hop
    assert f"<h1>{heading}</h1>" in text_of(response)


def test_login_still_follows_next_for_staff(client):
    factories.supervisor(email="superviseur@example.fr")
    target = reverse("stats")
    response = client.post(
        f"{reverse('login')}?next={target}",
        {"username": "superviseur@example.fr", "password": factories.PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == target


def test_wrong_password_keeps_the_login_page_with_an_error(client):
    factories.citizen(email="camille@example.fr")
    response = login(client, "camille@example.fr", "pas-le-bon")
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect" in text_of(response)
    assert client.get(reverse("space")).status_code == 302


def test_space_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("space"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"{reverse('login')}?next={reverse('space')}"


def test_logout_is_a_post_that_ends_the_session(client):
    factories.citizen(email="camille@example.fr")
    page = login(client, "camille@example.fr").content.decode()
    assert f'<form method="post" action="{reverse("logout")}"' in page
    assert client.get(reverse("logout")).status_code == 405  # a link cannot log anyone out
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.headers["Location"] == reverse("home")
    assert client.get(reverse("space")).status_code == 302


def test_citizen_space_lists_their_own_dossiers_only(client):
    camille = factories.citizen(email="camille@example.fr")
    other = factories.citizen(email="dominique@example.fr")
    mine = factories.draft(filed_by=camille, vehicle=factories.vehicle_data(commercial_name="CLIO"))
    theirs = factories.draft(filed_by=other, vehicle=factories.vehicle_data(commercial_name="KANGOO"))

    html = login(client, "camille@example.fr").content.decode()

    assert mine.reference in html and "CLIO" in html and "Brouillon" in html
    assert theirs.reference not in html and "KANGOO" not in html


def test_dealer_space_lists_the_dossiers_of_the_organisation(client):
    garage = factories.OrganisationFactory(name="Garage du Pont")
    colleague = factories.dealer(organisation=garage)
    factories.dealer(organisation=garage, email="vendeur@example.fr")
    outsider = factories.dealer()
    ours = factories.draft(filed_by=colleague)
    not_ours = factories.draft(filed_by=outsider)

    html = login(client, "vendeur@example.fr").content.decode()

    assert "Garage du Pont" in html
    assert ours.reference in html and not_ours.reference not in html


def queue(dossier, *, cert: Cert):
    dossier_submit(dossier=dossier, actor=dossier.filed_by)
    return dossier_transition(dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert})


def test_agent_opening_mon_espace_lands_on_the_queue_of_their_centre(client):
    besancon, paris = Cert.objects.get(code="BES"), Cert.objects.get(code="PAR")
    owner = factories.citizen()
    first = queue(factories.draft(filed_by=owner), cert=besancon)
    second = queue(factories.draft(filed_by=owner), cert=besancon)
    elsewhere = queue(factories.draft(filed_by=owner), cert=paris)
    agent = factories.agent(cert=besancon, email="agent@example.fr")
    client.force_login(agent)

    response = client.get(reverse("space"), follow=True)

    assert response.redirect_chain == [(reverse("agent-queue"), 302)]
    html = text_of(response)
    assert "2 dossiers en attente" in html
    assert first.reference in html and second.reference in html
    assert elsewhere.reference not in html


def test_supervisor_opening_mon_espace_lands_on_the_supervision_of_every_centre(client):
    besancon = Cert.objects.get(code="BES")
    queue(factories.draft(filed_by=factories.citizen()), cert=besancon)
    client.force_login(factories.supervisor(email="superviseur@example.fr"))

    response = client.get(reverse("space"), follow=True)

    assert response.redirect_chain == [(reverse("supervision"), 302)]
    html = text_of(response)
    rows = dict(re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>(.*?)</tr>', html, re.S))
    assert set(rows) == {cert.name for cert in Cert.objects.all()}
    queued = {name: re.findall(r'<td class="cg-number">(\d+)</td>', cells)[0] for name, cells in rows.items()}
    assert queued["CERT de Besançon"] == "1" and queued["CERT de Paris"] == "0"


def test_the_main_menu_says_mon_espace_without_the_role(client):
    for user in (factories.citizen(email="camille@example.fr"), factories.dealer()):
        client.force_login(user)
        header = client.get(reverse("home")).content.decode().split("<main")[0]
        link = re.search(
            rf'<a class="fr-nav__link" href="{reverse("space")}"[^>]*>\s*(.*?)\s*</a>', header, re.S
        )
        assert link.group(1) == "Mon espace"
        assert "Usager" not in header and "Professionnel" not in header


def test_header_sends_each_role_to_its_own_page(client):
    client.force_login(factories.citizen(email="camille@example.fr"))
    header = client.get(reverse("home")).content.decode().split("<main")[0]
    assert f'href="{reverse("space")}"' in header and f'href="{reverse("agent-queue")}"' not in header

    client.force_login(factories.agent(cert=Cert.objects.get(code="BES")))
    header = client.get(reverse("home")).content.decode().split("<main")[0]
    assert f'href="{reverse("space")}"' not in header  # no "Mon espace" list for an agent
    assert f'href="{reverse("agent-queue")}"' in header

    client.force_login(factories.supervisor())
    header = client.get(reverse("home")).content.decode().split("<main")[0]
    assert f'href="{reverse("space")}"' not in header
    assert f'href="{reverse("supervision")}"' in header


def test_tables_are_captioned_and_keyboard_scrollable(client):
    camille = factories.citizen(email="camille@example.fr")
    factories.draft(filed_by=camille)
    client.force_login(camille)

    html = text_of(client.get(reverse("space")))

    caption = "Mes dossiers, du plus récent au plus ancien"
    assert f'<div class="fr-table__container" tabindex="0" role="region" aria-label="{caption}">' in html
    assert f"<table><caption>{caption}</caption>" in html
    assert '<th scope="col">Référence</th>' in html


def test_healthz_is_ok_when_the_database_answers(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "not configured"}}


def test_healthz_checks_the_broker_when_one_is_configured(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_healthz_is_503_when_the_broker_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] not in ("ok", "not configured")


def test_repeated_failed_logins_lock_the_account_with_a_french_page(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_LOCKOUT_TEMPLATE = "portal/lockout.html"
    factories.citizen(email="camille@example.fr")
    for _attempt in range(3):
        login(client, "camille@example.fr", "pas-le-bon")

    response = login(client, "camille@example.fr")  # even the right password is refused now

    assert response.status_code == 429
    assert "Connexion temporairement bloquée" in text_of(response)
    assert client.get(reverse("space")).status_code == 302


@pytest.fixture
def staff_client(client):
    factories.UserFactory(email="admin@example.fr", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(email="admin@example.fr"))
    return client


def test_admin_lists_every_model_of_the_portal(staff_client):
    dossier = factories.draft(filed_by=factories.citizen())
    models = (
        "portal/user",
        "portal/organisation",
        "portal/organisationtoken",
        "portal/apitoken",
        "dossiers/cert",
        "dossiers/vehicle",
        "dossiers/holder",
        "dossiers/dossier",
        "dossiers/document",
        "dossiers/dossierevent",
    )
    for model in models:
        assert staff_client.get(f"/admin/{model}/").status_code == 200, model
    assert staff_client.get(f"/admin/dossiers/dossier/{dossier.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/portal/user/{dossier.applicant_id}/change/").status_code == 200


def test_admin_cannot_change_a_dossier_state(staff_client):
    dossier = factories.draft(filed_by=factories.citizen())
    page = staff_client.get(f"/admin/dossiers/dossier/{dossier.pk}/change/").content.decode()
    assert 'name="state"' not in page and "Brouillon" in page
    assert staff_client.get("/admin/dossiers/dossier/add/").status_code == 403


def test_admin_can_neither_add_change_nor_delete_audit_events(staff_client):
    dossier = factories.draft(filed_by=factories.citizen(), paid=False)
    event = DossierEvent.objects.get(dossier=dossier)
    assert staff_client.get("/admin/dossiers/dossierevent/add/").status_code == 403
    assert staff_client.get(f"/admin/dossiers/dossierevent/{event.pk}/delete/").status_code == 403
    view = staff_client.get(f"/admin/dossiers/dossierevent/{event.pk}/change/").content.decode()
    assert 'name="reason"' not in view and 'name="_save"' not in view


def test_admin_creates_an_account_that_logs_in_by_email(staff_client, client):
    response = staff_client.post(
        "/admin/portal/user/add/",
        {
            "email": "Nouvel.Agent@Example.fr",
            "role": Role.AGENT,
            "cert": Cert.objects.get(code="PAR").pk,
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-2026",
            "password2": "un-mot-de-passe-solide-2026",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    staff_client.logout()
    page = text_of(login(client, "nouvel.agent@example.fr", "un-mot-de-passe-solide-2026"))
    assert "<h1>File d'instruction — CERT de Paris</h1>" in page


def test_admin_refuses_an_agent_without_a_centre(staff_client):
    response = staff_client.post(
        "/admin/portal/user/add/",
        {
            "email": "agent.seul@example.fr",
            "role": Role.AGENT,
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-2026",
            "password2": "un-mot-de-passe-solide-2026",
        },
    )
    assert response.status_code == 200  # the form again, with the error on the field
    assert "Un instructeur est rattaché à un CERT" in text_of(response)
    assert not User.objects.filter(email="agent.seul@example.fr").exists()
