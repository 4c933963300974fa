"""The agent's side of instruction: claiming under a lease, decisions, complements, bulk approval,
and the reads behind the queue, review and search pages.

Every state change goes through dossiers.services.dossier_transition (one dossier, row lock, audit
event). A lease is the in_review clock: Dossier.due_at while claimed_by is set.
"""

import base64
import binascii
import calendar
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, QuerySet, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.enqueue import task_enqueue
from cert_workflow.models import CheckResult, ComplementRequest, Risk, SweepAction
from dossiers import states
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, Holder, State, Vehicle
from dossiers.selectors import dossier_events, dossier_get, dossiers_for_user
from dossiers.services import dossier_claim_next, dossier_transition
from portal.models import Role, User

# The order agents take work in; the partial index dossier_queue_idx serves it (pk breaks the ties
# of dossiers routed in the same batch, which share their queued_at).
CLAIM_ORDER = ("-priority", "queued_at", "pk")
# A dossier whose applicant answered a complement request comes back ahead of new work.
COMPLEMENT_PRIORITY = 10
REVIEWER_ROLES = states.REVIEW_ROLES


class Decision(TextChoices):
    APPROVE = "approve", gettext_lazy("Accepter")
    REJECT = "reject", gettext_lazy("Refuser")
    REQUEST_COMPLEMENT = "request_complement", gettext_lazy("Demander un complément")


# Why a dossier is refused: stable codes for the API and the audit, French labels for people.
REJECT_REASONS: dict[str, Any] = {
    "document_forged": gettext_lazy("Pièce falsifiée ou non authentique"),
    "document_unreadable": gettext_lazy("Pièce illisible ou incomplète"),
    "identity_mismatch": gettext_lazy("Identité du demandeur ou du titulaire non établie"),
    "vehicle_data_mismatch": gettext_lazy("Caractéristiques du véhicule contraires aux pièces"),
    "seller_not_owner": gettext_lazy("Le vendeur n'est pas le titulaire du certificat"),
    "vehicle_opposed": gettext_lazy("Véhicule volé, gagé ou frappé d'opposition"),
    "fees_not_paid": gettext_lazy("Taxes non acquittées"),
    "procedure_not_applicable": gettext_lazy("Démarche non applicable à ce véhicule"),
    "other": gettext_lazy("Autre motif (préciser)"),
}

# French labels of the FIELDS.md names an agent may ask to be corrected, with the certificate code.
_VEHICLE_FIELD_LABELS = {
    "vin": gettext_lazy("E — VIN"),
    "plate": gettext_lazy("A — Immatriculation"),
    "first_registration_date": gettext_lazy("B — Date de première immatriculation"),
    "make": gettext_lazy("D.1 — Marque"),
    "type_variant_version": gettext_lazy("D.2 — Type variante version"),
    "cnit": gettext_lazy("D.2.1 — CNIT"),
    "commercial_name": gettext_lazy("D.3 — Dénomination commerciale"),
    "max_mass_kg": gettext_lazy("F.1 — Masse max techniquement admissible"),
    "ptac_kg": gettext_lazy("F.2 — PTAC"),
    "ptra_kg": gettext_lazy("F.3 — PTRA"),
    "mass_kg": gettext_lazy("G — Masse en service"),
    "empty_mass_kg": gettext_lazy("G.1 — Poids à vide national"),
    "eu_category": gettext_lazy("J — Catégorie CE"),
    "genre": gettext_lazy("J.1 — Genre national"),
    "eu_body": gettext_lazy("J.2 — Carrosserie CE"),
    "body": gettext_lazy("J.3 — Carrosserie nationale"),
    "approval_number": gettext_lazy("K — Numéro de réception"),
    "displacement_cm3": gettext_lazy("P.1 — Cylindrée"),
    "power_kw": gettext_lazy("P.2 — Puissance nette max"),
    "energy": gettext_lazy("P.3 — Énergie"),
    "fiscal_power": gettext_lazy("P.6 — Puissance administrative"),
    "seats": gettext_lazy("S.1 — Places assises"),
    "standing_places": gettext_lazy("S.2 — Places debout"),
    "co2_g_km": gettext_lazy("V.7 — CO2"),
    "euro_class": gettext_lazy("V.9 — Classe environnementale"),
}
_HOLDER_FIELD_LABELS = {
    "holder_kind": gettext_lazy("Type de titulaire"),
    "last_name": gettext_lazy("C.1 — Nom"),
    "first_names": gettext_lazy("C.1 — Prénoms"),
    "birth_date": gettext_lazy("Date de naissance"),
    "company_name": gettext_lazy("C.1 — Raison sociale"),
    "siret": gettext_lazy("SIRET"),
    "email": gettext_lazy("Courriel"),
    "address_line": gettext_lazy("C.3 — Adresse"),
    "postcode": gettext_lazy("C.3 — Code postal"),
    "city": gettext_lazy("C.3 — Commune"),
    "department": gettext_lazy("Département"),
}


VEHICLE_FIELDS = tuple(_VEHICLE_FIELD_LABELS)
HOLDER_FIELDS = tuple(_HOLDER_FIELD_LABELS)


def document_items() -> list[tuple[str, str]]:
    """The document kinds a complement request may ask for, with their French labels."""
    return [(value, str(label)) for value, label in DocumentKind.choices]


def field_items() -> list[tuple[str, str]]:
    """The vehicle and holder fields (FIELDS.md names) an agent may ask to be corrected."""
    return [(name, str(label)) for name, label in {**_VEHICLE_FIELD_LABELS, **_HOLDER_FIELD_LABELS}.items()]


def complement_items() -> list[tuple[str, str]]:
    """What a complement request may ask for: document kinds, then vehicle and holder fields."""
    return document_items() + field_items()


class LeaseNotHeld(Exception):
    """The caller does not hold a live lease on the dossier (expired, someone else's, or none)."""

    def __init__(self, rule: str, message: str):
        self.rule, self.message = rule, message
        super().__init__(message)


@dataclass(frozen=True)
class CleanDecision:
    decision: str
    target: str
    reason_code: str = ""
    message: str = ""
    items: tuple[str, ...] = ()


_TARGETS = {
    Decision.APPROVE: State.APPROVED,
    Decision.REJECT: State.REJECTED,
    Decision.REQUEST_COMPLEMENT: State.AWAITING_COMPLEMENT,
}


def decision_clean(
    *, decision: str, reason: str = "", message: str = "", items: list[str] | None = None
) -> CleanDecision:
    """A decision whose reason and items are known codes, or InvalidInput saying which is wrong."""
    errors: list[FieldError] = []
    reason, message = (reason or "").strip(), (message or "").strip()
    if decision not in Decision.values:
        raise InvalidInput(
            [FieldError("decision", "choice", _("Décision inconnue."), ", ".join(Decision.values))]
        )
    clean_items: tuple[str, ...] = ()
    if decision == Decision.REJECT:
        if reason not in REJECT_REASONS:
            errors.append(
                FieldError(
                    "reason",
                    "choice" if reason else "required",
                    _("Choisissez le motif du refus dans la liste."),
                    ", ".join(REJECT_REASONS),
                )
            )
        elif reason == "other" and not message:
            errors.append(
                FieldError("message", "required", _("Précisez le motif du refus."), _("un texte libre"))
            )
    if decision == Decision.REQUEST_COMPLEMENT:
        allowed = dict(complement_items())
        wanted = list(dict.fromkeys(items or []))
        if not wanted:
            errors.append(
                FieldError(
                    "items",
                    "required",
                    _("Indiquez au moins une pièce ou un champ à compléter."),
                    _("des types de pièce ou des noms de champ"),
                )
            )
        unknown = [item for item in wanted if item not in allowed]
        if unknown:
            errors.append(
                FieldError(
                    "items",
                    "choice",
                    _("Pièce ou champ inconnu : %(items)s.") % {"items": ", ".join(map(str, unknown))},
                    ", ".join(allowed),
                )
            )
        clean_items = tuple(wanted)
    if errors:
        raise InvalidInput(errors)
    return CleanDecision(
        decision=decision,
        target=_TARGETS[decision],
        reason_code=reason if decision == Decision.REJECT else "",
        message=message,
        items=clean_items,
    )


def complement_deadline(*, now: datetime) -> datetime:
    """The end (local time) of the same day one month after `now`, clamped to the month's last day."""
    local = timezone.localtime(now)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return timezone.make_aware(datetime(year, month, day, 23, 59, 59))


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------


def _require_reviewer(user: User) -> None:
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


def _locked_in_review(*, dossier: Dossier, actor: User, to: str) -> Dossier:
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
    two agents never get the same dossier.
    """
    if agent.role != Role.AGENT or agent.cert_id is None:
        raise PermissionDenied(_("Seuls les instructeurs d'un CERT prennent des dossiers dans la file."))
    return dossier_claim_next(agent=agent, order=CLAIM_ORDER)


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
    _require_reviewer(agent)
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


def dossier_decide(
    *,
    dossier: Dossier,
    agent: User,
    decision: str,
    reason: str = "",
    message: str = "",
    items: list[str] | None = None,
) -> Dossier:
    """Approve, reject (reason code + text) or ask for a complement (items, one-month deadline).

    Only the holder of the live lease, or a supervisor, decides; the complement pauses the clock
    (due_at = deadline) and opens a ComplementRequest for the applicant.
    """
    _require_reviewer(agent)
    clean = decision_clean(decision=decision, reason=reason, message=message, items=items)
    with transaction.atomic():
        locked = _locked_in_review(dossier=dossier, actor=agent, to=clean.target)
        data: dict[str, Any] = {"decision": clean.decision}
        changes: dict[str, Any] = {}
        text = clean.message
        if clean.decision == Decision.REJECT:
            label = str(REJECT_REASONS[clean.reason_code])
            text = f"{label} : {clean.message}" if clean.message else label
            data.update(reason_code=clean.reason_code, message=clean.message)
        elif clean.decision == Decision.REQUEST_COMPLEMENT:
            deadline = complement_deadline(now=timezone.now())
            request = ComplementRequest.objects.create(
                dossier=locked,
                cert_id=locked.cert_id,
                items=list(clean.items),
                message=clean.message,
                requested_by=agent,
                deadline=deadline,
            )
            data.update(complement_request=request.pk, items=list(clean.items), deadline=deadline.isoformat())
            changes["due_at"] = deadline
        return dossier_transition(
            dossier=dossier, to=clean.target, actor=agent, reason=text, data=data, changes=changes
        )


def complement_answer(*, dossier: Dossier, actor: User) -> Dossier:
    """The applicant answered the open complement request: the dossier is queued again in the
    centre that asked, ahead of new work (priority at least COMPLEMENT_PRIORITY)."""
    if actor.role not in states.OWNER_ROLES:
        raise PermissionDenied(_("Seul le demandeur répond à une demande de complément."))
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
        request = (
            ComplementRequest.objects.select_for_update()
            .select_related("cert")
            .filter(dossier=locked, answered_at__isnull=True, expired_at__isnull=True)
            .first()
        )
        if locked.state != State.AWAITING_COMPLEMENT or request is None:
            raise states.TransitionNotAllowed(locked.state, State.QUEUED, states.role_of(actor))
        now = timezone.now()
        request.answered_at = now
        request.save(update_fields=["answered_at"])
        return dossier_transition(
            dossier=dossier,
            to=State.QUEUED,
            actor=actor,
            data={"complement_request": request.pk},
            changes={"cert": request.cert, "priority": max(locked.priority, COMPLEMENT_PRIORITY)},
        )


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
    _require_reviewer(agent)
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
    _require_reviewer(agent)
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


# ---------------------------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------------------------


def queue_for_cert(*, cert_id: int) -> QuerySet[Dossier]:
    """The unclaimed dossiers of one centre in claim order, with what a queue row shows."""
    return (
        Dossier.objects.filter(cert_id=cert_id, state=State.QUEUED)
        .select_related("vehicle", "holder")
        .annotate(risk=F("assessment__risk"))
        .order_by(*CLAIM_ORDER)
    )


def queue_for_agent(*, agent: User) -> QuerySet[Dossier]:
    """The agent's centre's queue, in the order they will be given the dossiers."""
    if agent.role != Role.AGENT or agent.cert_id is None:
        return Dossier.objects.none()
    return queue_for_cert(cert_id=agent.cert_id)


QueueKey = tuple[int, datetime, int]  # (priority, queued_at, pk) of the last row of a page


def queue_page(
    *, queryset: QuerySet[Dossier], after: QueueKey | None = None, size: int = 50
) -> tuple[list[Dossier], QueueKey | None]:
    """One page of a queue (claim order) after the row `after`, and the key of the next page or None.

    Keyset, never OFFSET: the same-priority rest and the lower priorities are two range scans of
    the queue index (an OR over the three columns would not be a range).
    """
    if after is None:
        rows = list(queryset[: size + 1])
    else:
        priority, queued_at, pk = after
        rows = list(
            queryset.filter(priority=priority, queued_at__gte=queued_at).filter(
                Q(queued_at__gt=queued_at) | Q(pk__gt=pk)
            )[: size + 1]
        )
        if len(rows) <= size:
            rows += list(queryset.filter(priority__lt=priority)[: size + 1 - len(rows)])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, (last.priority, last.queued_at, last.pk)


def queue_cursor_encode(key: QueueKey) -> str:
    """An opaque, URL-safe cursor for the page after the row `key`."""
    priority, queued_at, pk = key
    raw = json.dumps([priority, queued_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def queue_cursor_decode(cursor: str) -> QueueKey:
    """The key of a cursor made by queue_cursor_encode, or InvalidInput."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        priority, queued_at, pk = json.loads(raw)
        key = (int(priority), datetime.fromisoformat(queued_at), int(pk))
        if key[1].tzinfo is None:
            raise ValueError("naive time")
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidInput(
            [
                FieldError(
                    "cursor", "invalid", _("Curseur de pagination invalide."), _("la valeur de « next »")
                )
            ]
        ) from exc
    return key


def held_dossier(*, agent: User) -> Dossier | None:
    """The dossier the agent is reviewing under a live lease, if any."""
    return Dossier.objects.filter(claimed_by=agent, due_at__gt=timezone.now()).first()


def dossier_for_agent(*, agent: User, reference: str) -> Dossier:
    """A dossier of the agent's centre (any for supervisors) with what the review page shows;
    Dossier.DoesNotExist outside their scope (a 404)."""
    if agent.role not in REVIEWER_ROLES:
        raise Dossier.DoesNotExist
    dossier = dossier_get(user=agent, reference=reference)
    dossier.documents_list = list(
        Document.objects.filter(dossier=dossier).order_by("kind", "created_at", "pk")
    )
    dossier.check_list = list(CheckResult.objects.filter(dossier=dossier).order_by("code"))
    dossier.complement_list = list(
        ComplementRequest.objects.filter(dossier=dossier)
        .select_related("requested_by")
        .order_by("-requested_at")
    )
    return dossier


def document_for_agent(*, agent: User, reference: str, document_id: int) -> Document:
    """One document of a dossier in the agent's scope; Document.DoesNotExist otherwise (a 404)."""
    if agent.role not in REVIEWER_ROLES:
        raise Document.DoesNotExist
    dossiers = dossiers_for_user(user=agent).filter(reference=reference)
    return Document.objects.get(pk=document_id, dossier__in=dossiers)


@dataclass(frozen=True)
class SearchTerms:
    reference: str = ""
    plate: str = ""
    vin: str = ""
    name: str = ""

    def __bool__(self) -> bool:
        return bool(self.reference or self.plate or self.vin or self.name)


_REFERENCE = re.compile(r"CG-\d{4}-\d{7}")
_PLATE = re.compile(r"[A-Z]{2}\d{3}[A-Z]{2}")
_VIN_PART = re.compile(r"[0-9A-Z]{4,17}")


def search_terms(q: str) -> SearchTerms:
    """What a search box entry may be: a reference, a plate (dashes optional), part of a VIN
    (letters and digits), or part of a holder's name (no digit)."""
    text = " ".join((q or "").split())
    upper = text.upper()
    compact = re.sub(r"[\s-]", "", upper)
    if _REFERENCE.fullmatch(upper):
        return SearchTerms(reference=upper)
    plate = f"{compact[:2]}-{compact[2:5]}-{compact[5:]}" if _PLATE.fullmatch(compact) else ""
    vin = compact if _VIN_PART.fullmatch(compact) and any(c.isdigit() for c in compact) else ""
    name = text if len(text) >= 2 and not any(c.isdigit() for c in text) else ""
    return SearchTerms(plate=plate, vin=vin, name=name)


SEARCH_LIMIT = 50


def dossiers_search(*, user: User, q: str, limit: int = SEARCH_LIMIT) -> list[Dossier]:
    """Dossiers in `user`'s scope whose reference, plate, VIN or holder name matches `q`, newest first.

    Names and VIN fragments use the trigram indexes of migration 0002 on PostgreSQL.
    """
    terms = search_terms(q)
    if not terms:
        return []
    # At most one of the three below applies (a name has no digit, a VIN fragment has one), so
    # PostgreSQL sees one semi-join driven by a unique or trigram index, never an OR across tables.
    if terms.reference:
        match = Q(reference=terms.reference)
    elif terms.plate or terms.vin:
        vehicles = Q(vin__contains=terms.vin) if terms.vin else Q()
        if terms.plate:
            vehicles |= Q(plate=terms.plate)
        match = Q(vehicle_id__in=Vehicle.objects.filter(vehicles).values("pk"))
    else:
        holders = Holder.objects.filter(
            Q(last_name__icontains=terms.name) | Q(company_name__icontains=terms.name)
        )
        match = Q(holder_id__in=holders.values("pk"))
    return list(dossiers_for_user(user=user).filter(match).order_by("-created_at", "-pk")[:limit])


def lease_remaining(*, dossier: Dossier, now: datetime | None = None) -> timedelta | None:
    """How long the lease of an in-review dossier still runs (zero once expired); None otherwise."""
    if dossier.state != State.IN_REVIEW or dossier.due_at is None:
        return None
    return max(dossier.due_at - (now or timezone.now()), timedelta(0))


def events_for_dossier(*, dossier: Dossier) -> QuerySet:
    """The dossier's history, oldest first, with the actors."""
    return dossier_events(dossier=dossier)
