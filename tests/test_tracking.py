"""The dossier page: where the dossier is, whose turn, the estimate, the timeline in French, the
complement answered from the page, withdrawing, and /mon-espace/ linking to it."""

import html as html_module
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from cert_workflow import sweeps
from cert_workflow.documents import issuing
from cert_workflow.models import ComplementRequest
from cert_workflow.review import claim, complements
from dossiers import states, transitions
from dossiers.models import Document, Dossier, DossierEvent, Holder, State
from tests import factories
from tests.factories import awaiting_complement, queued_dossiers
from tracking import reminders, selectors, timeline

pytestmark = pytest.mark.django_db

# Codes that must never reach the page: states, actions, actor roles.
CODES = [
    *State.values,
    "transition",
    "document_attached",
    "payment_recorded",
    "complement_fields_corrected",
    "routed",
    "system",
    "citizen",
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client, url) -> str:
    """The page's text with HTML entities decoded (apostrophes are escaped by some tags only)."""
    return html_module.unescape(client.get(url).content.decode())


def page_url(dossier) -> str:
    return f"/mon-espace/dossiers/{dossier.reference}/"


def section(html: str, title_id: str) -> str:
    start = html.index(f'id="{title_id}"')
    return html[start : html.index("</section>", start)]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z_]+", re.sub(r"<[^>]+>", " ", text)))


# --- the timeline --------------------------------------------------------------------------------


def test_every_move_of_the_workflow_has_a_french_sentence():
    for from_state, moves in states.TRANSITIONS.items():
        for to_state in moves:
            text = timeline.event_sentence(
                action="transition", from_state=from_state, to_state=to_state, data={}
            )
            assert text != str(timeline.UNKNOWN_ACTION), (from_state, to_state)
            assert not words(text) & set(CODES)


def test_timeline_tells_every_event_in_french_without_codes(media_in_tmp):
    dossier, agent = awaiting_complement(items=("identity",), message="La pièce d'identité est illisible.")
    owner = dossier.applicant
    client = signed_in(owner)
    client.post(
        f"{page_url(dossier)}complement/",
        {"identity": SimpleUploadedFile("id.pdf", factories.pdf("nouvelle piece"))},
    )
    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED
    html = get(client, page_url(dossier))
    history = section(html, "timeline-title")
    assert "Le centre vous demande un complément" in history
    assert "La pièce d'identité est illisible." in history  # the agent's message, as the motive
    assert "Pièce ajoutée : Pièce d'identité." in history
    assert "Vous avez répondu à la demande de complément" in history
    assert not words(history) & set(CODES)
    assert history.count("<li>") == DossierEvent.objects.filter(dossier=dossier).count()


def test_refused_dossier_shows_why(django_capture_on_commit_callbacks, issuing):
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    queued_dossiers(cert=cert, owner=owner)
    dossier = claim.queue_claim_next(agent=agent)
    factories.decide(
        django_capture_on_commit_callbacks,
        dossier,
        agent,
        decision="reject",
        reason="document_unreadable",
        message="Le justificatif est flou.",
    )
    html = get(signed_in(owner), page_url(dossier))
    assert "Votre demande a été refusée" in html
    assert "Pièce illisible ou incomplète : Le justificatif est flou." in html
    assert not words(section(html, "timeline-title")) & set(CODES)


# --- whose turn, the estimate --------------------------------------------------------------------


def _decisions(cert, *, count: int, agent, now, days_ago: int = 1):
    """`count` decisions of `cert`'s agents recorded `days_ago` days before `now`."""
    decided = queued_dossiers(cert=cert, owner=factories.citizen(), count=count)
    DossierEvent.objects.bulk_create(
        DossierEvent(
            dossier=d,
            actor=agent,
            actor_role="agent",
            action="transition",
            from_state=State.IN_REVIEW,
            to_state=State.APPROVED,
            created_at=now - timedelta(days=days_ago),
        )
        for d in decided
    )


def test_estimate_moves_with_the_position_in_the_queue_and_the_measured_rate():
    now = timezone.now()
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    queue = queued_dossiers(cert=cert, owner=owner, count=5, since=now - timedelta(days=2))
    # Other centres' decisions and decisions older than the window do not count.
    _decisions(factories.CertFactory(), count=30, agent=agent, now=now)
    _decisions(cert, count=30, agent=agent, now=now, days_ago=selectors.ESTIMATE_WINDOW_DAYS + 2)
    # The decided dossiers are queued too (bulk rows): take them out of the queue's count.
    unknown = selectors.dossier_estimate(dossier=queue[0], now=now)
    assert unknown.on is None and "aucune décision" in unknown.why

    _decisions(cert, count=selectors.ESTIMATE_WINDOW_DAYS, agent=agent, now=now)  # 1 a day
    Dossier.objects.filter(cert=cert).exclude(pk__in=[d.pk for d in queue]).update(state=State.APPROVED)
    first = selectors.dossier_estimate(dossier=queue[0], now=now)
    third = selectors.dossier_estimate(dossier=queue[2], now=now)
    assert (first.position, third.position) == (1, 3)
    assert first.per_day == pytest.approx(1.0)
    assert first.on == now + timedelta(days=1)
    assert third.on == now + timedelta(days=3)

    _decisions(cert, count=selectors.ESTIMATE_WINDOW_DAYS, agent=agent, now=now)  # 2 a day now
    Dossier.objects.filter(cert=cert).exclude(pk__in=[d.pk for d in queue]).update(state=State.APPROVED)
    assert selectors.dossier_estimate(dossier=queue[2], now=now).on == now + timedelta(days=1.5)

    # A dossier taken ahead of it (higher priority) moves it back one place.
    Dossier.objects.filter(pk=queue[4].pk).update(priority=10)
    assert selectors.dossier_estimate(dossier=queue[2], now=now).position == 4


def test_page_shows_turn_centre_estimate_and_how_it_is_computed():
    now = timezone.now()
    cert = factories.CertFactory(name="CERT de Besançon", city="Besançon")
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    (dossier,) = queued_dossiers(cert=cert, owner=owner)
    _decisions(factories.CertFactory(), count=1, agent=agent, now=now)
    html = get(signed_in(owner), page_url(dossier))
    assert "CERT de Besançon (Besançon)" in html
    assert "Au centre : CERT de Besançon instruit votre dossier." in html
    assert "Inconnue pour l'instant." in html
    assert "place de votre dossier dans la file de son centre" in html
    DossierEvent.objects.create(
        dossier=dossier, actor=agent, actor_role="agent", action="transition",
        from_state=State.IN_REVIEW, to_state=State.APPROVED, created_at=now - timedelta(hours=1),
    )  # fmt: skip
    html = get(signed_in(owner), page_url(dossier))
    estimate = selectors.dossier_estimate(dossier=dossier)
    assert estimate.per_day == pytest.approx(1 / selectors.ESTIMATE_WINDOW_DAYS)
    shown = html[html.index('id="estimate"') :][:200]
    assert "Inconnue" not in shown
    assert str(timezone.localtime(estimate.on).year) in shown
    assert "Votre dossier est le prochain de sa file" in html


def test_complement_page_says_what_and_by_when_and_it_is_the_citizens_turn():
    dossier, _agent = awaiting_complement(items=("identity", "address_line", "make"), message="Précisez.")
    html = get(signed_in(dossier.applicant), page_url(dossier))
    request = ComplementRequest.objects.get(dossier=dossier)
    assert "À vous : répondez à la demande de complément." in html
    assert "Pièce à déposer : Pièce d'identité" in html
    assert "Information à corriger : C.3 — Adresse" in html
    assert "Caractéristique du véhicule à justifier : D.1 — Marque" in html
    assert "Précisez." in html
    deadline = timezone.localtime(request.deadline)
    assert f"{deadline.day} " in html and str(deadline.year) in html
    assert 'name="identity"' in html and 'name="other"' in html and 'name="address_line"' in html


def test_another_users_dossier_is_a_404_and_staff_use_their_own_pages():
    dossier, agent = awaiting_complement()
    assert signed_in(factories.citizen()).get(page_url(dossier)).status_code == 404
    assert signed_in(agent).get(page_url(dossier)).status_code == 404
    assert Client().get(page_url(dossier)).status_code == 302  # to the login page


# --- the complement, answered from the page ------------------------------------------------------


def test_complement_answered_from_the_page_goes_back_to_its_centre(media_in_tmp):
    dossier, _agent = awaiting_complement(items=("identity", "address_line", "postcode"))
    client = signed_in(dossier.applicant)
    response = client.post(
        f"{page_url(dossier)}complement/",
        {
            "identity": SimpleUploadedFile("id.png", factories.image()),
            "address_line": "12 rue Neuve",
            "postcode": "75011",
        },
    )
    assert response.status_code == 302
    dossier.refresh_from_db()
    holder = Holder.objects.get(pk=dossier.holder_id)
    assert dossier.state == State.QUEUED
    assert dossier.cert_id == ComplementRequest.objects.get(dossier=dossier).cert_id
    assert (holder.address_line, holder.postcode, holder.department) == ("12 rue Neuve", "75011", "75")
    assert holder.city == "Besançon"  # not asked: unchanged
    event = DossierEvent.objects.get(dossier=dossier, action="complement_fields_corrected")
    assert event.data["fields"] == ["address_line", "department", "postcode"]
    assert Document.objects.filter(dossier=dossier, kind="identity").count() == 1
    html = get(client, page_url(dossier))
    assert "Votre réponse est envoyée" in html


def test_a_date_to_correct_says_its_format_and_is_taken_the_french_way(media_in_tmp):
    dossier, _agent = awaiting_complement(items=("identity", "birth_date"))
    client = signed_in(dossier.applicant)
    assert "Format attendu : JJ/MM/AAAA" in get(client, page_url(dossier))
    response = client.post(
        f"{page_url(dossier)}complement/",
        {"identity": SimpleUploadedFile("id.png", factories.image()), "birth_date": "03/02/1986"},
    )
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert Holder.objects.get(pk=dossier.holder_id).birth_date.isoformat() == "1986-02-03"


def test_a_refused_file_or_value_changes_nothing_and_says_why_next_to_the_field(media_in_tmp):
    dossier, _agent = awaiting_complement(items=("identity", "postcode"))
    before = factories.snapshot(dossier)
    holder_before = Holder.objects.filter(pk=dossier.holder_id).values().get()
    response = signed_in(dossier.applicant).post(
        f"{page_url(dossier)}complement/",
        {
            "identity": SimpleUploadedFile(
                "id.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf"
            ),
            "postcode": "7501",
        },
    )
    assert response.status_code == 400
    html = html_module.unescape(response.content.decode())
    assert factories.snapshot(dossier) == before
    assert Holder.objects.filter(pk=dossier.holder_id).values().get() == holder_before
    assert 'id="error-summary"' in html and "autofocus" in html
    identity = html[html.index('id="complement-identity-error"') :][:300]
    assert "Format non accepté : PDF, JPEG ou PNG seulement." in identity
    assert 'id="complement-postcode-error"' in html
    assert 'href="#complement-identity"' in html and 'href="#complement-postcode"' in html


def test_a_missing_item_is_named_and_a_field_not_asked_cannot_be_changed(media_in_tmp):
    dossier, _agent = awaiting_complement(items=("identity", "address_line"))
    before = factories.snapshot(dossier)
    response = signed_in(dossier.applicant).post(
        f"{page_url(dossier)}complement/", {"address_line": "1 rue Haute", "last_name": "Autre"}
    )
    assert response.status_code == 400
    assert "Déposez la pièce demandée : Pièce d'identité." in html_module.unescape(response.content.decode())
    assert factories.snapshot(dossier) == before
    assert Holder.objects.get(pk=dossier.holder_id).last_name != "Autre"


# --- withdrawing ---------------------------------------------------------------------------------


def test_withdraw_asks_for_confirmation_then_closes_the_dossier():
    owner = factories.citizen()
    (dossier,) = queued_dossiers(cert=factories.CertFactory(), owner=owner)
    client = signed_in(owner)
    assert "Abandonner ma demande" in get(client, page_url(dossier))
    confirm = client.get(f"{page_url(dossier)}abandonner/").content.decode()
    assert "Oui, abandonner ma demande" in confirm
    dossier.refresh_from_db()
    assert dossier.state == State.QUEUED  # the confirmation page changes nothing
    response = client.post(f"{page_url(dossier)}abandonner/", follow=True)
    dossier.refresh_from_db()
    assert dossier.state == State.WITHDRAWN
    assert "Votre demande est abandonnée." in html_module.unescape(response.content.decode())
    assert "Vous avez abandonné votre demande." in html_module.unescape(response.content.decode())


def test_withdraw_is_refused_once_an_agent_holds_the_dossier():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    owner = factories.citizen()
    queued_dossiers(cert=cert, owner=owner)
    dossier = claim.queue_claim_next(agent=agent)
    before = factories.snapshot(dossier)
    client = signed_in(owner)
    assert "Abandonner ma demande" not in get(client, page_url(dossier))
    response = client.post(f"{page_url(dossier)}abandonner/", follow=True)
    html = html_module.unescape(response.content.decode())
    assert "ne peut plus être abandonné : un agent l'instruit" in html
    assert factories.snapshot(dossier) == before
    assert signed_in(factories.citizen()).post(f"{page_url(dossier)}abandonner/").status_code == 404


# --- /mon-espace/ --------------------------------------------------------------------------------


def test_space_links_each_reference_and_marks_the_citizens_turn():
    dossier, _agent = awaiting_complement()
    owner = dossier.applicant
    queued_dossiers(cert=factories.CertFactory(), owner=owner)
    html = signed_in(owner).get("/mon-espace/").content.decode()
    assert f'href="/mon-espace/dossiers/{dossier.reference}/"' in html
    assert html.count("Action attendue de votre part") == 1


def test_dealer_member_sees_the_organisations_dossier():
    organisation = factories.OrganisationFactory()
    member = factories.dealer(organisation=organisation)
    dossier = factories.draft(filed_by=member)
    assert signed_in(member).get(page_url(dossier)).status_code == 200
    assert signed_in(factories.dealer()).get(page_url(dossier)).status_code == 404


def test_turn_and_estimate_of_a_draft_and_a_closed_dossier():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    assert selectors.dossier_turn(dossier=dossier).who == selectors.CITIZEN
    transitions.dossier_transition(dossier=dossier, to=State.WITHDRAWN, actor=owner)
    assert selectors.dossier_turn(dossier=dossier).who == ""
    assert selectors.dossier_estimate(dossier=dossier).on is None
    # A closed dossier's page says when it closed, not an estimate that no longer means anything.
    html = get(signed_in(owner), page_url(dossier))
    assert "Clos le" in html and "Date estimée de décision" not in html


def test_the_dossier_page_recalls_the_duplicate_reason_by_its_label():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, procedure="duplicate", facts={"duplicate_reason": "loss"})
    html = get(signed_in(owner), page_url(dossier))
    assert "Motif du duplicata" in html and "Perte" in html
    assert ">loss<" not in html


def test_every_event_the_portal_records_has_its_own_french_sentence():
    """The sweep's, the issuing's, the payment's and the complement's records each read as what
    happened, not as the generic fallback."""

    sweep_records = [
        sweeps.LEASE_EXPIRED,
        sweeps.CHECKS_REQUEUED,
        sweeps.COMPLEMENT_EXPIRED,
        sweeps.DRAFT_ABANDONED,
        sweeps.RENDER_OVERDUE,
        sweeps.RENDER_REQUEUED,
        sweeps.CPI_WITHDRAWN,
        sweeps.DEADLINE_SET,
    ]
    actions = {
        *sweep_records,
        issuing.DOCUMENT_WITHDRAWN,
        complements.FIELDS_CORRECTED,
        reminders.REMINDER_ACTION,
        "payment_recorded",
        "created",
    }
    assert len(actions) >= 12
    for action in sorted(actions):
        text = timeline.event_sentence(action=action, from_state="", to_state="", data={})
        assert text != str(timeline.UNKNOWN_ACTION), action
        assert action not in text
