"""The agent queue: claiming under a lease (SKIP LOCKED), release, keyset paging, scoping, search."""

import html
import re
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from cert_workflow.models import Assessment, Risk
from cert_workflow.review import claim, decisions, search, selectors
from dossiers import claim as dossiers_claim
from dossiers import transitions
from dossiers.models import Dossier, DossierEvent, Holder, State, Vehicle
from tests import factories
from tests.factories import queued_dossiers

pytestmark = pytest.mark.django_db


def _done(dossier: Dossier, agent) -> None:
    decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve")


# --- claiming ---------------------------------------------------------------------------------


def test_claim_takes_the_highest_priority_then_the_oldest_dossier_of_the_agent_centre_only():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner, agent = factories.citizen(), factories.agent(cert=cert)
    start = timezone.now() - timedelta(days=3)
    queued_dossiers(cert=other, owner=owner, since=start - timedelta(days=1))  # older, other centre
    oldest, older = queued_dossiers(cert=cert, owner=owner, count=2, since=start)
    urgent = queued_dossiers(cert=cert, owner=owner, priority=10, since=start + timedelta(days=1))[0]

    taken = []
    while (dossier := claim.queue_claim_next(agent=agent)) is not None:
        taken.append(dossier.reference)
        _done(dossier, agent)

    assert taken == [urgent.reference, oldest.reference, older.reference]


def test_claim_gives_a_thirty_minute_lease_and_records_who_claimed():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen())
    before = timezone.now()

    dossier = claim.queue_claim_next(agent=agent)

    assert dossier.state == State.IN_REVIEW and dossier.claimed_by == agent
    assert before + timedelta(minutes=29) < dossier.due_at <= timezone.now() + timedelta(minutes=30)
    event = dossier.events.get(to_state=State.IN_REVIEW)
    assert (event.actor, event.from_state, event.data["changes"]) == (
        agent,
        State.QUEUED,
        {"claimed_by": agent.pk},
    )


def test_empty_queue_gives_nothing_even_when_another_centre_has_work():
    cert, other = factories.CertFactory(), factories.CertFactory()
    queued_dossiers(cert=other, owner=factories.citizen())
    assert claim.queue_claim_next(agent=factories.agent(cert=cert)) is None


def test_agent_holding_a_dossier_gets_it_back_with_a_renewed_lease_instead_of_a_second_one():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen(), count=2)
    first = claim.queue_claim_next(agent=agent)
    Dossier.objects.filter(pk=first.pk).update(due_at=timezone.now() + timedelta(minutes=2))

    again = claim.queue_claim_next(agent=agent)

    assert again.pk == first.pk
    assert again.due_at > timezone.now() + timedelta(minutes=29)
    assert Dossier.objects.filter(claimed_by=agent).count() == 1


def test_only_agents_of_a_centre_claim():
    queued_dossiers(cert=factories.CertFactory(), owner=factories.citizen())
    before = factories.snapshot()
    with pytest.raises(PermissionDenied):
        claim.queue_claim_next(agent=factories.supervisor())
    with pytest.raises(PermissionDenied):
        claim.queue_claim_next(agent=factories.citizen())
    assert factories.snapshot() == before


def test_lease_is_renewed_for_its_holder_only():
    cert = factories.CertFactory()
    agent, colleague = factories.agent(cert=cert), factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen())
    dossier = claim.queue_claim_next(agent=agent)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() + timedelta(minutes=1))
    before = factories.snapshot(dossier)

    with pytest.raises(claim.LeaseNotHeld) as excinfo:
        claim.lease_renew(dossier=dossier, agent=colleague)
    assert excinfo.value.rule == "lease_not_held"
    assert factories.snapshot(dossier) == before

    renewed = claim.lease_renew(dossier=dossier, agent=agent)
    dossier.refresh_from_db()
    assert dossier.due_at == renewed.due_at > timezone.now() + timedelta(minutes=29)


def test_expired_lease_cannot_be_renewed_nor_decided():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen())
    dossier = claim.queue_claim_next(agent=agent)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    before = factories.snapshot(dossier)

    for action in (
        lambda: claim.lease_renew(dossier=dossier, agent=agent),
        lambda: decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve"),
    ):
        with pytest.raises(claim.LeaseNotHeld) as excinfo:
            action()
        assert excinfo.value.rule == "lease_expired"
        assert "expiré" in excinfo.value.message
    dossier.refresh_from_db()
    assert dossier.state == State.IN_REVIEW
    assert factories.snapshot(dossier) == before


def test_holder_of_an_expired_lease_resumes_it_on_the_next_claim_until_the_sweep_takes_it_back():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen(), count=2)
    dossier = claim.queue_claim_next(agent=agent)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    resumed = claim.queue_claim_next(agent=agent)

    assert resumed.pk == dossier.pk and resumed.due_at > timezone.now() + timedelta(minutes=29)
    assert decisions.dossier_decide(dossier=resumed, agent=agent, decision="approve").state == State.APPROVED


def test_expired_lease_comes_back_to_the_queue_after_the_sweep_and_another_agent_takes_it():
    sweeps = pytest.importorskip("cert_workflow.sweeps")
    cert = factories.CertFactory()
    agent, colleague = factories.agent(cert=cert), factories.agent(cert=cert)
    older, newer = queued_dossiers(cert=cert, owner=factories.citizen(), count=2)
    claimed = claim.queue_claim_next(agent=agent)
    assert claimed.pk == older.pk
    Dossier.objects.filter(pk=claimed.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    sweeps.sweep_run()

    claimed.refresh_from_db()
    assert claimed.state == State.QUEUED and claimed.claimed_by is None
    assert claimed.queued_at == older.queued_at  # it kept its place, ahead of the newer one
    assert claim.queue_claim_next(agent=colleague).pk == older.pk


def test_release_puts_the_dossier_back_at_its_place_for_the_next_agent():
    cert = factories.CertFactory()
    agent, colleague = factories.agent(cert=cert), factories.agent(cert=cert)
    older, _newer = queued_dossiers(cert=cert, owner=factories.citizen(), count=2)
    dossier = claim.queue_claim_next(agent=agent)

    released = claim.dossier_release(dossier=dossier, agent=agent)

    assert released.state == State.QUEUED and released.claimed_by is None
    assert released.queued_at == older.queued_at
    assert released.events.filter(from_state=State.IN_REVIEW, to_state=State.QUEUED, actor=agent).exists()
    assert claim.queue_claim_next(agent=colleague).pk == older.pk


def test_colleague_cannot_release_a_dossier_they_do_not_hold_but_a_supervisor_can():
    cert = factories.CertFactory()
    agent, colleague = factories.agent(cert=cert), factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen())
    dossier = claim.queue_claim_next(agent=agent)
    before = factories.snapshot(dossier)
    with pytest.raises(claim.LeaseNotHeld):
        claim.dossier_release(dossier=dossier, agent=colleague)
    assert factories.snapshot(dossier) == before
    assert claim.dossier_release(dossier=dossier, agent=factories.supervisor()).state == State.QUEUED


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_in_parallel_never_get_the_same_dossier(postgres):
    cert = factories.CertFactory()
    agents = [factories.agent(cert=cert), factories.agent(cert=cert)]
    dossiers = queued_dossiers(cert=cert, owner=factories.citizen(), count=1000, step=timedelta(0))
    claims: dict[int, list[int]] = {agent.pk: [] for agent in agents}
    errors: list[BaseException] = []
    start = threading.Barrier(len(agents))

    def work(agent):
        try:
            start.wait()
            while (dossier := claim.queue_claim_next(agent=agent)) is not None:
                claims[agent.pk].append(dossier.pk)
                _done(dossier, agent)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    everything = [pk for taken in claims.values() for pk in taken]
    assert len(everything) == 1000
    assert sorted(everything) == sorted(d.pk for d in dossiers)  # each one exactly once
    assert all(len(taken) > 0 for taken in claims.values()), "both agents worked"
    claim_events = DossierEvent.objects.filter(to_state=State.IN_REVIEW, dossier__cert=cert)
    assert claim_events.count() == 1000
    assert Dossier.objects.filter(cert=cert, state=State.APPROVED).count() == 1000


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_claim_never_gives_an_agent_two_dossiers(postgres):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=factories.citizen(), count=5)
    got: list[int] = []
    start = threading.Barrier(4)

    def click():
        try:
            start.wait()
            got.append(claim.queue_claim_next(agent=agent).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(got) == 4 and len(set(got)) == 1
    assert Dossier.objects.filter(state=State.IN_REVIEW).count() == 1
    assert DossierEvent.objects.filter(to_state=State.IN_REVIEW).count() == 1


def test_an_agent_cannot_be_put_on_two_dossiers_at_once_even_around_the_claim():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    first, second = queued_dossiers(cert=cert, owner=factories.citizen(), count=2)
    claim.queue_claim_next(agent=agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        transitions.dossier_transition(
            dossier=second.pk, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
        )
    assert Dossier.objects.get(pk=second.pk).state == State.QUEUED


def test_embedded_claim_path_claims_in_the_same_order_and_resumes_the_same_way():
    """SQLite (the embedded mode) has no data-modifying CTE: the ORM path must behave the same."""
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    start = timezone.now() - timedelta(days=2)
    oldest, _newer = queued_dossiers(cert=cert, owner=factories.citizen(), count=2, since=start)
    urgent = queued_dossiers(cert=cert, owner=factories.citizen(), priority=10, since=start)[0]

    first = dossiers_claim._claim_orm(agent=agent, order=claim.CLAIM_ORDER, ready=Assessment)
    again = dossiers_claim._claim_orm(agent=agent, order=claim.CLAIM_ORDER, ready=Assessment)
    decisions.dossier_decide(dossier=first, agent=agent, decision="approve")
    then = dossiers_claim._claim_orm(agent=agent, order=claim.CLAIM_ORDER, ready=Assessment)

    assert (first.pk, first.resumed, again.pk, again.resumed) == (urgent.pk, False, urgent.pk, True)
    assert (then.pk, then.state, then.claimed_by) == (oldest.pk, State.IN_REVIEW, agent)
    assert DossierEvent.objects.filter(to_state=State.IN_REVIEW).count() == 2


def test_claim_statement_is_planned_once_and_served_by_the_queue_and_one_review_indexes(postgres):
    cert = factories.CertFactory()
    agents = [factories.agent(cert=cert) for _ in range(8)]
    # A queue worth the name and fresh statistics: on empty tables every plan costs the same, and
    # the planner may pick any index of the queue.
    queued = factories.bulk_dossiers(300, state=State.QUEUED, cert=cert)
    Assessment.objects.bulk_create(
        Assessment(dossier=dossier, risk=Risk.MEDIUM, route=Assessment.Route.REVIEW) for dossier in queued
    )
    sql, names = server_form(dossiers_claim._claim_sql(claim.CLAIM_ORDER, Assessment))
    prepared = "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = %s"
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE dossiers_dossier, {Assessment._meta.db_table}")
        # The connection outlives a test: compare with what earlier tests left on it.
        cursor.execute(prepared, [sql])
        name, generic_before, custom_before = cursor.fetchone() or (None, 0, 0)

        claimed = [claim.queue_claim_next(agent=agent) for agent in agents]

        cursor.execute(prepared, [sql])
        row = cursor.fetchone()
        assert row is not None, "the claim statement is not prepared on the connection"
        name, generic, custom = row
        # The claim order's plan is made once for the connection: a plan per claim costs more
        # than the claim itself.
        assert generic - generic_before >= len(agents) - 5 and custom - custom_before <= 5
        now = timezone.now()
        values = {
            "agent": agents[0].pk,
            "cert": cert.pk,
            "role": "agent",
            "now": now,
            "due": now,
            "data": "{}",
        }
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(
            f"EXPLAIN EXECUTE {name}({', '.join(['%s'] * len(names))})", [values[n] for n in names]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert len({dossier.pk for dossier in claimed}) == len(agents)
    assert "dossier_queue_idx" in plan and "dossier_one_review_per_agent" in plan
    assert "Sort" not in plan  # the index gives the claim order: the first entry is the next dossier


def server_form(sql: str) -> tuple[str, list[str]]:
    """A statement as psycopg sends it to the server (%(name)s become $1, $2, ... in order of first
    use), and the parameter names in that order."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    return re.sub(r"%\((\w+)\)s", lambda match: f"${names.index(match.group(1)) + 1}", sql), names


# --- API -------------------------------------------------------------------------------------


def test_claim_api_returns_the_dossier_under_lease_then_204_when_the_queue_is_empty():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen())
    client = factories.api_client(agent)

    response = client.post(reverse("api-queue-claim"))
    assert response.status_code == 200
    body = response.json()
    assert (body["reference"], body["state"], body["cert"]) == (dossier.reference, "in_review", cert.code)
    assert body["due_at"] and body["vehicle"]["vin"] == dossier.vehicle.vin

    client.post(
        reverse("api-dossier-decision", args=[dossier.reference]), {"decision": "approve"}, format="json"
    )
    assert client.post(reverse("api-queue-claim")).status_code == 204


@pytest.mark.parametrize("role", ["citizen", "dealer", "supervisor"])
def test_claim_api_is_for_agents_only(role):
    user = getattr(factories, role)()
    queued_dossiers(cert=factories.CertFactory(), owner=factories.citizen())
    before = factories.snapshot()
    response = factories.api_client(user).post(reverse("api-queue-claim"))
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "permission_denied"
    assert factories.snapshot() == before


def test_queue_api_pages_the_whole_queue_in_claim_order_with_a_keyset_cursor():
    cert = factories.CertFactory()
    owner = factories.citizen()
    same_time = timezone.now() - timedelta(hours=5)
    batch = queued_dossiers(cert=cert, owner=owner, count=4, since=same_time, step=timedelta(0))
    later = queued_dossiers(cert=cert, owner=owner, count=2, since=same_time + timedelta(hours=1))
    urgent = queued_dossiers(
        cert=cert, owner=owner, count=2, priority=10, since=same_time + timedelta(hours=2)
    )
    queued_dossiers(cert=factories.CertFactory(), owner=owner, count=2)  # another centre
    client = factories.api_client(factories.agent(cert=cert))

    seen, url, pages = [], reverse("api-queue") + "?page_size=3", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [row["reference"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        if body["results"]:
            assert set(body["results"][0]) == {
                "reference", "procedure", "priority", "queued_at", "risk", "vin", "plate",
            }  # fmt: skip

    expected = [d.reference for d in urgent + sorted(batch, key=lambda d: d.pk) + later]
    assert seen == expected
    assert pages == 3
    assert seen == [d.reference for d in selectors.queue_for_cert(cert_id=cert.pk)]


def test_queue_api_refuses_a_forged_cursor_with_the_error_shape():
    client = factories.api_client(factories.agent())
    response = client.get(reverse("api-queue") + "?cursor=bm90LWEtY3Vyc29y")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "field": "cursor",
                "rule": "invalid",
                "message": "Curseur de pagination invalide.",
                "expected": "la valeur de « next »",
            }
        ]
    }


def test_supervisor_reads_any_centre_queue_by_code():
    cert = factories.CertFactory()
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen())
    client = factories.api_client(factories.supervisor())
    assert client.get(reverse("api-queue")).status_code == 400
    response = client.get(reverse("api-queue") + f"?centre={cert.code}")
    assert [row["reference"] for row in response.json()["results"]] == [dossier.reference]


# --- scope: an agent of centre A never sees a dossier of centre B -----------------------------


def test_agent_of_another_centre_gets_404_on_every_api_endpoint_of_the_dossier():
    home, elsewhere = factories.CertFactory(), factories.CertFactory()
    holder_agent, outsider = factories.agent(cert=home), factories.agent(cert=elsewhere)
    queued_dossiers(cert=home, owner=factories.citizen())
    dossier = claim.queue_claim_next(agent=holder_agent)
    client = factories.api_client(outsider)
    before = factories.snapshot(dossier)

    for name, payload in [
        ("api-dossier-decision", {"decision": "approve"}),
        ("api-dossier-release", {}),
        ("api-dossier-lease", {}),
    ]:
        response = client.post(reverse(name, args=[dossier.reference]), payload, format="json")
        assert response.status_code == 404, name
    assert client.get(reverse("api-dossier", args=[dossier.reference])).status_code == 404
    dossier.refresh_from_db()
    assert dossier.state == State.IN_REVIEW and dossier.claimed_by == holder_agent
    assert factories.snapshot(dossier) == before


def test_agent_of_another_centre_gets_404_on_the_review_page_its_documents_and_its_forms(client):
    home, elsewhere = factories.CertFactory(), factories.CertFactory()
    (dossier,) = queued_dossiers(cert=home, owner=factories.citizen())
    client.force_login(factories.agent(cert=elsewhere))
    before = factories.snapshot(dossier)

    assert client.get(reverse("agent-dossier", args=[dossier.reference])).status_code == 404
    assert client.get(reverse("agent-document", args=[dossier.reference, 1])).status_code == 404
    for name in ("agent-decide", "agent-release", "agent-renew"):
        assert (
            client.post(reverse(name, args=[dossier.reference]), {"decision": "approve"}).status_code == 404
        )
    assert factories.snapshot(dossier) == before
    home_agent = factories.agent(cert=home)
    client.force_login(home_agent)
    assert client.get(reverse("agent-dossier", args=[dossier.reference])).status_code == 200


def test_agent_pages_need_a_login_and_a_reviewer_role(client):
    queued_dossiers(cert=factories.CertFactory(), owner=factories.citizen())
    before = factories.snapshot()
    response = client.get(reverse("agent-queue"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(factories.citizen())
    assert client.get(reverse("agent-queue")).status_code == 403
    assert client.post(reverse("agent-claim")).status_code == 403
    assert factories.snapshot() == before


# --- pages -----------------------------------------------------------------------------------


def test_queue_page_lists_the_centre_queue_and_the_claim_button_opens_the_next_dossier(client):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    first, second = queued_dossiers(cert=cert, owner=factories.citizen(), count=2, risk=Risk.LOW)
    client.force_login(agent)

    page = client.get(reverse("agent-queue")).content.decode()
    assert "Prendre le dossier suivant" in page
    assert page.index(first.reference) < page.index(second.reference)

    response = client.post(reverse("agent-claim"))
    assert response.status_code == 302
    assert response["Location"] == reverse("agent-dossier", args=[first.reference])
    review = client.get(response["Location"]).content.decode()
    assert "Accepter le dossier" in review and "Demander le complément" in review

    page = client.get(reverse("agent-queue")).content.decode()
    assert "Reprendre le dossier en cours" in page and "Prendre le dossier suivant" not in page


def test_supervisor_picks_a_centre_to_see_its_queue_but_does_not_claim(client):
    cert = factories.CertFactory()
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen())
    client.force_login(factories.supervisor())
    page = client.get(reverse("agent-queue")).content.decode()
    assert f'value="{cert.code}"' in page and dossier.reference not in page
    page = client.get(reverse("agent-queue"), {"centre": cert.code}).content.decode()
    assert dossier.reference in page and "Prendre le dossier suivant" not in page
    before = factories.snapshot(dossier)
    assert client.post(reverse("agent-claim")).status_code == 403
    assert factories.snapshot(dossier) == before


def test_claim_button_on_an_empty_queue_says_so(client):
    client.force_login(factories.agent())
    response = client.post(reverse("agent-claim"), follow=True)
    assert "Aucun dossier n'attend d'instruction dans votre centre." in html.unescape(
        response.content.decode()
    )


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("CG-2026-0000042", search.SearchTerms(reference="CG-2026-0000042")),
        ("cg-2026-0000042", search.SearchTerms(reference="CG-2026-0000042")),
        ("ab123cd", search.SearchTerms(plate="AB-123-CD", vin="AB123CD")),
        ("AB-123-CD", search.SearchTerms(plate="AB-123-CD", vin="AB123CD")),
        ("KP042788", search.SearchTerms(vin="KP042788")),
        ("1m8gdm9axkp042788", search.SearchTerms(vin="1M8GDM9AXKP042788")),
        ("  dupont  ", search.SearchTerms(name="dupont")),
        ("Garage de l'Est", search.SearchTerms(name="Garage de l'Est")),
        ("x", search.SearchTerms()),
        ("", search.SearchTerms()),
    ],
)
def test_search_box_entry_is_read_as_reference_plate_vin_or_name(typed, expected):
    assert search.search_terms(typed) == expected


def test_search_finds_by_reference_plate_vin_fragment_and_holder_name_within_scope():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner = factories.citizen()
    mine = queued_dossiers(cert=cert, owner=owner, count=2, last_names=["Dupont-Moreau", "Lefèvre"])
    theirs = queued_dossiers(cert=other, owner=owner, last_names=["Dupont"])[0]
    company = factories.draft(
        filed_by=owner,
        holder=factories.holder_data(
            holder_kind="company", company_name="Transports Dupuis", siret="73282932000074"
        ),
    )
    Dossier.objects.filter(pk=company.pk).update(cert=cert)
    agent = factories.agent(cert=cert)
    target = mine[0]

    def found(q):
        return {d.reference for d in search.dossiers_search(user=agent, q=q)}

    assert found(target.reference) == {target.reference}
    assert found(target.vehicle.plate.replace("-", "").lower()) == {target.reference}
    assert found(target.vehicle.vin[-8:]) == {target.reference}
    assert found("dupont") == {target.reference}  # not the other centre's Dupont
    assert found("lefèvre") == {mine[1].reference}
    assert found("dupuis") == {company.reference}
    assert found(theirs.reference) == set()
    supervisor_hits = {d.reference for d in search.dossiers_search(user=factories.supervisor(), q="dupont")}
    assert supervisor_hits == {target.reference, theirs.reference}


def test_search_page_shows_matches_with_a_link_to_the_review_page(client):
    cert = factories.CertFactory()
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen(), last_names=["Rousseau"])
    client.force_login(factories.agent(cert=cert))
    page = client.get(reverse("agent-search"), {"q": "rousseau"}).content.decode()
    assert reverse("agent-dossier", args=[dossier.reference]) in page
    page = html.unescape(client.get(reverse("agent-search"), {"q": "personne"}).content.decode())
    assert "Aucun dossier ne correspond" in page


def test_search_finds_holders_by_first_names_alone_or_with_the_last_name_in_any_order():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner = factories.citizen()

    def filed(cert, **holder):
        dossier = factories.draft(filed_by=owner, holder=factories.holder_data(**holder))
        Dossier.objects.filter(pk=dossier.pk).update(cert=cert)
        return dossier.reference

    marie = filed(cert, last_name="Lambert", first_names="Marie Claire")
    claire = filed(cert, last_name="Claire", first_names="Jeanne")
    elsewhere = filed(other, last_name="Lambert", first_names="Marie")
    agent = factories.agent(cert=cert)

    def found(q, user=agent):
        return {d.reference for d in search.dossiers_search(user=user, q=q)}

    assert found("marie") == {marie}
    assert found("Claire") == {marie, claire}  # a first name, and another holder's last name
    assert found("marie lambert") == found("Lambert Marie") == {marie}
    assert found("jeanne lambert") == set()  # every word must match the same holder
    assert found("marie", user=factories.supervisor()) == {marie, elsewhere}


def test_search_page_says_its_scope_for_an_agent_and_for_a_supervisor(client):
    cert = factories.centre("SCO")
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen(), last_names=["Rousseau"])
    client.force_login(factories.agent(cert=cert))
    page = factories.text_of(client.get(reverse("agent-search")))
    assert "La recherche porte sur les dossiers dans votre centre : CERT SCO." in page
    page = factories.text_of(client.get(reverse("agent-search"), {"q": "personne"}))
    assert "Aucun dossier ne correspond à « personne » dans votre centre : CERT SCO." in page

    client.force_login(factories.supervisor())
    page = factories.text_of(client.get(reverse("agent-search"), {"q": "alex"}))
    assert "La recherche porte sur les dossiers dans tous les centres." in page
    assert reverse("agent-dossier", args=[dossier.reference]) in page  # « Alex » is a first name


@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ({"holder__last_name__icontains": "dupon"}, "holder_last_name_trgm"),
        ({"holder__first_names__icontains": "marie"}, "holder_first_names_trgm"),
        ({"holder__company_name__icontains": "transp"}, "holder_company_name_trgm"),
        ({"vin__contains": "KP0427"}, "vehicle_vin_trgm"),
        ({"plate__contains": "123-C"}, "vehicle_plate_trgm"),
    ],
)
def test_search_lookups_are_served_by_the_trigram_indexes(postgres, lookup, index):
    ((path, value),) = lookup.items()
    if path.startswith("holder__"):
        query = Holder.objects.filter(**{path.removeprefix("holder__"): value}).values("pk")
    else:
        query = Vehicle.objects.filter(**{path: value}).values("pk")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan


def test_search_with_control_characters_is_read_without_them(client):
    cert = factories.CertFactory()
    (dossier,) = queued_dossiers(cert=cert, owner=factories.citizen(), last_names=["Rousseau"])
    client.force_login(factories.agent(cert=cert))
    response = client.get(reverse("agent-search"), {"q": "rous\x00seau"})
    assert response.status_code == 200
    assert reverse("agent-dossier", args=[dossier.reference]) in response.content.decode()
