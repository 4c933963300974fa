"""Complements: what an agent may ask for, the applicant's deadline, the request itself, the answer
that queues the dossier again, and the refusal once the deadline passed (every write of a
ComplementRequest and its items is here)."""

import calendar
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.checks.services import checks_run_queued
from cert_workflow.models import (
    COMPLEMENT_HOLDER_FIELDS,
    COMPLEMENT_ITEM_CHOICES,
    COMPLEMENT_VEHICLE_FIELDS,
    ComplementItem,
    ComplementRequest,
)
from dossiers import states
from dossiers.cleaning import holder_clean
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Document, DocumentKind, Dossier, Holder, State
from dossiers.selectors import dossier_mail_recipients
from dossiers.transitions import actor_may_act_on, dossier_transition, dossier_transition_many, event_record
from portal.mail import mail_render, mail_send_many
from portal.models import User

# A dossier whose applicant answered a complement request comes back ahead of new work.
COMPLEMENT_PRIORITY = 10

VEHICLE_FIELDS = tuple(COMPLEMENT_VEHICLE_FIELDS)
HOLDER_FIELDS = tuple(COMPLEMENT_HOLDER_FIELDS)


def document_items() -> list[tuple[str, str]]:
    """The document kinds a complement request may ask for, with their French labels."""
    return [(value, str(label)) for value, label in DocumentKind.choices]


def field_items() -> list[tuple[str, str]]:
    """The vehicle and holder fields (docs/domain/FIELDS.md names) an agent may ask to be corrected."""
    return [
        (name, str(label))
        for name, label in {**COMPLEMENT_VEHICLE_FIELDS, **COMPLEMENT_HOLDER_FIELDS}.items()
    ]


def complement_items() -> list[tuple[str, str]]:
    """What a complement request may ask for (the choices of ComplementItem.code): document kinds,
    then vehicle and holder fields, with their French labels."""
    return [(code, str(label)) for code, label in COMPLEMENT_ITEM_CHOICES]


def complement_deadline(*, now: datetime) -> datetime:
    """The end (local time) of the same day one month after `now`, clamped to the month's last day."""
    local = timezone.localtime(now)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return timezone.make_aware(datetime(year, month, day, 23, 59, 59))


def complement_request_open(
    *, dossier: Dossier, agent: User, items: Sequence[str], message: str, deadline: datetime
) -> ComplementRequest:
    """The request of a dossier the caller is moving to awaiting_complement, with one ComplementItem
    per item in the order given. Items are known codes (decisions.decision_clean); the caller owns
    the transaction."""
    request = ComplementRequest.objects.create(
        dossier=dossier, cert_id=dossier.cert_id, message=message, requested_by=agent, deadline=deadline
    )
    ComplementItem.objects.bulk_create([ComplementItem(request=request, code=code) for code in items])
    return request


def complement_item_labels(*, request: ComplementRequest) -> list[str]:
    """What `request` asks for, in French, in the order asked (prefetch `items` for many requests)."""
    return [item.get_code_display() for item in request.items.all()]


def complement_answer(*, dossier: Dossier, actor: User) -> Dossier:
    """The applicant answered the open complement request: the dossier is queued again in the
    centre that asked, ahead of new work (priority at least COMPLEMENT_PRIORITY). Refused
    (InvalidInput, a 400 naming each item still missing, nothing written) unless every requested
    document was uploaded since the request and every requested field corrected."""
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
        # Past the deadline the request is closed even before the sweep refuses the dossier.
        if locked.state != State.AWAITING_COMPLEMENT or request is None or request.deadline <= timezone.now():
            raise states.TransitionNotAllowed(locked.state, State.QUEUED, states.role_of(actor))
        missing = _complement_missing(dossier=locked, request=request)
        if missing:
            raise InvalidInput(missing)
        now = timezone.now()
        request.answered_at = now
        request.save(update_fields=["answered_at"])
        queued = dossier_transition(
            dossier=dossier,
            to=State.QUEUED,
            actor=actor,
            data={"complement_request": request.pk},
            changes={"cert": request.cert, "priority": max(locked.priority, COMPLEMENT_PRIORITY)},
        )
        # The answer changed what the checks read (pieces, holder fields): the agent decides on
        # current results, never against a failure the answer has since cured.
        checks_run_queued(dossier_ids=[locked.pk])
        return queued


# The event of a holder's fields corrected in answer to a complement request.
FIELDS_CORRECTED = "complement_fields_corrected"


def complement_holder_inputs(*, codes: Sequence[str]) -> list[str]:
    """The holder fields the applicant types to answer the holder items `codes`, in that order: the
    department is derived from the postcode, so asking for it asks for the postcode."""
    inputs: list[str] = []
    for code in codes:
        name = "postcode" if code == "department" else code
        if code in HOLDER_FIELDS and name not in inputs:
            inputs.append(name)
    return inputs


def complement_holder_clean(*, dossier: Dossier, request: ComplementRequest, values: dict[str, Any]) -> dict:
    """The holder fields of `values` checked as dossiers.cleaning.holder_clean checks a whole holder
    (the dossier's holder with these fields replaced): the clean values of the fields typed, and the
    department when the postcode is. InvalidInput naming each field refused, or each field given
    that `request` did not ask for (the applicant corrects only what the agent asked)."""
    asked = complement_holder_inputs(codes=[item.code for item in request.items.all()])
    unasked = [name for name in values if name not in asked]
    if unasked:
        raise InvalidInput(
            [
                FieldError(
                    name, "not_requested", _("Ce champ n'est pas demandé : il ne peut pas être modifié.")
                )
                for name in unasked
            ]
        )
    holder = dossier.holder
    current = {
        name: getattr(holder, name)
        for name in (
            "holder_kind",
            "last_name",
            "first_names",
            "company_name",
            "siret",
            "email",
            "address_line",
            "postcode",
            "city",
        )
    }
    current["birth_date"] = holder.birth_date.isoformat() if holder.birth_date else ""
    merged = {**current, **values}
    clean = holder_clean(merged, prefix="")
    changed = {name: clean[name] for name in values}
    if "postcode" in changed:
        changed["department"] = clean["department"]
    return changed


def complement_fields_correct(*, dossier: Dossier, actor: User, values: dict[str, Any]) -> Holder:
    """Correct the holder fields the open complement request asks for (and only those), checked
    by complement_holder_clean, written with update_fields and recorded in the audit (the names of
    the fields, not their values). Vehicle facts are never typed: the register or the certificate
    of conformity decides them, so a vehicle item is answered by a supporting document."""
    if actor.role not in states.OWNER_ROLES or not actor_may_act_on(actor=actor, dossier=dossier):
        raise PermissionDenied(_("Seul le demandeur répond à une demande de complément."))
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().select_related("holder").get(pk=dossier.pk)
        request = (
            ComplementRequest.objects.filter(
                dossier=locked, answered_at__isnull=True, expired_at__isnull=True
            )
            .prefetch_related("items")
            .first()
        )
        if locked.state != State.AWAITING_COMPLEMENT or request is None or request.deadline <= timezone.now():
            raise states.TransitionNotAllowed(locked.state, State.QUEUED, states.role_of(actor))
        changed = complement_holder_clean(dossier=locked, request=request, values=values)
        holder = locked.holder
        for name, value in changed.items():
            setattr(holder, name, value)
        if changed:
            holder.save(update_fields=list(changed))
            event_record(
                dossier=locked,
                actor=actor,
                action=FIELDS_CORRECTED,
                data={"complement_request": request.pk, "fields": sorted(changed)},
            )
    return holder


def _complement_missing(*, dossier: Dossier, request: ComplementRequest) -> list[FieldError]:
    """What `request` asked for and the dossier does not carry yet, one FieldError per item: a
    requested document kind needs a document of that kind uploaded since the request. A requested
    holder field is answered by its correction (complement_fields_correct) since the request, or by
    a supporting document; a requested vehicle field by a supporting document (kind « Autre »)
    uploaded since the request that shows the right value: the applicant does not rewrite vehicle
    facts, the agent who reads it decides what the title says."""
    document_kinds = set(DocumentKind.values)
    uploaded_since = set(
        Document.objects.filter(dossier=dossier, created_at__gte=request.requested_at).values_list(
            "kind", flat=True
        )
    )
    corrected: set[str] = set()
    for data in dossier.events.filter(
        action=FIELDS_CORRECTED, created_at__gte=request.requested_at
    ).values_list("data", flat=True):
        corrected.update(data.get("fields", []))
    errors = []
    for item in request.items.all():
        label = item.get_code_display()
        if item.code in HOLDER_FIELDS and (
            item.code in corrected or (item.code == "department" and "postcode" in corrected)
        ):
            continue
        if item.code in document_kinds:
            if item.code not in uploaded_since:
                errors.append(
                    FieldError(
                        item.code,
                        "complement_document_missing",
                        _("Pièce demandée non déposée depuis la demande : %(label)s.") % {"label": label},
                    )
                )
        elif DocumentKind.OTHER not in uploaded_since:
            errors.append(
                FieldError(
                    item.code,
                    "complement_field_proof_missing",
                    _(
                        "Champ à corriger : %(label)s. Déposez une pièce (type « Autre ») qui montre "
                        "la bonne valeur."
                    )
                    % {"label": label},
                )
            )
    return errors


def complement_expire_many(
    *, dossier_ids: list[int], now: datetime, audit: dict[str, Any] | None = None
) -> list[int]:
    """Refuse those of the row-locked `dossier_ids` still awaiting a complement, mark their open
    request expired and, once committed, tell each applicant (and holder) by e-mail; the ids
    refused. `audit` is added to each transition's event data. The caller owns the transaction."""
    moved = dossier_transition_many(
        dossier_ids=dossier_ids,
        to=State.REJECTED,
        actor=None,
        reason=_("Le complément demandé n'a pas été fourni dans le délai : la demande est refusée."),
        data={pk: dict(audit or {}) for pk in dossier_ids},
    )
    ComplementRequest.objects.filter(
        dossier_id__in=moved, answered_at__isnull=True, expired_at__isnull=True
    ).update(expired_at=now)
    notices = _expiry_notices(dossier_ids=moved)
    # The mail leaves only once the refusal is committed, and outside the transaction.
    transaction.on_commit(lambda: mail_send_many(messages=notices, purpose="complement-expiry notices"))
    return moved


def _expiry_notices(*, dossier_ids: list[int]) -> list[EmailMessage]:
    """The e-mails telling each applicant (and the holder) that their dossier was closed."""
    messages = []
    rows = Dossier.objects.filter(pk__in=dossier_ids).select_related("holder", "applicant", "filed_by")
    for dossier in rows.order_by("pk"):
        recipients = dossier_mail_recipients(dossier=dossier)
        if not recipients:
            continue
        context = {
            "reference": dossier.reference,
            "procedure": dossier.get_procedure_display(),
            # The dossier's page, where the refusal and its reason are shown.
            "url": settings.SITE_URL + reverse("dossier-detail", kwargs={"reference": dossier.reference}),
        }
        messages.append(mail_render(to=recipients, template="complement_expired", context=context))
    return messages
