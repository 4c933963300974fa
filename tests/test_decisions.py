"""Decisions on a dossier in review: approve, reject with a listed reason, ask for a complement and
get the answer back in the same centre ahead of new work; bulk approval of low-risk dossiers."""

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cert_workflow.checks import services as checks
from cert_workflow.models import (
    Assessment,
    CheckResult,
    ComplementItem,
    ComplementRequest,
    IssuedDocument,
    Outcome,
    Risk,
    SweepAction,
)
from cert_workflow.review import bulk, claim, complements, decisions
from dossiers.documents import document_attach
from dossiers.errors import InvalidInput
from dossiers.models import Dossier, DossierEvent, State
from dossiers.states import TransitionNotAllowed
from tests import factories
from tests.factories import queued_dossiers

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def _claimed(cert=None, **kwargs):
    """A dossier of `cert` in review by a new agent of that centre: (dossier, agent, owner)."""
    cert = cert or factories.CertFactory()
    owner = kwargs.pop("owner", None) or factories.citizen()
    agent = factories.agent(cert=cert)
    queued_dossiers(cert=cert, owner=owner, **kwargs)
    return claim.queue_claim_next(agent=agent), agent, owner


def _upload(dossier, actor, *kinds):
    """The applicant uploads a new document of each of `kinds` (as a complement answer needs)."""
    for kind in kinds:
        document_attach(
            dossier=dossier,
            kind=kind,
            uploaded=SimpleUploadedFile(f"{kind}.pdf", factories.pdf(f"{kind} (complement)")),
            actor=actor,
        )


def codes(request: ComplementRequest) -> list[str]:
    return list(request.items.values_list("code", flat=True))


# --- pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "deadline"),
    [
        (datetime(2026, 3, 10, 9, 0, tzinfo=PARIS), datetime(2026, 4, 10, 23, 59, 59, tzinfo=PARIS)),
        (datetime(2026, 1, 31, 9, 0, tzinfo=PARIS), datetime(2026, 2, 28, 23, 59, 59, tzinfo=PARIS)),
        (datetime(2028, 1, 31, 9, 0, tzinfo=PARIS), datetime(2028, 2, 29, 23, 59, 59, tzinfo=PARIS)),
        (datetime(2026, 12, 15, 9, 0, tzinfo=PARIS), datetime(2027, 1, 15, 23, 59, 59, tzinfo=PARIS)),
        # 23:30 UTC on 31 May is already 1 June in Paris: the month counts from the local day.
        (datetime(2026, 5, 31, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 23, 59, 59, tzinfo=PARIS)),
    ],
)
def test_complement_deadline_is_the_end_of_the_same_day_one_month_later(now, deadline):
    assert complements.complement_deadline(now=now) == deadline


@pytest.mark.parametrize(
    ("decision", "reason", "message", "items", "field", "rule"),
    [
        ("accept", "", "", None, "decision", "choice"),
        ("reject", "", "", None, "reason", "required"),
        ("reject", "too_ugly", "", None, "reason", "choice"),
        ("reject", "other", "  ", None, "message", "required"),
        ("request_complement", "", "", [], "items", "required"),
        ("request_complement", "", "", ["identity", "colour"], "items", "choice"),
    ],
)
def test_decision_with_an_unknown_or_missing_reason_or_item_says_which(
    decision, reason, message, items, field, rule
):
    with pytest.raises(InvalidInput) as excinfo:
        decisions.decision_clean(decision=decision, reason=reason, message=message, items=items)
    assert [(e.field, e.rule) for e in excinfo.value.errors] == [(field, rule)]


def test_complement_items_are_document_kinds_and_fields_of_the_data_dictionary():
    codes = [code for code, _label in complements.complement_items()]
    assert {"identity", "police_report", "sale_certificate", "vin", "co2_g_km", "address_line"} <= set(codes)
    assert len(codes) == len(set(codes))
    clean = decisions.decision_clean(
        decision="request_complement", items=["proof_of_address", "mass_kg", "proof_of_address"]
    )
    assert clean.items == ("proof_of_address", "mass_kg")


# --- services --------------------------------------------------------------------------------


def test_approval_by_the_lease_holder_is_recorded_with_the_agent():
    dossier, agent, _owner = _claimed()
    approved = decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve")
    assert approved.state == State.APPROVED and approved.decided_at and approved.claimed_by is None
    event = approved.events.get(to_state=State.APPROVED)
    assert (event.actor, event.actor_role, event.data["decision"]) == (agent, "agent", "approve")


def test_rejection_keeps_the_listed_reason_and_the_free_text():
    dossier, agent, _owner = _claimed()
    rejected = decisions.dossier_decide(
        dossier=dossier,
        agent=agent,
        decision="reject",
        reason="seller_not_owner",
        message="Le certificat de cession est signé par un tiers.",
    )
    assert rejected.state == State.REJECTED and rejected.closed_at
    event = rejected.events.get(to_state=State.REJECTED)
    assert event.reason == (
        "Le vendeur n'est pas le titulaire du certificat : Le certificat de cession est signé par un tiers."
    )
    assert event.data["reason_code"] == "seller_not_owner"


def test_complement_request_pauses_the_clock_until_the_deadline_and_frees_the_agent():
    dossier, agent, _owner = _claimed()
    waiting = decisions.dossier_decide(
        dossier=dossier,
        agent=agent,
        decision="request_complement",
        items=["proof_of_address", "co2_g_km"],
        message="Justificatif de moins de 6 mois.",
    )
    request = ComplementRequest.objects.get(dossier=dossier)
    assert waiting.state == State.AWAITING_COMPLEMENT and waiting.claimed_by is None
    assert waiting.due_at == request.deadline == complements.complement_deadline(now=request.requested_at)
    assert request.deadline - timezone.now() > timedelta(days=27)
    assert (request.cert_id, codes(request), request.requested_by) == (
        dossier.cert_id,
        ["proof_of_address", "co2_g_km"],
        agent,
    )
    event = waiting.events.get(to_state=State.AWAITING_COMPLEMENT)
    assert (
        event.data["complement_request"] == request.pk and event.reason == "Justificatif de moins de 6 mois."
    )


def test_complement_items_are_one_row_each_listed_in_french_on_the_letter_and_the_agent_page(
    issuing, client, django_capture_on_commit_callbacks
):
    dossier, agent, _owner = _claimed()

    waiting = factories.decide(
        django_capture_on_commit_callbacks,
        dossier,
        agent,
        "request_complement",
        items=["insurance", "co2_g_km"],
        message="Attestation en cours de validité.",
    )

    assert waiting.state == State.AWAITING_COMPLEMENT
    request = ComplementRequest.objects.get(dossier=dossier)
    assert list(ComplementItem.objects.filter(request=request).values_list("code", flat=True)) == [
        "insurance",
        "co2_g_km",
    ]
    letter = IssuedDocument.objects.get(dossier=dossier, kind="complement_letter")
    assert [item["label"] for item in letter.data["items"]] == ["Attestation d'assurance", "V.7 — CO2"]
    with default_storage.open(letter.file.name) as pdf:
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Attestation d'assurance" in text and "V.7 — CO2" in text and "co2_g_km" not in text
    client.force_login(agent)
    page = html.unescape(client.get(reverse("agent-dossier", args=[dossier.reference])).content.decode())
    assert "Attestation d'assurance, V.7 — CO2." in page and "co2_g_km" not in page


def test_an_unknown_complement_item_is_refused_with_a_field_error_and_nothing_is_stored():
    dossier, agent, _owner = _claimed()
    before = factories.snapshot(dossier)

    response = factories.api_client(agent).post(
        reverse("api-dossier-decision", args=[dossier.reference]),
        {"decision": "request_complement", "items": ["insurance", "colour"], "message": ""},
        format="json",
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("items", "choice")
    assert "colour" in error["message"] and "co2_g_km" in error["expected"]
    assert factories.snapshot(dossier) == before
    assert not ComplementItem.objects.exists()


def test_the_api_schema_lists_the_complement_items_an_agent_may_ask_for():
    schema = factories.api_client(factories.supervisor()).get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/dossiers/{reference}/decision/"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    item = schema["components"]["schemas"][ref]["properties"]["items"]["items"]
    enum = schema["components"]["schemas"][item["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert enum["enum"] == [code for code, _label in complements.complement_items()]
    assert "* `co2_g_km` - V.7 — CO2" in enum["description"]


def test_a_colleague_cannot_decide_on_a_dossier_another_agent_holds_but_a_supervisor_can():
    dossier, agent, _owner = _claimed()
    colleague = factories.agent(cert=agent.cert)
    before = factories.snapshot(dossier)
    with pytest.raises(claim.LeaseNotHeld) as excinfo:
        decisions.dossier_decide(dossier=dossier, agent=colleague, decision="approve")
    assert excinfo.value.rule == "lease_not_held"
    assert factories.snapshot(dossier) == before
    approved = decisions.dossier_decide(dossier=dossier, agent=factories.supervisor(), decision="approve")
    assert approved.state == State.APPROVED


def test_a_decided_dossier_cannot_be_decided_again():
    dossier, agent, _owner = _claimed()
    decisions.dossier_decide(dossier=dossier, agent=agent, decision="approve")
    before = factories.snapshot(dossier)
    with pytest.raises(TransitionNotAllowed):
        decisions.dossier_decide(dossier=dossier, agent=agent, decision="reject", reason="fees_not_paid")
    assert factories.snapshot(dossier) == before


def test_only_the_applicant_answers_a_complement():
    dossier, agent, owner = _claimed()
    decisions.dossier_decide(dossier=dossier, agent=agent, decision="request_complement", items=["identity"])
    _upload(dossier, owner, "identity")
    before = factories.snapshot(dossier)
    with pytest.raises(PermissionDenied):
        complements.complement_answer(dossier=dossier, actor=agent)
    with pytest.raises(TransitionNotAllowed):
        complements.complement_answer(dossier=dossier, actor=factories.citizen())
    assert factories.snapshot(dossier) == before
    assert complements.complement_answer(dossier=dossier, actor=owner).state == State.QUEUED


def test_dealer_organisation_answers_the_complement_of_its_dossier():
    cert = factories.CertFactory()
    staff = factories.dealer()
    colleague = factories.dealer(organisation=staff.organisation)
    dossier = factories.draft(filed_by=staff)
    Dossier.objects.filter(pk=dossier.pk).update(
        state=State.QUEUED, cert=cert, queued_at=timezone.now() - timedelta(hours=1)
    )
    checks.checks_run_queued(dossier_ids=[dossier.pk])  # queued directly: its checks, as the sweep runs them
    agent = factories.agent(cert=cert)
    claimed = claim.queue_claim_next(agent=agent)
    decisions.dossier_decide(dossier=claimed, agent=agent, decision="request_complement", items=["invoice"])
    _upload(claimed, staff, "invoice")

    answered = complements.complement_answer(dossier=claimed, actor=colleague)

    assert (answered.state, answered.cert) == (State.QUEUED, cert)


def test_an_empty_complement_answer_is_refused_naming_what_is_missing_and_changes_nothing():
    dossier, agent, owner = _claimed()
    decisions.dossier_decide(
        dossier=dossier,
        agent=agent,
        decision="request_complement",
        items=["proof_of_address", "insurance"],
    )
    # A document of a requested kind from before the request is not an answer to it.
    _upload(dossier, owner, "proof_of_address", "insurance")
    requested_at = ComplementRequest.objects.get(dossier=dossier).requested_at
    dossier.documents.filter(kind="proof_of_address").update(created_at=requested_at - timedelta(days=1))
    before = factories.snapshot(dossier)

    response = factories.api_client(owner).post(reverse("api-dossier-complement", args=[dossier.reference]))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("proof_of_address", "complement_document_missing")
    assert "Justificatif de domicile" in error["message"]
    assert factories.snapshot(dossier) == before
    assert Dossier.objects.get(pk=dossier.pk).state == State.AWAITING_COMPLEMENT
    assert ComplementRequest.objects.get(dossier=dossier).answered_at is None


def test_a_complement_asking_for_a_field_is_answered_only_with_a_document_showing_the_value():
    dossier, agent, owner = _claimed()
    decisions.dossier_decide(
        dossier=dossier, agent=agent, decision="request_complement", items=["identity", "co2_g_km"]
    )
    _upload(dossier, owner, "identity")
    before = factories.snapshot(dossier)
    with pytest.raises(InvalidInput) as excinfo:
        complements.complement_answer(dossier=dossier, actor=owner)
    assert [(e.field, e.rule) for e in excinfo.value.errors] == [
        ("co2_g_km", "complement_field_proof_missing")
    ]
    assert "V.7" in excinfo.value.errors[0].message
    assert factories.snapshot(dossier) == before

    _upload(dossier, owner, "other")
    assert complements.complement_answer(dossier=dossier, actor=owner).state == State.QUEUED


# --- API and the complement round trip ---------------------------------------------------------


def test_complement_round_trip_comes_back_to_the_same_centre_ahead_of_newer_work():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner, agent = factories.citizen(), factories.agent(cert=cert)
    (dossier,) = queued_dossiers(cert=cert, owner=owner, since=timezone.now() - timedelta(days=2))
    agent_api = factories.api_client(agent)

    claimed = agent_api.post(reverse("api-queue-claim")).json()
    assert claimed["reference"] == dossier.reference
    response = agent_api.post(
        reverse("api-dossier-decision", args=[dossier.reference]),
        {"decision": "request_complement", "items": ["proof_of_address"], "message": "Moins de 6 mois."},
        format="json",
    )
    assert response.status_code == 200 and response.json()["state"] == "awaiting_complement"
    # New work arrives in the centre (and elsewhere) while the applicant looks for the document.
    (newer,) = queued_dossiers(
        cert=cert, owner=factories.citizen(), since=timezone.now() - timedelta(minutes=5)
    )
    queued_dossiers(cert=other, owner=factories.citizen(), since=timezone.now() - timedelta(days=9))

    owner_api = factories.api_client(owner)
    upload = owner_api.post(
        reverse("api-dossier-documents", args=[dossier.reference]),
        {"kind": "proof_of_address", "file": SimpleUploadedFile("edf.pdf", factories.pdf("EDF juin"))},
    )
    assert upload.status_code == 201, upload.content
    response = owner_api.post(reverse("api-dossier-complement", args=[dossier.reference]))

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["cert"], body["priority"]) == (
        "queued",
        cert.code,
        complements.COMPLEMENT_PRIORITY,
    )
    assert ComplementRequest.objects.get(dossier=dossier).answered_at is not None
    assert [row["reference"] for row in agent_api.get(reverse("api-queue")).json()["results"]] == [
        dossier.reference,
        newer.reference,
    ]
    again = agent_api.post(reverse("api-queue-claim")).json()
    assert again["reference"] == dossier.reference
    # Test data with no pieces: the checks the answer re-ran fail, so the approval is confirmed.
    response = agent_api.post(
        reverse("api-dossier-decision", args=[dossier.reference]),
        {"decision": "approve", **factories.APPROVAL_CONFIRMATION},
        format="json",
    )
    assert response.json()["state"] == "approved"
    moves = list(
        DossierEvent.objects.filter(dossier=dossier, action="transition").values_list(
            "from_state", "to_state", "actor_role"
        )
    )
    assert moves == [
        ("queued", "in_review", "agent"),
        ("in_review", "awaiting_complement", "agent"),
        ("awaiting_complement", "queued", "citizen"),
        ("queued", "in_review", "agent"),
        ("in_review", "approved", "agent"),
    ]


def test_decision_api_errors_use_the_error_shape_400_for_input_409_for_state_and_lease():
    dossier, agent, _owner = _claimed()
    client = factories.api_client(agent)
    url = reverse("api-dossier-decision", args=[dossier.reference])
    before = factories.snapshot(dossier)

    response = client.post(url, {"decision": "reject", "reason": "nope"}, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("reason", "choice")
    assert "seller_not_owner" in error["expected"]
    assert factories.snapshot(dossier) == before

    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    before = factories.snapshot(dossier)
    response = client.post(url, {"decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["rule"] == "lease_expired"
    assert factories.snapshot(dossier) == before

    supervisor_api = factories.api_client(factories.supervisor())
    assert supervisor_api.post(url, {"decision": "approve"}, format="json").status_code == 200
    before = factories.snapshot(dossier)
    response = supervisor_api.post(url, {"decision": "approve"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["rule"] == "transition_not_allowed"
    assert factories.snapshot(dossier) == before


def test_citizen_cannot_decide_on_their_own_dossier_and_agents_cannot_answer_complements():
    dossier, agent, owner = _claimed()
    before = factories.snapshot(dossier)
    response = factories.api_client(owner).post(
        reverse("api-dossier-decision", args=[dossier.reference]), {"decision": "approve"}, format="json"
    )
    assert response.status_code == 403
    response = factories.api_client(agent).post(reverse("api-dossier-complement", args=[dossier.reference]))
    assert response.status_code == 403
    assert factories.snapshot(dossier) == before


def test_release_and_lease_api():
    dossier, agent, _owner = _claimed()
    client = factories.api_client(agent)
    Dossier.objects.filter(pk=dossier.pk).update(due_at=timezone.now() + timedelta(minutes=3))
    response = client.post(reverse("api-dossier-lease", args=[dossier.reference]))
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["due_at"]) > timezone.now() + timedelta(minutes=29)
    response = client.post(reverse("api-dossier-release", args=[dossier.reference]))
    assert response.status_code == 200 and response.json()["state"] == "queued"
    before = factories.snapshot(dossier)
    assert client.post(reverse("api-dossier-lease", args=[dossier.reference])).status_code == 409
    assert factories.snapshot(dossier) == before


# --- pages -----------------------------------------------------------------------------------


def test_review_page_shows_data_documents_inline_checks_and_history(client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cert_workflow.models import CheckResult, Outcome
    from dossiers.documents import document_attach

    settings.MEDIA_ROOT = tmp_path
    owner = factories.citizen()
    draft = factories.draft(filed_by=owner)
    pdf = document_attach(
        dossier=draft,
        kind="identity",
        uploaded=SimpleUploadedFile("cni.pdf", factories.pdf(), content_type="application/pdf"),
        actor=owner,
    )
    png = document_attach(
        dossier=draft,
        kind="proof_of_address",
        uploaded=SimpleUploadedFile("facture.png", factories.image()),
        actor=owner,
    )
    cert = factories.CertFactory()
    Dossier.objects.filter(pk=draft.pk).update(state=State.QUEUED, cert=cert, queued_at=timezone.now())
    CheckResult.objects.create(dossier=draft, code="vin", outcome=Outcome.WARNING, message="Clé de contrôle.")
    Assessment.objects.create(dossier=draft, risk=Risk.MEDIUM, route=Assessment.Route.REVIEW)
    agent = factories.agent(cert=cert)
    claim.queue_claim_next(agent=agent)
    client.force_login(agent)

    page = html.unescape(client.get(reverse("agent-dossier", args=[draft.reference])).content.decode())

    pdf_url = reverse("agent-document", args=[draft.reference, pdf.pk])
    png_url = reverse("agent-document", args=[draft.reference, png.pk])
    assert f'<object data="{pdf_url}" type="application/pdf"' in page
    assert f'<img src="{png_url}"' in page
    assert "Clé de contrôle." in page and "À vérifier" in page
    assert draft.vehicle.vin in page and "Martin" in page
    assert "En cours d'instruction" in page
    assert "Ce dossier vous est réservé encore" in page

    response = client.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    # The review page itself may embed same-origin objects and images under the site's policy.
    policy = client.get(reverse("agent-dossier", args=[draft.reference]))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self'" in policy and "object-src" not in policy


def test_reject_form_without_a_reason_comes_back_with_the_error_and_the_text_kept(client):
    dossier, agent, _owner = _claimed()
    client.force_login(agent)
    before = factories.snapshot(dossier)
    response = client.post(
        reverse("agent-decide", args=[dossier.reference]),
        {"decision": "reject", "reason": "", "message": "Pièce d'identité expirée"},
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Choisissez le motif du refus dans la liste." in page
    assert "Pièce d'identité expirée</textarea>" in page
    assert factories.snapshot(dossier) == before


def test_complement_form_sends_the_dossier_to_the_applicant_and_back_to_the_queue_page(client):
    dossier, agent, _owner = _claimed()
    client.force_login(agent)
    response = client.post(
        reverse("agent-decide", args=[dossier.reference]),
        {"decision": "request_complement", "items": ["identity", "vin"], "message": ""},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("agent-queue")
    assert "Le complément est demandé" in html.unescape(response.content.decode())
    assert codes(ComplementRequest.objects.get(dossier=dossier)) == ["identity", "vin"]


# --- bulk approval ---------------------------------------------------------------------------


def test_bulk_approval_approves_only_queued_low_risk_dossiers_of_the_agent_centre_and_says_why_not():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner, agent = factories.citizen(), factories.agent(cert=cert)
    low = queued_dossiers(cert=cert, owner=owner, count=2, risk=Risk.LOW)
    medium = queued_dossiers(cert=cert, owner=owner, risk=Risk.MEDIUM)[0]
    unassessed = queued_dossiers(cert=cert, owner=owner, checked=False)[0]
    elsewhere = queued_dossiers(cert=other, owner=owner, risk=Risk.LOW)[0]

    result = bulk.dossiers_bulk_approve(
        dossier_ids=[d.pk for d in [*low, medium, unassessed, elsewhere]], agent_id=agent.pk
    )

    assert result["approved"] == [d.pk for d in low]
    assert result["skipped"] == {
        medium.pk: "not_low_risk",
        unassessed.pk: "not_assessed",
        elsewhere.pk: "other_centre",
    }
    assert set(Dossier.objects.filter(state=State.APPROVED).values_list("pk", flat=True)) == {
        d.pk for d in low
    }
    for dossier in low:
        assert list(dossier.events.values_list("from_state", "to_state", "actor")) == [
            (State.QUEUED, State.IN_REVIEW, agent.pk),
            (State.IN_REVIEW, State.APPROVED, agent.pk),
        ]
    recorded = dict(
        SweepAction.objects.filter(kind=bulk.BULK_SKIPPED).values_list("dossier_id", "data__reason")
    )
    assert recorded == result["skipped"]
    # A second run approves nothing more and records why.
    again = bulk.dossiers_bulk_approve(dossier_ids=[low[0].pk], agent_id=agent.pk)
    assert again == {"approved": [], "skipped": {low[0].pk: "already_decided"}}


def _read(response) -> str:
    """The page's text without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", factories.text_of(response)).split())


def _failed_check(dossier) -> None:
    """A check that failed after the dossier was assessed low risk (its risk is stale)."""
    CheckResult.objects.create(dossier=dossier, code="payment", outcome=Outcome.FAILED, message="Impayé.")


def test_bulk_approval_api_answers_for_each_reference_approved_or_skipped_with_the_reason():
    cert, other = factories.CertFactory(), factories.CertFactory()
    owner, agent = factories.citizen(), factories.agent(cert=cert)
    low = queued_dossiers(cert=cert, owner=owner, count=3, risk=Risk.LOW)
    high = queued_dossiers(cert=cert, owner=owner, risk=Risk.HIGH)[0]
    failed = queued_dossiers(cert=cert, owner=owner, risk=Risk.LOW)[0]
    _failed_check(failed)
    theirs = queued_dossiers(cert=other, owner=owner, risk=Risk.LOW)[0]
    claim.queue_claim_next(agent=factories.agent(cert=cert))  # a colleague holds the oldest low one
    held = Dossier.objects.get(state=State.IN_REVIEW)
    assert held.pk == low[0].pk
    untouched = factories.snapshot(high, failed, theirs, held)
    selected = [*low, high, failed, theirs]

    response = factories.api_client(agent).post(
        reverse("api-queue-bulk-approve"),
        {"references": [d.reference for d in selected] + ["CG-2099-9999999"]},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["approved"], body["skipped"]) == (2, 5)
    assert [(r["reference"], r["outcome"], r["reason"]) for r in body["results"]] == [
        (low[0].reference, "skipped", "in_review"),
        (low[1].reference, "approved", ""),
        (low[2].reference, "approved", ""),
        (high.reference, "skipped", "not_low_risk"),
        (failed.reference, "skipped", "check_failed"),
        (theirs.reference, "skipped", "not_in_scope"),
        ("CG-2099-9999999", "skipped", "not_in_scope"),
    ]
    messages = {r["reference"]: r["message"] for r in body["results"]}
    assert messages[theirs.reference] == "Introuvable dans votre centre."
    assert messages[failed.reference].startswith("Un contrôle automatique a échoué")
    assert set(Dossier.objects.filter(state=State.APPROVED).values_list("pk", flat=True)) == {
        low[1].pk,
        low[2].pk,
    }
    assert factories.snapshot(high, failed, theirs, held) == untouched
    # The other centre's dossier is neither touched nor recorded; the others' reasons are audited.
    skipped = dict(
        SweepAction.objects.filter(kind=bulk.BULK_SKIPPED).values_list("dossier_id", "data__reason")
    )
    assert skipped == {held.pk: "in_review", high.pk: "not_low_risk", failed.pk: "check_failed"}


def test_bulk_approval_api_refuses_an_empty_or_oversized_selection_and_changes_nothing():
    cert = factories.CertFactory()
    agent = factories.agent(cert=cert)
    low = queued_dossiers(cert=cert, owner=factories.citizen(), risk=Risk.LOW)[0]
    before = factories.snapshot(low)
    api = factories.api_client(agent)
    url = reverse("api-queue-bulk-approve")
    assert api.post(url, {"references": []}, format="json").status_code == 400
    too_many = [low.reference] + [f"CG-2099-{n:07d}" for n in range(bulk.BULK_MAX)]
    assert api.post(url, {"references": too_many}, format="json").status_code == 400
    assert factories.snapshot(low) == before
    assert not SweepAction.objects.exists()


def test_queue_page_offers_bulk_approval_of_low_risk_rows_only_then_says_what_became_of_each(client):
    cert = factories.CertFactory()
    owner, agent = factories.citizen(), factories.agent(cert=cert)
    low = queued_dossiers(cert=cert, owner=owner, risk=Risk.LOW)[0]
    high = queued_dossiers(cert=cert, owner=owner, risk=Risk.HIGH)[0]
    failed = queued_dossiers(cert=cert, owner=owner, risk=Risk.LOW)[0]
    client.force_login(agent)

    page = client.get(reverse("agent-queue")).content.decode()
    assert f'name="references" value="{low.reference}"' in page
    assert f'name="references" value="{failed.reference}"' in page
    assert f'name="references" value="{high.reference}"' not in page
    _failed_check(failed)  # between the page and the click

    response = client.post(
        reverse("agent-bulk-approve"),
        {"references": [low.reference, failed.reference, high.reference]},
        follow=True,
    )

    assert response.redirect_chain[-1][0].startswith(reverse("agent-queue"))
    text = _read(response)
    assert "Résultat de l'acceptation groupée" in text
    assert "1 dossier accepté, 2 laissés de côté." in text
    report = text[text.index("Résultat de l'acceptation groupée") :]
    assert f"{low.reference} Accepté" in report
    assert f"{failed.reference} Laissé de côté Un contrôle automatique a échoué" in report
    assert f"{high.reference} Laissé de côté Risque moyen ou élevé" in report
    low.refresh_from_db()
    assert low.state == State.APPROVED
    # Said once: the next visit of the queue shows the queue only.
    assert "Résultat de l'acceptation groupée" not in _read(client.get(reverse("agent-queue")))


def test_bulk_approval_page_refuses_an_empty_or_oversized_selection_and_changes_nothing(client):
    cert = factories.CertFactory()
    low = queued_dossiers(cert=cert, owner=factories.citizen(), risk=Risk.LOW)[0]
    before = factories.snapshot(low)
    client.force_login(factories.agent(cert=cert))
    url = reverse("agent-bulk-approve")

    text = _read(client.post(url, {}, follow=True))
    assert "Cochez au moins un dossier à faible risque." in text
    too_many = [low.reference] + [f"CG-2099-{n:07d}" for n in range(bulk.BULK_MAX)]
    text = _read(client.post(url, {"references": too_many}, follow=True))
    assert f"Cochez au plus {bulk.BULK_MAX} dossiers à la fois." in text
    assert "Résultat de l'acceptation groupée" not in text
    assert factories.snapshot(low) == before
    assert not SweepAction.objects.exists()


# --- the move of the old JSON lists ------------------------------------------------------------

BEFORE_ITEMS = [("cert_workflow", "0005_decision_days")]
AFTER_ITEMS = [("cert_workflow", "0007_remove_complementrequest_items_json")]


@pytest.mark.django_db(transaction=True)
def test_data_migration_moves_the_requested_items_to_one_row_each():
    dossier, agent = factories.draft(filed_by=factories.citizen()), factories.agent()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_ITEMS)
    OldRequest = executor.loader.project_state(BEFORE_ITEMS).apps.get_model(
        "cert_workflow", "ComplementRequest"
    )

    def old_request(items, **times):
        return OldRequest.objects.create(
            dossier_id=dossier.pk,
            cert_id=agent.cert_id,
            items=items,
            requested_by_id=agent.pk,
            deadline=timezone.now(),
            **times,
        ).pk

    answered = old_request(["insurance", "co2_g_km", "insurance"], answered_at=timezone.now())
    stray = old_request(["identity", "colour"], expired_at=timezone.now())
    empty = old_request([])

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER_ITEMS)

    assert codes(ComplementRequest.objects.get(pk=answered)) == ["insurance", "co2_g_km"]
    assert codes(ComplementRequest.objects.get(pk=stray)) == ["identity"]
    assert codes(ComplementRequest.objects.get(pk=empty)) == []
    columns = connection.introspection.get_table_description(
        connection.cursor(), ComplementRequest._meta.db_table
    )
    assert not {"items", "items_json"} & {column.name for column in columns}
