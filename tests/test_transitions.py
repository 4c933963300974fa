"""The state machine: who may move a dossier where, with its audit trail and its follow-ups."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from dossiers import services, states, transitions
from dossiers.claim import dossier_claim_next
from dossiers.models import AppendOnlyError, Dossier, DossierEvent, State
from tests import factories

pytestmark = pytest.mark.django_db


def _queued(owner, cert):
    dossier = factories.draft(filed_by=owner)
    services.dossier_submit(dossier=dossier, actor=owner)
    return transitions.dossier_transition(
        dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert}
    )


def test_every_state_of_the_table_is_a_dossier_state_and_final_states_lead_nowhere():
    assert set(states.TRANSITIONS) == set(State.values)
    for final in (State.ISSUED, State.REJECTED, State.WITHDRAWN):
        assert states.TRANSITIONS[final] == {}
    for state in set(State.values) - {State.ISSUED, State.REJECTED, State.WITHDRAWN}:
        assert states.clock(state) is not None, f"open state {state} has no clock"


def test_created_dossier_is_a_draft_with_a_reference_and_a_creation_event():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    assert dossier.state == State.DRAFT
    assert dossier.reference.startswith("CG-") and len(dossier.reference) == len("CG-2026-0000001")
    assert dossier.applicant == owner
    assert list(dossier.events.values_list("action", "to_state")) == [("created", State.DRAFT)]


def test_references_are_unique_and_increasing():
    owner = factories.citizen()
    references = [factories.draft(filed_by=owner).reference for _ in range(3)]
    assert len(set(references)) == 3
    assert references == sorted(references)


def test_submit_freezes_fees_sets_stage_time_and_records_who():
    owner = factories.citizen()
    dossier = services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner)
    assert dossier.state == State.SUBMITTED
    assert dossier.submitted_at is not None and dossier.due_at > dossier.submitted_at
    assert dossier.y4 == 11 and dossier.y6 == sum(getattr(dossier, f"y{i}") for i in range(1, 6))
    event = dossier.events.get(action="transition")
    assert (event.actor, event.actor_role, event.from_state, event.to_state) == (
        owner,
        "citizen",
        State.DRAFT,
        State.SUBMITTED,
    )


def test_forbidden_transition_raises_and_changes_nothing():
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner)
    before = factories.snapshot(dossier)
    with pytest.raises(states.TransitionNotAllowed) as excinfo:
        transitions.dossier_transition(dossier=dossier, to=State.APPROVED, actor=owner)
    assert "draft" in excinfo.value.message
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT
    assert dossier.events.filter(action="transition").count() == 0
    assert factories.snapshot(dossier) == before


def test_citizen_cannot_approve_and_agent_cannot_submit():
    owner, cert = factories.citizen(), factories.CertFactory()
    dossier = _queued(owner, cert)
    draft = factories.draft(filed_by=owner)
    before = factories.snapshot(dossier, draft)
    with pytest.raises(states.TransitionNotAllowed):
        transitions.dossier_transition(dossier=dossier, to=State.IN_REVIEW, actor=owner)
    with pytest.raises(states.TransitionNotAllowed):
        services.dossier_submit(dossier=draft, actor=factories.agent(cert=cert))
    assert factories.snapshot(dossier, draft) == before


def test_agent_of_another_centre_cannot_claim():
    owner, home, other = factories.citizen(), factories.CertFactory(), factories.CertFactory()
    dossier = _queued(owner, home)
    before = factories.snapshot(dossier)
    with pytest.raises(states.TransitionNotAllowed):
        transitions.dossier_transition(dossier=dossier, to=State.IN_REVIEW, actor=factories.agent(cert=other))
    assert factories.snapshot(dossier) == before
    claimed = transitions.dossier_transition(
        dossier=dossier,
        to=State.IN_REVIEW,
        actor=(a := factories.agent(cert=home)),
        changes={"claimed_by": a},
    )
    assert claimed.state == State.IN_REVIEW and claimed.claimed_by == a


def test_another_citizen_cannot_withdraw_my_dossier():
    owner, stranger = factories.citizen(), factories.citizen()
    dossier = factories.draft(filed_by=owner)
    before = factories.snapshot(dossier)
    with pytest.raises(states.TransitionNotAllowed):
        services.dossier_withdraw(dossier=dossier, actor=stranger)
    assert factories.snapshot(dossier) == before
    assert services.dossier_withdraw(dossier=dossier, actor=owner).state == State.WITHDRAWN


def test_leaving_review_clears_the_agent_and_decision_sets_decided_at():
    owner, cert = factories.citizen(), factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = _queued(owner, cert)
    transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    transitions.dossier_transition(
        dossier=dossier, to=State.REJECTED, actor=agent, reason="Pièces falsifiées"
    )
    dossier.refresh_from_db()
    assert dossier.claimed_by is None and dossier.decided_at is not None and dossier.closed_at is not None
    assert dossier.due_at is None
    assert dossier.events.last().reason == "Pièces falsifiées"


def test_follow_up_runs_after_commit_and_not_after_rollback(django_capture_on_commit_callbacks):
    seen: list[list[int]] = []
    transitions.register_on_enter(State.SUBMITTED, seen.append)
    try:
        owner = factories.citizen()
        rolled_back = factories.draft(filed_by=owner)
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            services.dossier_submit(dossier=rolled_back, actor=owner)
            raise RuntimeError("boom")
        assert seen == []
        rolled_back.refresh_from_db()
        assert rolled_back.state == State.DRAFT

        committed = factories.draft(filed_by=owner)
        with django_capture_on_commit_callbacks(execute=True):
            services.dossier_submit(dossier=committed, actor=owner)
        assert seen == [[committed.pk]]
    finally:
        transitions._ON_ENTER[State.SUBMITTED].remove(seen.append)


def test_events_refuse_update_and_delete_through_the_orm():
    owner = factories.citizen()
    event = factories.draft(filed_by=owner, paid=False).events.get()
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_database_trigger_refuses_update_and_delete_of_events(postgres):
    owner = factories.citizen()
    dossier = factories.draft(filed_by=owner, paid=False)
    for statement in (
        "UPDATE dossiers_dossierevent SET reason = 'x' WHERE dossier_id = %s",
        "DELETE FROM dossiers_dossierevent WHERE dossier_id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [dossier.pk])
    assert DossierEvent.objects.filter(dossier=dossier).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_of_the_same_dossier_cannot_both_succeed(postgres):
    owner, cert = factories.citizen(), factories.CertFactory()
    for _round in range(5):
        # Fresh agents each round: the winner of a round is still reviewing its dossier.
        agents = [factories.agent(cert=cert) for _ in range(2)]
        # Written straight into the queue: with tasks in-process (no REDIS_URL), a real submission
        # would be checked and routed on commit by the time it is queued here.
        (dossier,) = factories.queued_dossiers(cert=cert, owner=owner)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def claim(agent, dossier_id=dossier.pk, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                transitions.dossier_transition(
                    dossier=dossier_id, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
                )
                outcomes.append("ok")
            except states.TransitionNotAllowed:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["ok", "refused"]
        assert Dossier.objects.get(pk=dossier.pk).events.filter(to_state=State.IN_REVIEW).count() == 1


def test_bulk_transition_moves_only_the_dossiers_that_may_move_and_audits_each(django_assert_max_num_queries):
    owner, cert = factories.citizen(), factories.CertFactory()
    submitted = [
        services.dossier_submit(dossier=factories.draft(filed_by=owner), actor=owner) for _ in range(4)
    ]
    still_draft = factories.draft(filed_by=owner)
    ids = [d.pk for d in submitted] + [still_draft.pk]
    changes = {d.pk: {"cert": cert} for d in submitted}
    with django_assert_max_num_queries(8):
        moved = transitions.dossier_transition_many(
            dossier_ids=ids, to=State.QUEUED, actor=None, changes=changes
        )
    assert sorted(moved) == sorted(d.pk for d in submitted)
    assert set(Dossier.objects.filter(pk__in=moved).values_list("state", "cert")) == {(State.QUEUED, cert.pk)}
    assert Dossier.objects.get(pk=still_draft.pk).state == State.DRAFT
    assert DossierEvent.objects.filter(dossier_id__in=moved, to_state=State.QUEUED).count() == 4
    # A rerun finds nothing left to move and writes nothing.
    assert transitions.dossier_transition_many(dossier_ids=ids, to=State.QUEUED, actor=None) == []
    assert DossierEvent.objects.filter(to_state=State.QUEUED).count() == 4


STATE_CHANGE_FIELDS = ("state", "review_started_at", "decided_at", "closed_at", "due_at", "claimed_by_id")


def _state_change_fields(dossier_id):
    dossier = Dossier.objects.get(pk=dossier_id)
    return {name: getattr(dossier, name) for name in STATE_CHANGE_FIELDS}


@pytest.mark.parametrize("use_bulk", [False, True], ids=["single", "set-based"])
def test_single_and_set_based_transitions_write_the_same_state_change(use_bulk):
    owner, cert = factories.citizen(), factories.CertFactory()
    agent = factories.agent(cert=cert)
    dossier = _queued(owner, cert)
    claimed = dossier_claim_next(agent=agent, order=("-priority", "queued_at", "pk"))
    assert claimed.pk == dossier.pk
    after_claim = _state_change_fields(dossier.pk)
    assert after_claim["state"] == State.IN_REVIEW and after_claim["claimed_by_id"] == agent.pk
    assert after_claim["due_at"] - after_claim["review_started_at"] == states.clock(State.IN_REVIEW)

    if use_bulk:
        moved = transitions.dossier_transition_many(dossier_ids=[dossier.pk], to=State.REJECTED, actor=agent)
        assert moved == [dossier.pk]
    else:
        transitions.dossier_transition(dossier=dossier.pk, to=State.REJECTED, actor=agent)
    after = _state_change_fields(dossier.pk)
    assert after["state"] == State.REJECTED
    assert after["claimed_by_id"] is None and after["due_at"] is None
    assert after["decided_at"] is not None and after["closed_at"] == after["decided_at"]
    assert after["review_started_at"] == after_claim["review_started_at"]
