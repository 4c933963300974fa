"""What a supervisor does to a centre: its daily capacity, pausing and resuming it, moving its
oldest unclaimed dossiers to another centre. Each action is audited (SweepAction) and moves work
through the routing services, set-based."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from cert_workflow.models import RoutingDecision, SweepAction
from cert_workflow.routing.policy import SUPERVISOR
from cert_workflow.routing.services import (
    Move,
    Projection,
    centre_loads,
    moves_apply,
    queue_reroute,
    unclaimed,
)
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Cert
from portal.models import Role, User

CAPACITY_MAX = 100_000


def _require_supervisor(actor: User | None) -> None:
    if actor is None or not actor.is_active or actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied(_("Action réservée aux superviseurs."))


def _audit(*, kind: str, cert: Cert, actor: User, **data) -> None:
    SweepAction.objects.create(kind=kind, data={"cert": cert.code, "actor_id": actor.pk, **data})


def cert_set_capacity(*, cert: Cert, capacity: int, actor: User) -> Cert:
    """Set a centre's daily capacity (a whole number of dossiers, > 0), audited with the old value."""
    _require_supervisor(actor)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 < capacity <= CAPACITY_MAX:
        raise InvalidInput(
            [
                FieldError(
                    "daily_capacity",
                    "capacity_range",
                    _("La capacité journalière est un nombre entier de dossiers, supérieur à zéro."),
                    _("un entier de 1 à %(max)d") % {"max": CAPACITY_MAX},
                )
            ]
        )
    with transaction.atomic():
        locked = Cert.objects.select_for_update().get(pk=cert.pk)
        previous = locked.daily_capacity
        locked.daily_capacity = capacity
        locked.save(update_fields=["daily_capacity"])
        _audit(kind="cert_capacity_set", cert=locked, actor=actor, previous=previous, capacity=capacity)
    cert.daily_capacity = capacity
    return cert


def cert_pause(*, cert: Cert, actor: User) -> int:
    """Pause a centre: it gets no new work and its unclaimed dossiers go to the others by the policy.

    Claimed dossiers stay with their agents. Returns the number of dossiers rerouted; any left
    behind (being claimed at that instant) are rerouted by the next rebalance.
    """
    _require_supervisor(actor)
    with transaction.atomic():
        locked = Cert.objects.select_for_update().get(pk=cert.pk)
        if not Cert.objects.filter(active=True).exclude(pk=locked.pk).exists():
            raise InvalidInput(
                [
                    FieldError(
                        "cert",
                        "last_active_centre",
                        _("C'est le dernier centre actif : sa file n'aurait nulle part où aller."),
                        _("au moins un autre centre actif"),
                    )
                ]
            )
        if locked.active:
            locked.active = False
            locked.save(update_fields=["active"])
            _audit(kind="cert_paused", cert=locked, actor=actor)
        loads = centre_loads()
        rerouted = queue_reroute(
            source=locked.code,
            loads=loads,
            projection=Projection(loads),
            kind=RoutingDecision.Kind.PAUSE,
            actor=actor,
        )
    cert.active = False
    return rerouted


def cert_resume(*, cert: Cert, actor: User) -> Cert:
    """Reopen a paused centre to new work (routing and the rebalance then fill it)."""
    _require_supervisor(actor)
    with transaction.atomic():
        locked = Cert.objects.select_for_update().get(pk=cert.pk)
        if not locked.active:
            locked.active = True
            locked.save(update_fields=["active"])
            _audit(kind="cert_resumed", cert=locked, actor=actor)
    cert.active = True
    return cert


def dossiers_move_oldest(*, from_cert: Cert, to_cert: Cert, count: int, actor: User) -> int:
    """Move up to `count` of the oldest unclaimed dossiers of one centre to another; return how many.

    Only dossiers whose procedure the receiving centre handles; claimed ones never move.
    """
    _require_supervisor(actor)
    errors = []
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        errors.append(
            FieldError(
                "count",
                "count_positive",
                _("Le nombre de dossiers à déplacer doit être un entier supérieur à zéro."),
                _("un entier supérieur à zéro"),
            )
        )
    if from_cert.pk == to_cert.pk:
        errors.append(
            FieldError(
                "to_cert",
                "same_centre",
                _("Le centre de destination doit être différent du centre d'origine."),
                _("un autre centre"),
            )
        )
    with transaction.atomic():
        target = Cert.objects.select_for_update().get(pk=to_cert.pk)
        if not target.active:
            errors.append(
                FieldError(
                    "to_cert",
                    "centre_paused",
                    _("Le centre de destination est suspendu."),
                    _("un centre actif"),
                )
            )
        if errors:
            raise InvalidInput(errors)
        loads = centre_loads()
        waits = Projection(loads).waits()
        ids = list(
            unclaimed(cert=from_cert)
            .filter(procedure__in=target.procedures)
            .values_list("pk", flat=True)[:count]
        )
        moves = [Move(pk, from_cert.code, target.code, SUPERVISOR, waits) for pk in ids]
        moved = moves_apply(moves=moves, loads=loads, kind=RoutingDecision.Kind.MANUAL, actor=actor)
        SweepAction.objects.create(
            kind="dossiers_moved",
            data={
                "from": from_cert.code,
                "to": target.code,
                "asked": count,
                "moved": moved,
                "actor_id": actor.pk,
            },
        )
    return moved
