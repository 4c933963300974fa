"""What a supervisor's action on a centre would do, shown before it is confirmed: how many dossiers
a pause sends to which centre, and which dossiers a move takes. Reads only, through the same
routing rules the actions apply (routing.services.reroute_plan), so the confirmation says what the
action does; dossiers claimed or queued in between can change the figures by a few, and the
action's own message then says what it did.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count

from cert_workflow.routing.services import Projection, centre_loads, reroute_plan
from dossiers.models import Cert, Dossier, State


@dataclass
class PausePreview:
    """A pause of `cert`: its queue spread over the other centres, what stays, what is refused."""

    cert: Cert
    # (receiving centre, dossiers it gets, its projected wait before and after), most dossiers first.
    receivers: list[tuple[Cert, int, float | None, float | None]] = field(default_factory=list)
    moving: int = 0
    # Queued dossiers no other active centre handles: they stay until one does.
    staying: int = 0
    # Dossiers under review: they stay with their agents.
    in_review: int = 0
    # Pausing the last active centre is refused (its queue would have nowhere to go).
    last_active: bool = False


def pause_preview(*, cert: Cert) -> PausePreview:
    """Where a pause of `cert` would send its unclaimed queue now, centre by centre (route_policy,
    oldest first, as cert_pause does: the centre counted as paused already)."""
    loads = centre_loads()
    preview = PausePreview(cert=cert, in_review=loads[cert.code].in_review if cert.code in loads else 0)
    preview.last_active = not Cert.objects.filter(active=True).exclude(pk=cert.pk).exists()
    if preview.last_active or cert.code not in loads:
        return preview
    loads[cert.code].cert.active = False  # an in-memory copy: as cert_pause sees it once paused
    projection = Projection(loads)
    before = projection.waits()
    rows = (
        Dossier.objects.filter(cert=cert, state=State.QUEUED)
        .order_by("queued_at", "pk")
        .values_list("pk", "procedure", "holder__department")
    )
    moves, preview.staying = reroute_plan(source=cert.code, loads=loads, projection=projection, rows=rows)
    counts: dict[str, int] = {}
    for move in moves:
        counts[move.to] = counts.get(move.to, 0) + 1
    after = projection.waits()
    preview.receivers = [
        (loads[code].cert, n, _hundredth(before.get(code)), _hundredth(after.get(code)))
        for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    preview.moving = len(moves)
    return preview


@dataclass
class MovePreview:
    """A move of up to `asked` of the oldest unclaimed dossiers of `source` to `target`."""

    source: Cert
    target: Cert
    asked: int
    moving: int
    # The queue of the source, and how many of its dossiers the target cannot take (procedure).
    queued: int
    not_handled: int
    oldest: datetime | None
    newest: datetime | None
    # Projected waits (days) of both centres, before and after.
    source_wait: tuple[float | None, float | None]
    target_wait: tuple[float | None, float | None]


def move_preview(*, source: Cert, target: Cert, count: int) -> MovePreview:
    """Which dossiers dossiers_move_oldest would move now: the oldest queued in `source` whose
    procedure `target` handles, up to `count` (the queue's partial index, in its order)."""
    queue = Dossier.objects.filter(cert=source, state=State.QUEUED)
    by_procedure = dict(queue.values_list("procedure").annotate(n=Count("id")).order_by())
    taken = list(
        queue.filter(procedure__in=target.procedures)
        .order_by("queued_at", "pk")
        .values_list("queued_at", flat=True)[:count]
    )
    loads = centre_loads()
    before = Projection(loads)
    after = Projection(loads)
    for _ in taken:
        after.move(to=target.code, source=source.code)
    return MovePreview(
        source=source,
        target=target,
        asked=count,
        moving=len(taken),
        queued=sum(by_procedure.values()),
        not_handled=sum(n for procedure, n in by_procedure.items() if procedure not in target.procedures),
        oldest=taken[0] if taken else None,
        newest=taken[-1] if taken else None,
        source_wait=(_hundredth(before.wait(source.code)), _hundredth(after.wait(source.code))),
        target_wait=(_hundredth(before.wait(target.code)), _hundredth(after.wait(target.code))),
    )


def _hundredth(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
