"""Claiming under a lease: the next dossier of the agent's centre, renewing and releasing it.

A lease is the in_review clock: Dossier.due_at while claimed_by is set. Every state change goes
through dossiers.transitions.dossier_transition (one dossier, row lock, audit event).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import Assessment
from dossiers import states
from dossiers.claim import dossier_claim_next
from dossiers.models import Dossier, State
from dossiers.transitions import dossier_transition
from portal.models import Role, User

# The order agents take work in; the partial index dossier_queue_idx serves it (pk breaks the ties
# of dossiers routed in the same batch, which share their queued_at).
CLAIM_ORDER = ("-priority", "queued_at", "pk")
REVIEWER_ROLES = states.REVIEW_ROLES


class LeaseNotHeld(Exception):
    """The caller does not hold a live lease on the dossier (expired, someone else's, or none)."""

    def __init__(self, rule: str, message: str):
        self.rule, self.message = rule, message
        super().__init__(message)


def require_reviewer(user: User) -> None:
    if user.role not in REVIEWER_ROLES:
        raise PermissionDenied(_("Seuls les instructeurs et les superviseurs instruisent les dossiers."))


def _lease_problem(*, dossier: Dossier, agent: User, now: datetime) -> LeaseNotHeld | None:
    """Why `agent` may not act on this in-review dossier as its lease holder, or None if they may."""
    if dossier.claimed_by_id != agent.pk:
        return LeaseNotHeld(
            "lease_not_held",
            _("Ce dossier est instruit par un autre agent : reprenez un dossier dans la file."),
        )
    if dossier.due_at is None or dossier.due_at <= now:
        return LeaseNotHeld(
            "lease_expired",
            _(
                "Votre réservation de ce dossier a expiré à %(time)s : il retourne dans la file. "
                "Reprenez-le avec « Prendre le dossier suivant »."
            )
            % {"time": timezone.localtime(dossier.due_at).strftime("%H:%M") if dossier.due_at else "?"},
        )
    return None


def locked_in_review(*, dossier: Dossier, actor: User, to: str) -> Dossier:
    """The dossier's row, locked; TransitionNotAllowed unless it is in review; LeaseNotHeld unless
    `actor` holds its live lease (supervisors act on any dossier in review)."""
    locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if locked.state != State.IN_REVIEW:
        raise states.TransitionNotAllowed(locked.state, to, states.role_of(actor))
    if actor.role == Role.AGENT:
        problem = _lease_problem(dossier=locked, agent=actor, now=timezone.now())
        if problem:
            raise problem
    return locked


def queue_claim_next(*, agent: User) -> Dossier | None:
    """The next dossier of the agent's centre, now in review under their lease; None if none waits.

    An agent works on one dossier at a time: while a dossier is in review under their name (even
    with an expired lease the sweep has not taken back yet), claiming gives back that dossier with
    a fresh lease instead of taking another. Concurrent claimers skip each other's locked rows, so
    two agents never get the same dossier. A dossier whose automatic checks never ran (no
    Assessment) is not handed out: the sweep runs its checks first (sweeps.checks_run_missing).
    """
    if agent.role != Role.AGENT or agent.cert_id is None:
        raise PermissionDenied(_("Seuls les instructeurs d'un CERT prennent des dossiers dans la file."))
    return dossier_claim_next(agent=agent, order=CLAIM_ORDER, ready=Assessment)


def lease_renew(*, dossier: Dossier, agent: User) -> Dossier:
    """Push the lease of a dossier `agent` holds one lease length ahead; LeaseNotHeld otherwise.

    A conditional UPDATE, so a sweep returning the expired dossier at the same moment wins cleanly.
    Not audited: renewals are frequent and change neither the state nor the holder.
    """
    now = timezone.now()
    due_at = now + states.clock(State.IN_REVIEW)
    renewed = Dossier.objects.filter(
        pk=dossier.pk, state=State.IN_REVIEW, claimed_by=agent, due_at__gt=now
    ).update(due_at=due_at, updated_at=now)
    if not renewed:
        current = Dossier.objects.get(pk=dossier.pk)
        if current.state != State.IN_REVIEW:
            raise states.TransitionNotAllowed(current.state, State.IN_REVIEW, states.role_of(agent))
        raise _lease_problem(dossier=current, agent=agent, now=now) or LeaseNotHeld(
            "lease_not_held", _("Vous ne détenez pas ce dossier.")
        )
    dossier.due_at, dossier.updated_at = due_at, now
    return dossier


def dossier_release(*, dossier: Dossier, agent: User) -> Dossier:
    """Give a dossier in review back to its centre's queue, at the place it had (queued_at kept).

    Its holder may release it even after the lease expired; a supervisor may release any.
    """
    require_reviewer(agent)
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if locked.state != State.IN_REVIEW:
            raise states.TransitionNotAllowed(locked.state, State.QUEUED, states.role_of(agent))
        if agent.role == Role.AGENT and locked.claimed_by_id != agent.pk:
            raise _lease_problem(dossier=locked, agent=agent, now=timezone.now())
        changes = {"queued_at": locked.queued_at} if locked.queued_at else {}
        return dossier_transition(
            dossier=dossier, to=State.QUEUED, actor=agent, data={"released": True}, changes=changes
        )
