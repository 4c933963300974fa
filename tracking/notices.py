"""E-mails to the applicant at each change that concerns them: submitted, complement asked,
refused, and the complement deadline coming near. (The certificate issued and the refusal after
an unanswered complement have their own mails: cert_workflow's render_queue and complements.)

Each mail names the dossier and links to its page on the portal; documents are never attached
(they are downloaded from the page, behind the login). Mails leave after the change's commit: the
transition hooks run then (dossiers.transitions.register_on_enter), and the reminder sweep sends
once its claims are committed.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import formats, timezone

from cert_workflow.models import ComplementRequest
from dossiers import states, transitions
from dossiers.models import Dossier, DossierEvent, State
from dossiers.selectors import dossier_mail_recipients
from portal.mail import mail_render, mail_send_many

logger = logging.getLogger(__name__)


def dossier_url(*, reference: str) -> str:
    """The dossier's page, as an absolute link for a mail."""
    return settings.SITE_URL + reverse("dossier-detail", kwargs={"reference": reference})


def _context(dossier: Dossier) -> dict:
    return {
        "reference": dossier.reference,
        "procedure": dossier.get_procedure_display(),
        "plate": dossier.vehicle.plate or "",
        "vehicle": f"{dossier.vehicle.make} {dossier.vehicle.commercial_name}".strip(),
        "url": dossier_url(reference=dossier.reference),
    }


def _dossiers(dossier_ids: list[int]):
    return (
        Dossier.objects.filter(pk__in=dossier_ids)
        .select_related("holder", "vehicle", "applicant", "filed_by")
        .order_by("pk")
    )


def _local(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y à H:i") if moment else ""


def submitted_notices(*, dossier_ids: list[int]) -> list[EmailMessage]:
    """« Votre demande est déposée »: one per dossier submitted, but those of a dealer's batch,
    whose one acknowledgement says it for all (a 10,000-vehicle batch is not 10,000 mails)."""
    messages = []
    # Whatever the state now (the checks may have moved it on already): each was submitted.
    for dossier in _dossiers(dossier_ids).filter(filed_in_batch=False):
        recipients = dossier_mail_recipients(dossier=dossier)
        if recipients:
            messages.append(
                mail_render(to=recipients, template="dossier_submitted", context=_context(dossier))
            )
    return messages


def complement_notices(*, dossier_ids: list[int]) -> list[EmailMessage]:
    """« Un complément vous est demandé », with what is asked and by when."""
    messages = []
    requests = {
        request.dossier_id: request
        for request in ComplementRequest.objects.filter(
            dossier_id__in=dossier_ids, answered_at__isnull=True, expired_at__isnull=True
        ).prefetch_related("items")
    }
    for dossier in _dossiers(dossier_ids).filter(state=State.AWAITING_COMPLEMENT):
        request = requests.get(dossier.pk)
        recipients = dossier_mail_recipients(dossier=dossier)
        if request is None or not recipients:
            continue
        context = {
            **_context(dossier),
            "items": [str(item.get_code_display()) for item in request.items.all()],
            "deadline": _local(request.deadline),
        }
        messages.append(mail_render(to=recipients, template="complement_requested", context=context))
    return messages


def rejected_notices(*, dossier_ids: list[int]) -> list[EmailMessage]:
    """« Votre demande est refusée », with the reason, for a centre's refusal (the refusal of an
    unanswered complement has its own mail, complement_expired)."""
    messages = []
    # Each dossier's latest refusal, all in one query (a sweep refuses hundreds at once).
    refusals = {
        event.dossier_id: event
        for event in DossierEvent.objects.filter(
            dossier_id__in=dossier_ids, action="transition", to_state=State.REJECTED
        ).order_by("dossier_id", "created_at", "id")
    }
    for dossier in _dossiers(dossier_ids).filter(state=State.REJECTED):
        event = refusals.get(dossier.pk)
        recipients = dossier_mail_recipients(dossier=dossier)
        if event is None or event.actor_role == states.SYSTEM or not recipients:
            continue
        context = {**_context(dossier), "reason": event.reason}
        messages.append(mail_render(to=recipients, template="dossier_rejected", context=context))
    return messages


def reminder_message(*, request: ComplementRequest) -> EmailMessage | None:
    """« La date limite de votre complément approche » for one open request."""
    dossier = request.dossier
    recipients = dossier_mail_recipients(dossier=dossier)
    if not recipients:
        return None
    context = {
        **_context(dossier),
        "items": [str(item.get_code_display()) for item in request.items.all()],
        "deadline": _local(request.deadline),
    }
    return mail_render(to=recipients, template="complement_deadline_near", context=context)


def hook(build: Callable[..., list[EmailMessage]], purpose: str) -> Callable[[list[int]], None]:
    """A transition hook (run after commit) that sends the mails `build` makes for the dossier ids;
    a failure is logged and never turns the committed change into an error page."""

    def run(dossier_ids: list[int]) -> None:
        try:
            mail_send_many(messages=build(dossier_ids=dossier_ids), purpose=purpose)
        except Exception:
            logger.exception("notices: %s failed for %d dossiers", purpose, len(dossier_ids))

    run.__name__ = f"hook_{build.__name__}"
    return run


def hooks_register() -> None:
    """Send the applicant's mails after each transition that concerns them (called once, at start)."""
    transitions.register_on_enter(State.SUBMITTED, HOOKS["submitted"])
    transitions.register_on_enter(State.AWAITING_COMPLEMENT, HOOKS["complement"])
    transitions.register_on_enter(State.REJECTED, HOOKS["rejected"])


# Built once, so that registering twice (tests reloading apps) registers each hook once.
HOOKS = {
    "submitted": hook(submitted_notices, "submission notices"),
    "complement": hook(complement_notices, "complement notices"),
    "rejected": hook(rejected_notices, "refusal notices"),
}
