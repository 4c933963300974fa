"""An agent's decision on a dossier in review: approve, reject with a reason, or ask for a
complement."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.review.claim import locked_in_review, require_reviewer
from cert_workflow.review.complements import complement_deadline, complement_items, complement_request_open
from cert_workflow.review.selectors import CheckObjections, check_objections
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Dossier, State
from dossiers.transitions import dossier_transition
from portal.models import User


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


# An approval against the automatic checks is the agent's own judgement: it is confirmed and
# explained in words a later reader (a supervisor, an auditor) can follow, not in a click.
CONFIRM_REASON_MIN_LENGTH = 20
RULE_CHECKS_NOT_PASSED = "checks_not_passed"


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


def objections_message(objections: CheckObjections) -> str:
    """What an approval goes against, in one French sentence."""
    if objections.never_ran:
        return _("Les contrôles automatiques n'ont jamais été faits sur ce dossier.")
    count = len(objections.failed)
    return (
        _("Un contrôle automatique est non conforme.")
        if count == 1
        else _("%(count)d contrôles automatiques sont non conformes.") % {"count": count}
    )


def approval_confirmation_clean(*, objections: CheckObjections, confirm: bool, message: str) -> None:
    """InvalidInput unless an approval against failed or missing checks is confirmed and explained
    (CONFIRM_REASON_MIN_LENGTH characters at least); nothing to confirm when every check ran and none failed."""
    if not objections:
        return
    errors: list[FieldError] = []
    if not confirm:
        errors.append(
            FieldError(
                "confirm_checks",
                RULE_CHECKS_NOT_PASSED,
                objections_message(objections)
                + " "
                + _("Cochez la confirmation pour accepter le dossier malgré eux."),
                "true",
            )
        )
    if len(message) < CONFIRM_REASON_MIN_LENGTH:
        errors.append(
            FieldError(
                "message",
                "min_length" if message else "required",
                _(
                    "Expliquez en %(min)d caractères au moins pourquoi vous acceptez le dossier "
                    "malgré les contrôles automatiques."
                )
                % {"min": CONFIRM_REASON_MIN_LENGTH},
                _("un texte d'au moins %(min)d caractères") % {"min": CONFIRM_REASON_MIN_LENGTH},
            )
        )
    if errors:
        raise InvalidInput(errors)


def dossier_decide(
    *,
    dossier: Dossier,
    agent: User,
    decision: str,
    reason: str = "",
    message: str = "",
    items: list[str] | None = None,
    confirm_checks: bool = False,
) -> Dossier:
    """Approve, reject (reason code + text) or ask for a complement (items, one-month deadline).

    Only the holder of the live lease, or a supervisor, decides; the complement pauses the clock
    (due_at = deadline) and opens a ComplementRequest, one ComplementItem per item, for the applicant.
    An approval against failed checks, or on a dossier whose checks never ran, needs
    `confirm_checks` and a `message` saying why; both go into the audit event.
    """
    require_reviewer(agent)
    clean = decision_clean(decision=decision, reason=reason, message=message, items=items)
    with transaction.atomic():
        locked = locked_in_review(dossier=dossier, actor=agent, to=clean.target)
        data: dict[str, Any] = {"decision": clean.decision}
        changes: dict[str, Any] = {}
        text = clean.message
        if clean.decision == Decision.APPROVE:
            objections = check_objections(dossier=locked)
            approval_confirmation_clean(objections=objections, confirm=confirm_checks, message=clean.message)
            if objections:
                data["checks_confirmed"] = {
                    "failed": [result.code for result in objections.failed],
                    "never_ran": objections.never_ran,
                }
                text = _("Accepté malgré les contrôles automatiques. %(what)s Motif : %(reason)s") % {
                    "what": objections_message(objections),
                    "reason": clean.message,
                }
        elif clean.decision == Decision.REJECT:
            label = str(REJECT_REASONS[clean.reason_code])
            text = f"{label} : {clean.message}" if clean.message else label
            data.update(reason_code=clean.reason_code, message=clean.message)
        elif clean.decision == Decision.REQUEST_COMPLEMENT:
            deadline = complement_deadline(now=timezone.now())
            request = complement_request_open(
                dossier=locked, agent=agent, items=clean.items, message=clean.message, deadline=deadline
            )
            data.update(complement_request=request.pk, items=list(clean.items), deadline=deadline.isoformat())
            changes["due_at"] = deadline
        return dossier_transition(
            dossier=dossier, to=clean.target, actor=agent, reason=text, data=data, changes=changes
        )
