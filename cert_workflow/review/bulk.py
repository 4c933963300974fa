"""Bulk approval of low-risk queued dossiers, one transaction per dossier, run by a task."""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from cert_workflow.enqueue import task_enqueue
from cert_workflow.models import Risk, SweepAction
from cert_workflow.review.claim import require_reviewer
from cert_workflow.review.decisions import Decision
from dossiers import states
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Dossier, State
from dossiers.selectors import dossiers_for_user
from dossiers.transitions import dossier_transition
from portal.models import Role, User

BULK_APPROVED = "bulk_approved"
BULK_SKIPPED = "bulk_approve_skipped"


def _bulk_problem(*, dossier: Dossier, agent: User) -> str:
    """Why bulk approval must leave this (row-locked) dossier alone; "" when it may approve it."""
    if dossier.state != State.QUEUED:
        return "not_queued"
    if agent.role == Role.AGENT and dossier.cert_id != agent.cert_id:
        return "other_centre"
    risk = dossier.risk
    if risk is None:
        return "not_assessed"
    if risk != Risk.LOW:
        return "not_low_risk"
    return ""


def dossiers_bulk_approve(*, dossier_ids: list[int], agent_id: int) -> dict[str, Any]:
    """Approve each selected low-risk queued dossier of the agent's centre on its own.

    One transaction per dossier: taken into review by the agent then approved (two audited transitions), or
    skipped with the reason recorded as a SweepAction; a rerun skips what is already approved.
    """
    agent = User.objects.get(pk=agent_id)
    require_reviewer(agent)
    approved: list[int] = []
    skipped: dict[int, str] = {}
    for dossier_id in sorted(set(dossier_ids)):
        with transaction.atomic():
            row = (
                Dossier.objects.select_for_update(skip_locked=True, of=("self",))
                .annotate(risk=F("assessment__risk"))
                .filter(pk=dossier_id)
                .first()
            )
            if row is None:
                exists = Dossier.objects.filter(pk=dossier_id).exists()
                problem = "locked" if exists else "not_found"
            else:
                problem = _bulk_problem(dossier=row, agent=agent)
            if not problem:
                try:
                    with transaction.atomic():
                        # Under review only for this transaction, by the agent (the event's
                        # actor) without their lease: they may be reviewing another dossier.
                        dossier_transition(
                            dossier=dossier_id, to=State.IN_REVIEW, actor=agent, data={"bulk": True}
                        )
                        dossier_transition(
                            dossier=dossier_id,
                            to=State.APPROVED,
                            actor=agent,
                            data={"decision": Decision.APPROVE, "bulk": True},
                        )
                except states.TransitionNotAllowed:
                    problem = "transition_not_allowed"
            known = problem not in ("not_found",)
            SweepAction.objects.create(
                kind=BULK_SKIPPED if problem else BULK_APPROVED,
                dossier_id=dossier_id if known else None,
                data={"agent": agent.pk, "dossier": dossier_id, **({"reason": problem} if problem else {})},
            )
        if problem:
            skipped[dossier_id] = problem
        else:
            approved.append(dossier_id)
    return {"approved": approved, "skipped": skipped}


def bulk_approve_start(*, agent: User, references: list[str]) -> int:
    """Schedule the bulk approval of these dossiers (in `agent`'s scope) after commit; the count.

    InvalidInput names the references outside the scope, and then nothing is scheduled.
    """
    require_reviewer(agent)
    references = list(dict.fromkeys(references))
    found = dict(
        dossiers_for_user(user=agent).filter(reference__in=references).values_list("reference", "pk")
    )
    unknown = [reference for reference in references if reference not in found]
    if unknown:
        raise InvalidInput(
            [
                FieldError(
                    "references",
                    "not_found",
                    _("Dossiers introuvables : %(references)s.") % {"references": ", ".join(unknown)},
                )
            ]
        )
    ids, agent_id = list(found.values()), agent.pk
    if ids:
        task_enqueue("cert_workflow.tasks.bulk_approve", ids, agent_id)
    return len(ids)
