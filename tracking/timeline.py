"""The audit of a dossier told in plain French: one sentence per event, never a stored code.

Pure functions over the event's fields, so that every state, action and actor has its sentence
and a test can walk the whole table. An action this module does not know still reads as a French
sentence (« Opération enregistrée sur le dossier. »), never as its code.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossiers.models import DocumentKind, State

# Moves between states, as the applicant reads them. Keys are (from, to); a missing pair falls back
# on ENTERED (the state reached).
MOVES: dict[tuple[str, str], str] = {
    (State.DRAFT, State.SUBMITTED): gettext_lazy("Vous avez déposé votre demande."),
    (State.DRAFT, State.WITHDRAWN): gettext_lazy("Le brouillon a été abandonné."),
    (State.SUBMITTED, State.QUEUED): gettext_lazy(
        "Les vérifications automatiques sont terminées : votre dossier a été confié à un centre "
        "d'instruction."
    ),
    (State.SUBMITTED, State.APPROVED): gettext_lazy(
        "Les vérifications automatiques sont concluantes : votre demande est acceptée."
    ),
    (State.QUEUED, State.IN_REVIEW): gettext_lazy(
        "Un agent du centre a commencé l'instruction de votre dossier."
    ),
    (State.QUEUED, State.WITHDRAWN): gettext_lazy("Vous avez abandonné votre demande."),
    (State.IN_REVIEW, State.APPROVED): gettext_lazy("Votre demande a été acceptée par le centre."),
    (State.IN_REVIEW, State.REJECTED): gettext_lazy("Votre demande a été refusée par le centre."),
    (State.IN_REVIEW, State.AWAITING_COMPLEMENT): gettext_lazy(
        "Le centre vous demande un complément (pièces ou informations)."
    ),
    (State.IN_REVIEW, State.QUEUED): gettext_lazy(
        "Votre dossier attend de nouveau qu'un agent du centre le reprenne."
    ),
    (State.AWAITING_COMPLEMENT, State.QUEUED): gettext_lazy(
        "Vous avez répondu à la demande de complément : votre dossier est retourné à son centre."
    ),
    (State.AWAITING_COMPLEMENT, State.REJECTED): gettext_lazy(
        "Le complément n'a pas été fourni dans le délai : la demande a été refusée."
    ),
    (State.AWAITING_COMPLEMENT, State.WITHDRAWN): gettext_lazy("Vous avez abandonné votre demande."),
    (State.APPROVED, State.ISSUED): gettext_lazy("Votre certificat d'immatriculation a été produit."),
}

ENTERED: dict[str, str] = {
    State.DRAFT: gettext_lazy("Le brouillon a été créé."),
    State.SUBMITTED: gettext_lazy("Votre demande a été déposée."),
    State.QUEUED: gettext_lazy("Votre dossier attend d'être instruit par un centre."),
    State.IN_REVIEW: gettext_lazy("Votre dossier est en cours d'instruction."),
    State.AWAITING_COMPLEMENT: gettext_lazy("Un complément vous est demandé."),
    State.APPROVED: gettext_lazy("Votre demande a été acceptée."),
    State.ISSUED: gettext_lazy("Votre certificat d'immatriculation a été produit."),
    State.REJECTED: gettext_lazy("Votre demande a été refusée."),
    State.WITHDRAWN: gettext_lazy("La demande a été abandonnée."),
}

# Events that are not a change of state, by action.
ACTIONS: dict[str, str] = {
    "created": gettext_lazy("Le brouillon de la demande a été créé."),
    "payment_recorded": gettext_lazy("Le paiement des taxes a été enregistré."),
    "complement_fields_corrected": gettext_lazy("Vous avez corrigé les informations demandées."),
    "complement_reminder_sent": gettext_lazy(
        "Un courriel vous a rappelé que la date limite du complément approche."
    ),
    # The sweep's and the issuing's records (cert_workflow.sweeps, cert_workflow.documents.issuing).
    "lease_expired": gettext_lazy(
        "L'instruction de votre dossier a été interrompue : un autre agent du centre la reprendra."
    ),
    "checks_requeued": gettext_lazy("Les vérifications automatiques de votre dossier ont été relancées."),
    "checks_run_queued": gettext_lazy("Les vérifications automatiques de votre dossier ont été faites."),
    "complement_expired": gettext_lazy("Le délai de réponse à la demande de complément est dépassé."),
    "draft_abandoned": gettext_lazy("Le brouillon, resté sans suite, a été abandonné."),
    "render_overdue": gettext_lazy("La production de votre document prend plus de temps que prévu."),
    "render_requeued": gettext_lazy("La production de votre document a été relancée."),
    "cpi_withdrawn": gettext_lazy("Le certificat provisoire d'immatriculation (CPI) a été retiré."),
    "document_withdrawn": gettext_lazy("Le certificat provisoire d'immatriculation (CPI) a été retiré."),
    "deadline_set": gettext_lazy("Une échéance a été fixée pour l'étape en cours."),
    # Routing and the rebalance (cert_workflow.routing.services.moves_apply).
    "rerouted": gettext_lazy(
        "Votre dossier a été confié à un autre centre d'instruction, pour être instruit plus vite."
    ),
}
UNKNOWN_ACTION = gettext_lazy("Opération enregistrée sur le dossier.")

# Who acted, as the applicant reads it (the actor's role of the event).
ACTORS: dict[str, str] = {
    "system": gettext_lazy("le portail"),
    "citizen": gettext_lazy("vous"),
    "dealer": gettext_lazy("le professionnel"),
    "agent": gettext_lazy("un agent du centre"),
    "supervisor": gettext_lazy("un responsable"),
    "admin": gettext_lazy("un responsable"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    detail: str  # the reason of a refusal, the agent's message, the kind of a document: or ""
    actor: str


def event_sentence(*, action: str, from_state: str, to_state: str, data: dict) -> str:
    """The French sentence of one audit event."""
    if action == "transition":
        text = MOVES.get((from_state, to_state)) or ENTERED.get(to_state) or UNKNOWN_ACTION
        return str(text)
    if action == "document_attached":
        kind = data.get("kind", "")
        label = DocumentKind(kind).label if kind in DocumentKind.values else _("pièce justificative")
        return _("Pièce ajoutée : %(kind)s.") % {"kind": label}
    return str(ACTIONS.get(action, UNKNOWN_ACTION))


def event_detail(*, action: str, to_state: str, reason: str) -> str:
    """What the event says besides its sentence: the reason of a refusal or of a complement."""
    if action == "transition" and to_state in (State.REJECTED, State.AWAITING_COMPLEMENT, State.WITHDRAWN):
        return reason
    return ""


def timeline_entry(event) -> TimelineEntry:
    """One DossierEvent as the applicant reads it."""
    return TimelineEntry(
        at=event.created_at,
        text=event_sentence(
            action=event.action, from_state=event.from_state, to_state=event.to_state, data=event.data or {}
        ),
        detail=event_detail(action=event.action, to_state=event.to_state, reason=event.reason),
        actor=str(ACTORS.get(event.actor_role, ACTORS["system"])),
    )
