"""Every stored code a person can read, in French: one place for the staff pages (and the API's
readable reports) to turn a check code, a field name, an audit action, an actor's role, a routing
reason or a fee line into words, and a measure into a number with its unit.

Pure lookups over constant tables, so that a test can walk each table and a template filter
(portal/templatetags/labels.py) can apply them to what a page already prints. An unknown code never
comes out as itself: each lookup has a French fallback.
"""

from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cert_workflow.models import COMPLEMENT_HOLDER_FIELDS
from cert_workflow.routing import policy
from dossiers.fees import FEE_LABELS
from dossiers.models import VEHICLE_FIELDS, DocumentKind, Dossier, Sale, vehicle_field_label
from portal.models import Role

# The automatic checks (cert_workflow.checks.services.dossier_checks), by code.
CHECK_LABELS: dict[str, Any] = {
    "vin": gettext_lazy("Numéro d'identification (VIN)"),
    "duplicates": gettext_lazy("Autres dossiers sur le véhicule"),
    "vehicle_codes": gettext_lazy("Codes énergie et genre"),
    "vehicle_masses": gettext_lazy("Masses du véhicule"),
    "vehicle_co2": gettext_lazy("Émissions de CO2"),
    "fiscal_power": gettext_lazy("Puissance administrative"),
    "documents": gettext_lazy("Pièces justificatives"),
    "fees": gettext_lazy("Montant des taxes"),
    "payment": gettext_lazy("Paiement des taxes"),
    "sale_date": gettext_lazy("Date de cession"),
    "sale_declared": gettext_lazy("Déclaration de cession du vendeur"),
    "code_de_cession": gettext_lazy("Code de cession"),
    "mandate": gettext_lazy("Mandat du professionnel"),
    "duplicate_reason": gettext_lazy("Motif du duplicata"),
}
UNKNOWN_CHECK = gettext_lazy("Autre contrôle")

# Who acted, as the staff read the audit (an event's actor_role).
ROLE_LABELS: dict[str, Any] = {
    Role.CITIZEN: gettext_lazy("usager"),
    Role.DEALER: gettext_lazy("professionnel"),
    Role.AGENT: gettext_lazy("instructeur"),
    Role.SUPERVISOR: gettext_lazy("superviseur"),
    Role.ADMIN: gettext_lazy("administrateur"),
    "system": gettext_lazy("système"),
}
UNKNOWN_ROLE = gettext_lazy("rôle inconnu")

# Audit events that are not a change of state, as the staff read them (the applicant's sentences
# are tracking.timeline.ACTIONS; tests/test_labels.py keeps both tables on the same codes).
ACTION_LABELS: dict[str, Any] = {
    "created": gettext_lazy("Brouillon créé"),
    "document_attached": gettext_lazy("Pièce ajoutée"),
    "payment_recorded": gettext_lazy("Paiement enregistré"),
    "complement_fields_corrected": gettext_lazy("Données corrigées par le demandeur"),
    "complement_reminder_sent": gettext_lazy("Rappel de la date limite du complément envoyé"),
    "lease_expired": gettext_lazy("Réservation expirée : dossier remis dans la file"),
    "checks_requeued": gettext_lazy("Contrôles automatiques relancés"),
    "checks_run_queued": gettext_lazy("Contrôles automatiques faits dans la file (ils n’avaient pas tourné)"),
    "complement_expired": gettext_lazy("Délai du complément dépassé"),
    "draft_abandoned": gettext_lazy("Brouillon abandonné"),
    "render_overdue": gettext_lazy("Production du document en retard"),
    "render_requeued": gettext_lazy("Production du document relancée"),
    "cpi_withdrawn": gettext_lazy("CPI retiré"),
    "document_withdrawn": gettext_lazy("CPI retiré"),
    "deadline_set": gettext_lazy("Échéance fixée"),
    "rerouted": gettext_lazy("Confié à un autre centre"),
}
UNKNOWN_ACTION = gettext_lazy("Opération enregistrée")

# Why routing chose or changed a dossier's centre (RoutingDecision.reason, a `rerouted` event's reason).
ROUTING_REASONS: dict[str, Any] = {
    policy.HOME: gettext_lazy("centre de rattachement"),
    policy.HOME_OVERLOADED: gettext_lazy("centre de rattachement surchargé"),
    policy.NO_HOME_CENTRE: gettext_lazy("aucun centre de rattachement pour ce département"),
    policy.HOME_INACTIVE: gettext_lazy("centre de rattachement en pause ou ne traitant pas cette démarche"),
    policy.ABOVE_NATIONAL_MEAN: gettext_lazy("rééquilibrage : attente au-dessus de la moyenne nationale"),
    policy.SUPERVISOR: gettext_lazy("déplacé par un superviseur"),
}

PAYMENT_PROVIDERS: dict[str, Any] = {"fake": gettext_lazy("prestataire simulé")}

# The unit of each measured vehicle field (docs/domain/FIELDS.md).
UNITS: dict[str, str] = {
    "max_mass_kg": "kg",
    "ptac_kg": "kg",
    "ptra_kg": "kg",
    "mass_kg": "kg",
    "empty_mass_kg": "kg",
    "displacement_cm3": "cm³",
    "power_kw": "kW",
    "fiscal_power": "CV",
    "co2_g_km": "g/km",
    "noise_db": "dB(A)",
    "noise_rpm": "min⁻¹",
    "mileage_km": "km",
    "seats": "",
    "standing_places": "",
}
# Facts of a dossier or of its sale that people read by their model's verbose name.
DOSSIER_FACTS = (
    "holder_is_owner",
    "validity_until",
    "duplicate_reason",
    "correction_request",
    "invoice_date",
    "mandate_reference",
    "external_ref",
)
SALE_FACTS = ("sold_at", "mileage_km", "code_de_cession")
FACT_ALIASES = {"sale_date": "sold_at", "code": "code_de_cession"}


def check_label(code: str) -> str:
    """An automatic check's French name."""
    return str(CHECK_LABELS.get(code, UNKNOWN_CHECK))


def role_label(role: str) -> str:
    """An actor's role as the staff read it (« usager », « instructeur », « système »…)."""
    return str(ROLE_LABELS.get(role, UNKNOWN_ROLE))


def routing_reason_label(reason: str) -> str:
    return str(ROUTING_REASONS.get(reason, reason and _("autre raison")))


def fee_label(name: str) -> str:
    """« Y.1 — Taxe régionale » for `y1` (or `Y.1`)."""
    key = name.lower().replace(".", "")
    label = FEE_LABELS.get(key)
    return f"{key.upper().replace('Y', 'Y.')} — {label}" if label else name


def field_label(name: str) -> str:
    """A vehicle, holder, dossier or sale field as people read it (« D.1 — Marque », « Date de facture »)."""
    name = FACT_ALIASES.get(name, name)
    if name in VEHICLE_FIELDS:
        return str(vehicle_field_label(name))
    if name in COMPLEMENT_HOLDER_FIELDS:
        return str(COMPLEMENT_HOLDER_FIELDS[name])
    if name in DOSSIER_FACTS:
        return capfirst(str(Dossier._meta.get_field(name).verbose_name))
    if name in SALE_FACTS:
        return capfirst(str(Sale._meta.get_field(name).verbose_name))
    if name.lower().replace(".", "") in FEE_LABELS:
        return fee_label(name)
    return _("autre donnée")


def measure(value: Any, name: str) -> str:
    """A vehicle measure with its unit, French number format (« 1 350 kg », « 85,5 kW »); "" for none."""
    if value is None or value == "":
        return ""
    unit = UNITS.get(name, "")
    if isinstance(value, int | float | Decimal):
        shown = number_format(value, use_l10n=True, force_grouping=True)
    else:
        shown = str(value)
    return f"{shown}\u00a0{unit}" if unit else shown


def payment_provider_label(name: str) -> str:
    return str(PAYMENT_PROVIDERS.get(name, name))


def event_action_label(
    *, action: str, data: dict | None = None, centres: dict[str, str] | None = None
) -> str:
    """What an audit event that is not a change of state did, with what its data says in French:
    the kind of a document, the amount of a payment, the fields corrected, the centres of a move
    (`centres` maps a centre's code to its name)."""
    data, centres = data or {}, centres or {}
    label = str(ACTION_LABELS.get(action, UNKNOWN_ACTION))
    if action == "document_attached":
        kind = data.get("kind", "")
        if kind in DocumentKind.values:
            return f"{label} : {DocumentKind(kind).label}"
    elif action == "payment_recorded" and data.get("amount"):
        try:
            amount = number_format(Decimal(str(data["amount"])), decimal_pos=2, use_l10n=True)
        except ArithmeticError:
            return label
        return f"{label} : {amount}\u00a0€"
    elif action == "complement_fields_corrected" and data.get("fields"):
        return f"{label} : {', '.join(field_label(name) for name in data['fields'])}"
    elif action == "rerouted" and data.get("from") and data.get("to"):
        source, target = (centres.get(data[key], data[key]) for key in ("from", "to"))
        return f"{label} : {source} → {target}"
    return label


def event_reason(*, action: str, reason: str) -> str:
    """An event's reason as people read it: routing stores a code, every other writer French text."""
    if action == "rerouted":
        return routing_reason_label(reason)
    return reason
