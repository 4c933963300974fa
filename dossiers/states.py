"""The life of a dossier: which state may follow which, who may move it, and each state's clock.

This module is the single source of truth for the workflow; dossiers.transitions (and the claim
statement of dossiers.claim, built from the same entries) is the only code that applies it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from dossiers.models import FINAL_STATES, State
from portal.models import Role

SYSTEM = "system"  # the actor role of tasks, sweeps and automatic decisions (actor=None)

OWNER_ROLES = frozenset({Role.CITIZEN, Role.DEALER})
REVIEW_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})

# {from_state: {to_state: roles allowed to make that move}}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    State.DRAFT: {
        State.SUBMITTED: OWNER_ROLES,
        State.WITHDRAWN: OWNER_ROLES | {SYSTEM},  # system: abandoned drafts expire (RGPD, 6 months)
    },
    State.SUBMITTED: {
        State.QUEUED: frozenset({SYSTEM}),  # checks done, needs a human: routed to a CERT
        State.APPROVED: frozenset({SYSTEM}),  # straight-through approval of a low-risk case
    },
    State.QUEUED: {
        State.IN_REVIEW: REVIEW_ROLES,  # an agent claims it
        State.WITHDRAWN: OWNER_ROLES,
    },
    State.IN_REVIEW: {
        State.APPROVED: REVIEW_ROLES,
        State.REJECTED: REVIEW_ROLES,
        State.AWAITING_COMPLEMENT: REVIEW_ROLES,
        State.QUEUED: REVIEW_ROLES | {SYSTEM},  # released by the agent, or the lease expired
    },
    State.AWAITING_COMPLEMENT: {
        State.QUEUED: OWNER_ROLES | {SYSTEM},  # complement answered: back to the same centre
        State.REJECTED: frozenset({SYSTEM}),  # no answer before the deadline
        State.WITHDRAWN: OWNER_ROLES,
    },
    State.APPROVED: {
        State.ISSUED: frozenset({SYSTEM}),  # the certificate is rendered and stored
    },
    State.ISSUED: {},
    State.REJECTED: {},
    State.WITHDRAWN: {},
}

# How long each open state may last before the sweep must act on it. Overridable in settings
# (DOSSIER_CLOCKS = {"in_review": {"minutes": 30}, ...}).
_DEFAULT_CLOCKS: dict[str, timedelta] = {
    State.DRAFT: timedelta(days=183),  # unmodified drafts are abandoned after 6 months
    State.SUBMITTED: timedelta(minutes=15),  # the automatic checks must have finished
    State.QUEUED: timedelta(days=5),  # service target; the rebalance moves what would miss it
    State.IN_REVIEW: timedelta(minutes=30),  # the agent's lease
    State.AWAITING_COMPLEMENT: timedelta(days=31),  # one month to answer
    State.APPROVED: timedelta(minutes=30),  # the certificate must be rendered
}

# The stage timestamp written when a dossier enters a state.
STAGE_FIELDS: dict[str, str] = {
    State.SUBMITTED: "submitted_at",
    State.QUEUED: "queued_at",
    State.IN_REVIEW: "review_started_at",
    State.APPROVED: "decided_at",
    State.REJECTED: "decided_at",
    State.ISSUED: "issued_at",
}


@dataclass(frozen=True)
class Entry:
    """What a change of state writes besides the state itself. The single, the set-based and the
    SQL paths (transitions.dossier_transition, dossier_transition_many, the claim statement) all
    write a state change from this, so that they cannot drift apart."""

    state: str
    stamped: tuple[str, ...]  # fields set to the time of the change: the stage, closed_at
    due_in: timedelta | None  # the new clock (due_at = time of the change + due_in), None: no clock
    releases_claim: bool  # leaving review: the agent no longer holds the dossier

    def values(self, *, now: datetime) -> dict[str, Any]:
        """The fields to write, by model field name (updated_at is the caller's)."""
        values: dict[str, Any] = {"state": self.state}
        values.update(dict.fromkeys(self.stamped, now))
        values["due_at"] = now + self.due_in if self.due_in else None
        if self.releases_claim:
            values["claimed_by"] = None
        return values


def entry(from_state: str, to_state: str) -> Entry:
    """What moving a dossier from `from_state` to `to_state` writes (the move itself is checked by
    check())."""
    stamped = tuple(
        name
        for name in (STAGE_FIELDS.get(to_state), "closed_at" if to_state in FINAL_STATES else None)
        if name is not None
    )
    return Entry(
        state=to_state,
        stamped=stamped,
        due_in=clock(to_state),
        releases_claim=from_state == State.IN_REVIEW,
    )


class TransitionNotAllowed(Exception):
    """The move is not in the table, or not for this actor. The API answers 409 Conflict."""

    def __init__(self, from_state: str, to_state: str, role: str):
        self.from_state, self.to_state, self.role = from_state, to_state, role
        allowed = sorted(TRANSITIONS.get(from_state, {}))
        if to_state in TRANSITIONS.get(from_state, {}):
            message = _(
                "Le passage de l'état « %(from)s » à « %(to)s » n'est pas permis au rôle « %(role)s »."
            )
        else:
            message = _(
                "Le dossier est à l'état « %(from)s » : il ne peut pas passer à « %(to)s » "
                "(états possibles : %(allowed)s)."
            )
        self.message = message % {
            "from": from_state,
            "to": to_state,
            "role": role,
            "allowed": ", ".join(allowed) or "aucun",
        }
        super().__init__(self.message)


def role_of(actor) -> str:
    return SYSTEM if actor is None else actor.role


def check(from_state: str, to_state: str, *, role: str) -> None:
    """Raise TransitionNotAllowed unless `role` may move a dossier from `from_state` to `to_state`."""
    if role not in TRANSITIONS.get(from_state, {}).get(to_state, frozenset()):
        raise TransitionNotAllowed(from_state, to_state, role)


def allowed_next(from_state: str, *, role: str) -> list[str]:
    return [to for to, roles in TRANSITIONS.get(from_state, {}).items() if role in roles]


def clock(state: str) -> timedelta | None:
    """How long a dossier may stay in `state` before its deadline; None for final states."""
    overrides = getattr(settings, "DOSSIER_CLOCKS", {}) or {}
    if state in overrides:
        return timedelta(**overrides[state])
    return _DEFAULT_CLOCKS.get(state)
