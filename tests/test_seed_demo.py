"""`manage.py seed_demo`: safe to run twice, refused on a production-like server, every login works."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from dossiers.models import Cert, Dossier, DossierEvent, Holder, RegisteredTitle, State, Vehicle
from dossiers.validators import vin_check_digit_ok
from portal.models import ApiToken, Organisation, OrganisationToken, Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-demo-test"
CERT_CODES = ("BES", "PAR", "AMI", "CLE", "POI", "NIM", "GUA", "REU", "MAY")
DEMO_LOGINS = {
    "citoyen@example.fr": Role.CITIZEN,
    "garage@example.fr": Role.DEALER,
    "superviseur@example.fr": Role.SUPERVISOR,
    "admin@example.fr": Role.ADMIN,
    **{f"agent.{code.lower()}@example.fr": Role.AGENT for code in CERT_CODES},
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--password", PASSWORD, *args, stdout=out)
    return out.getvalue()


SECRET = re.compile(r"\bcg[po]_[A-Za-z0-9_-]{43}\b")


def row_counts() -> dict[str, int]:
    models = (User, Organisation, ApiToken, OrganisationToken, Cert, Vehicle, Holder, Dossier, DossierEvent)
    return {model.__name__: model.objects.count() for model in models}


def printed_tokens(output: str) -> dict[str, str]:
    """The API token printed on each account's line, and the organisation's under its name."""
    found = {}
    for line in output.splitlines():
        secret = SECRET.search(line)
        if secret:
            found[line.split()[0] if "@" in line else "organisation"] = secret.group()
    return found


def own_token_prefixes(secret: str) -> list[str]:
    """The prefixes of the tokens listed to whoever holds `secret`: their own tokens only."""
    response = APIClient().get("/api/v1/auth/tokens/", HTTP_AUTHORIZATION=f"Token {secret}")
    assert response.status_code == 200, response.content
    return [row["prefix"] for row in response.json()["results"]]


def test_seed_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not User.objects.filter(email="citoyen@example.fr").exists()


def test_second_run_creates_nothing_and_prints_the_same_logins_with_new_tokens(settings):
    settings.DEBUG = True
    first = seed()
    counts = row_counts()
    second = seed()

    assert row_counts() == counts  # the demo tokens were replaced, not added
    # Only the created/existing line and the one-time secrets differ.
    assert SECRET.sub("<jeton>", first).splitlines()[1:] == SECRET.sub("<jeton>", second).splitlines()[1:]
    old, new = printed_tokens(first), printed_tokens(second)
    assert old.keys() == new.keys() == {*DEMO_LOGINS, "organisation"}
    assert not set(old.values()) & set(new.values())
    auth = "/api/v1/dossiers/"
    for secret in old.values():
        assert APIClient().get(auth, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401
    for secret in new.values():
        assert APIClient().get(auth, HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200
    total = Dossier.objects.count()
    assert total >= 30
    assert f"{total} créés" in first and f"0 créés, {total} déjà présents" in second


def test_every_demo_login_authenticates_and_gets_an_api_token(settings):
    settings.DEBUG = True
    output = seed()
    client = APIClient()
    for number, (email, role) in enumerate(DEMO_LOGINS.items(), start=1):
        assert email in output
        # Each person from their own machine: the token endpoint's throttle counts per address.
        response = client.post(
            "/api/v1/auth/token/",
            {"email": email, "password": PASSWORD},
            format="json",
            REMOTE_ADDR=f"198.51.100.{number}",
        )
        assert response.status_code == 200, (email, response.content)
        assert response.json()["role"] == role
        # The printed token is the account's own: it lists itself among the account's tokens.
        printed = printed_tokens(output)[email]
        assert printed[:12] in own_token_prefixes(printed)
        assert printed[:12] in own_token_prefixes(response.json()["token"])
    dealer_system = APIClient()
    dealer_system.credentials(HTTP_AUTHORIZATION=f"Token {printed_tokens(output)['organisation']}")
    listed = dealer_system.get("/api/v1/dossiers/?page_size=200")
    assert listed.status_code == 200
    assert (
        len(listed.json()["results"])
        == Dossier.objects.filter(organisation__name="Garage de la Gare").count()
    )
    assert User.objects.get(email="agent.bes@example.fr").cert.code == "BES"
    assert User.objects.get(email="admin@example.fr").is_superuser


def test_demo_organisation_is_a_habilitated_dealer_with_valid_numbers(settings):
    from stdnum.fr import siren, siret

    settings.DEBUG = True
    seed()
    garage = Organisation.objects.get(name="Garage de la Gare")
    assert siren.is_valid(garage.siren) and siret.is_valid(garage.siret)
    assert garage.tax_agrement and garage.habilitation_number
    # The demo dealer administers the garage (staff and token pages of the dealer space).
    assert list(garage.members.filter(is_organisation_admin=True).values_list("email", flat=True)) == [
        "garage@example.fr"
    ]


def test_demo_dossiers_cover_every_open_state_for_the_citizen_and_the_dealer(settings):
    settings.DEBUG = True
    seed()
    citizen_states = set(
        Dossier.objects.filter(applicant__email="citoyen@example.fr").values_list("state", flat=True)
    )
    dealer_states = set(
        Dossier.objects.filter(organisation__name="Garage de la Gare").values_list("state", flat=True)
    )
    assert {
        State.DRAFT,
        State.SUBMITTED,
        State.QUEUED,
        State.IN_REVIEW,
        State.AWAITING_COMPLEMENT,
    } <= citizen_states
    assert {State.DRAFT, State.SUBMITTED, State.QUEUED, State.IN_REVIEW, State.APPROVED} <= dealer_states
    # Queued work sits in the holder's home centre, claimed work with an agent of that centre.
    for dossier in Dossier.objects.filter(state__in=[State.QUEUED, State.IN_REVIEW]).select_related("holder"):
        assert dossier.holder.department in dossier.cert.departments
    for dossier in Dossier.objects.filter(state=State.IN_REVIEW):
        assert dossier.claimed_by.cert_id == dossier.cert_id
    assert all(vin_check_digit_ok(vin) for vin in Vehicle.objects.values_list("vin", flat=True))


def test_demo_work_went_through_the_workflow_for_every_procedure(settings):
    from cert_workflow.models import ComplementRequest, RoutingDecision, StatsSnapshot
    from dossiers.models import Procedure

    settings.DEBUG = True
    seed()
    filed = Dossier.objects.exclude(state__in=[State.DRAFT])
    assert set(filed.values_list("procedure", flat=True)) == set(Procedure.values)
    # Every dossier a centre holds was routed there, with the reason recorded.
    for dossier in Dossier.objects.filter(cert__isnull=False):
        assert RoutingDecision.objects.filter(dossier=dossier, to_cert=dossier.cert).exists(), (
            dossier.reference
        )
    for dossier in Dossier.objects.filter(state=State.AWAITING_COMPLEMENT):
        request = ComplementRequest.objects.get(dossier=dossier, answered_at__isnull=True)
        assert [item.get_code_display() for item in request.items.all()] == ["Justificatif de domicile"]
    snapshot = StatsSnapshot.objects.latest()
    assert {c["code"] for c in snapshot.payload["centres"]} == set(
        Cert.objects.values_list("code", flat=True)
    )


def test_printed_plates_and_formule_numbers_prove_the_demo_citizens_titles(settings):
    settings.DEBUG = True
    output = seed()
    titles = RegisteredTitle.objects.filter(
        current=True, dossier__isnull=True, vehicle__dossiers__isnull=True
    )
    camille = [t for t in titles.select_related("vehicle", "holder") if t.holder.last_name == "Martin"]
    assert len(camille) == 2
    client = APIClient()
    client.force_authenticate(User.objects.get(email="citoyen@example.fr"))
    for title in camille:
        assert f"{title.vehicle.plate}" in output and title.formule_number in output
        response = client.post(
            "/api/v1/dossiers/",
            {
                "procedure": "change_of_address",
                "title": {"plate": title.vehicle.plate, "formule_number": title.formule_number},
                "holder": {
                    "last_name": "Martin",
                    "first_names": "Camille Louise",
                    "birth_date": "1985-04-12",
                    "address_line": "8 quai Saint-Vincent",
                    "postcode": "69001",
                    "city": "Lyon",
                },
            },
            format="json",
        )
        assert response.status_code == 201, response.content
