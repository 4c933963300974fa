"""Bulk approval of low-risk queued dossiers: one transaction per dossier, and a report of each
dossier approved or left alone with the reason, for the agent's page and the API's answer."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.models import CheckResult, Outcome, Risk, SweepAction
from cert_workflow.review.claim import require_reviewer
from cert_workflow.review.decisions import Decision
from dossiers import states
from dossiers.models import Dossier, State
from dossiers.selectors import dossiers_for_user
from dossiers.transitions import dossier_transition
from portal.models import Role, User

# References in one request: each is one transaction run while the caller waits, about 40 ms
# each on a loaded PostgreSQL, so that 100 stay a few seconds, far below gunicorn's 30 s timeout.
BULK_MAX = 100
BULK_APPROVED = "bulk_approved"
BULK_SKIPPED = "bulk_approve_skipped"
DECIDED = frozenset({State.APPROVED, State.ISSUED, State.REJECTED, State.WITHDRAWN})

# Why bulk approval left a dossier alone: stable codes for the API and the audit, French for people.
SKIP_REASONS: dict[str, Any] = {
    "not_in_scope": gettext_lazy("Introuvable dans votre centre."),
    "not_found": gettext_lazy("Introuvable."),
    "other_centre": gettext_lazy("N'est plus dans votre centre."),
    "in_review": gettext_lazy("En cours d'instruction : un agent l'a pris entre-temps."),
    "already_decided": gettext_lazy("Déjà décidé (accepté, refusé ou abandonné)."),
    "not_queued": gettext_lazy("N'attend pas d'instruction (complément demandé ou contrôles en cours)."),
    "not_assessed": gettext_lazy("Contrôles automatiques pas encore faits."),
    "check_failed": gettext_lazy("Un contrôle automatique a échoué : à instruire un par un."),
    "not_low_risk": gettext_lazy("Risque moyen ou élevé : à instruire un par un."),
    "locked": gettext_lazy("Modifié au même moment par une autre opération : réessayez."),
    "transition_not_allowed": gettext_lazy("Son état ne permet plus de l'accepter."),
}
UNKNOWN_REASON = gettext_lazy("Laissé de côté.")


@dataclass(frozen=True)
class BulkLine:
    """One selected dossier: approved, or skipped with the reason (a code of SKIP_REASONS)."""

    reference: str
    approved: bool
    reason: str = ""

    @property
    def reason_label(self) -> str:
        return str(SKIP_REASONS.get(self.reason, UNKNOWN_REASON)) if self.reason else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "outcome": "approved" if self.approved else "skipped",
            "reason": self.reason,
            "message": str(_("Accepté.")) if self.approved else self.reason_label,
        }


def _bulk_problem(*, dossier: Dossier, agent: User) -> str:
    """Why bulk approval must leave this (row-locked) dossier alone; "" when it may approve it."""
    if agent.role == Role.AGENT and dossier.cert_id != agent.cert_id:
        return "other_centre"
    if dossier.state != State.QUEUED:
        if dossier.state == State.IN_REVIEW:
            return "in_review"
        return "already_decided" if dossier.state in DECIDED else "not_queued"
    risk = dossier.risk
    if risk is None:
        return "not_assessed"
    # The assessment is the risk when the checks last ran: a failed check says more than a stale risk.
    if CheckResult.objects.filter(dossier_id=dossier.pk, outcome=Outcome.FAILED).exists():
        return "check_failed"
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


def bulk_approve_report(*, agent: User, references: list[str]) -> list[BulkLine]:
    """Approve the dossiers of `references` that bulk approval may approve, now, one transaction
    each; one line per reference in the order given (repeats once), approved or skipped with why.

    A reference outside the caller's scope is reported as not found in their centre, whether or not
    it exists elsewhere (as a 404 would), and nothing is written for it.
    """
    require_reviewer(agent)
    references = list(dict.fromkeys(references))
    found = dict(
        dossiers_for_user(user=agent).filter(reference__in=references).values_list("reference", "pk")
    )
    result = dossiers_bulk_approve(dossier_ids=list(found.values()), agent_id=agent.pk) if found else None
    approved = set(result["approved"]) if result else set()
    skipped = result["skipped"] if result else {}
    lines = []
    for reference in references:
        pk = found.get(reference)
        if pk is None:
            lines.append(BulkLine(reference=reference, approved=False, reason="not_in_scope"))
        else:
            lines.append(BulkLine(reference=reference, approved=pk in approved, reason=skipped.get(pk, "")))
    return lines
