"""The dealer's one-page form of a new vehicle's first registration: its fieldsets, how the posted
inputs become dossier_create's, and how dossier_create's errors find their input again.

The rules are dossiers.cleaning's (the same as the API's and the batch rows'); the form only lists
the inputs, labels the vehicle's by their certificate code and French name
(dossiers.models.vehicle_field_label), and keeps what was typed for the page shown again."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _lazy

from dossiers.cleaning import VEHICLE_INT_FIELDS
from dossiers.errors import FieldError
from dossiers.models import DocumentKind, HolderKind, Vehicle, vehicle_field_label
from filing.steps import GENERAL, Field

# The certificate of conformity's fields, in the certificate's order (docs/domain/FIELDS.md): E,
# D.1–D.3, F.1–F.3, G, G.1, J–J.3, K, P.1–P.3, P.6, S.1, S.2, V.7, V.9. The plate (A) comes from the
# national series and B is the day of registration: neither is typed.
COC_FIELDS = (
    "vin",
    "make",
    "type_variant_version",
    "cnit",
    "commercial_name",
    "max_mass_kg",
    "ptac_kg",
    "ptra_kg",
    "mass_kg",
    "empty_mass_kg",
    "eu_category",
    "genre",
    "eu_body",
    "body",
    "approval_number",
    "displacement_cm3",
    "power_kw",
    "energy",
    "fiscal_power",
    "seats",
    "standing_places",
    "co2_g_km",
    "euro_class",
)
# What each vehicle input adds to its label: the unit, or the codes it takes.
_VEHICLE_HINTS = {
    "vin": _lazy("17 caractères, sans I, O ni Q."),
    "cnit": _lazy("12 ou 15 caractères."),
    "max_mass_kg": _lazy("En kg."),
    "ptac_kg": _lazy("En kg."),
    "ptra_kg": _lazy("En kg."),
    "mass_kg": _lazy("En kg. Obligatoire pour une voiture (genre VP) : elle sert au calcul du malus."),
    "empty_mass_kg": _lazy("En kg."),
    "eu_category": _lazy("Par exemple M1, N1, L3e."),
    "genre": _lazy("Par exemple VP pour une voiture, CTTE pour une camionnette."),
    "body": _lazy("Par exemple CI, BREAK, CABR."),
    "displacement_cm3": _lazy("En cm³. Sans objet pour un véhicule électrique."),
    "power_kw": _lazy("En kW, une décimale au plus (ex. 85,5)."),
    "energy": _lazy("Par exemple ES (essence), GO (gazole), EL (électrique), EH (hybride)."),
    "fiscal_power": _lazy("En CV."),
    "co2_g_km": _lazy("En g/km (WLTP). Obligatoire pour une voiture non électrique."),
    "euro_class": _lazy("Par exemple EURO6."),
}
_CODES = {"vin", "cnit", "eu_category", "genre", "eu_body", "body", "approval_number", "energy", "euro_class"}


def _vehicle_field(name: str) -> Field:
    model_field = Vehicle._meta.get_field(name)
    return Field(
        name,
        vehicle_field_label(name),
        hint=_VEHICLE_HINTS.get(name, ""),
        required=not model_field.blank,
        inputmode="numeric" if name in VEHICLE_INT_FIELDS else "decimal" if name == "power_kw" else "",
        spellcheck=name not in _CODES,
    )


VEHICLE = tuple(_vehicle_field(name) for name in COC_FIELDS)

_PERSON = _lazy("personne physique")
_COMPANY = _lazy("personne morale")
HOLDER = (
    Field(
        "holder_kind",
        _lazy("Le titulaire est"),
        kind="radio",
        choices=tuple(HolderKind.choices),
    ),
    Field("last_name", _lazy("C.1 — Nom"), condition=_PERSON),
    Field("first_names", _lazy("C.1 — Prénoms"), condition=_PERSON),
    Field("birth_date", _lazy("Date de naissance"), kind="date", required=False),
    Field("company_name", _lazy("C.1 — Raison sociale"), condition=_COMPANY),
    Field(
        "siret",
        _lazy("SIRET"),
        condition=_COMPANY,
        hint=_lazy("14 chiffres."),
        inputmode="numeric",
        spellcheck=False,
    ),
    Field("address_line", _lazy("C.3 — Adresse"), hint=_lazy("Numéro et voie.")),
    Field("postcode", _lazy("C.3 — Code postal"), hint=_lazy("5 chiffres."), inputmode="numeric"),
    Field("city", _lazy("C.3 — Commune")),
    Field(
        "email",
        _lazy("Adresse électronique du titulaire"),
        kind="email",
        required=False,
        hint=_lazy("Pour qu'il reçoive les nouvelles du dossier."),
        spellcheck=False,
    ),
)

OWNER, LEASED = "yes", "no"
SALE = (
    Field("invoice_date", _lazy("Date de facture"), kind="date"),
    Field(
        "mandate_reference",
        _lazy("Référence du mandat"),
        hint=_lazy(
            "Le mandat d'immatriculation signé par le titulaire (cerfa 13757), 60 caractères au plus."
        ),
        spellcheck=False,
    ),
    Field(
        "external_ref",
        _lazy("Référence interne"),
        required=False,
        hint=_lazy(
            "Votre propre référence du véhicule (bon de commande, numéro de stock), 60 caractères au plus."
        ),
        spellcheck=False,
    ),
    Field(
        "holder_is_owner",
        _lazy("C.4a — Le titulaire est-il propriétaire du véhicule ?"),
        kind="radio",
        choices=(
            (OWNER, _lazy("Oui")),
            (LEASED, _lazy("Non : location avec option d'achat, crédit-bail ou location longue durée")),
        ),
    ),
    Field(
        "validity_until",
        _lazy("H — Fin de validité du certificat"),
        kind="date",
        required=False,
        hint=_lazy(
            "Seulement si le certificat de conformité ou le contrat la fixe. Format attendu : JJ/MM/AAAA"
        ),
    ),
)

# The optional documents, uploaded with the form (dossiers.documents checks and stores them).
DOCUMENTS = (DocumentKind.COC, DocumentKind.INVOICE)
DOCUMENT_LABELS = {
    DocumentKind.COC: _lazy("Scan du certificat de conformité"),
    DocumentKind.INVOICE: _lazy("Facture"),
}


@dataclass(frozen=True)
class Fieldset:
    name: str
    legend: Any
    fields: tuple[Field, ...]
    hint: Any = ""


FIELDSETS = (
    Fieldset(
        "vehicle",
        _lazy("Véhicule — certificat de conformité"),
        VEHICLE,
        _lazy("Recopiez les rubriques du certificat de conformité (COC) du constructeur."),
    ),
    Fieldset(
        "holder",
        _lazy("Titulaire"),
        HOLDER,
        _lazy("La personne physique ou morale au nom de laquelle le certificat est établi, et son adresse."),
    ),
    Fieldset("sale", _lazy("Vente et mandat"), SALE),
)
INPUTS = {f.name: f for fieldset in FIELDSETS for f in fieldset.fields}
INITIAL = {"holder_kind": HolderKind.PERSON, "holder_is_owner": OWNER}


def file_input(kind: str) -> str:
    return f"file_{kind}"


def entered(posted: Any) -> dict[str, str]:
    """Every input as posted (text kept as typed, for the page shown again)."""
    return {name: posted.get(name, "") for name in INPUTS}


def dossier_input(values: dict[str, str]) -> dict[str, Any]:
    """dossier_create's vehicle, holder and facts from the form's inputs. An empty input is left
    out of the vehicle and holder (absent, as in the API); the required facts are always sent, so
    that an empty one is reported as missing."""
    vehicle = {f.name: values[f.name] for f in VEHICLE if values[f.name] != ""}
    holder = {f.name: values[f.name] for f in HOLDER if values[f.name] != ""}
    facts: dict[str, Any] = {
        "invoice_date": values["invoice_date"],
        "mandate_reference": values["mandate_reference"],
        "holder_is_owner": values["holder_is_owner"] != LEASED,
    }
    for name in ("external_ref", "validity_until"):
        if values[name] != "":
            facts[name] = values[name]
    return {"vehicle": vehicle, "holder": holder, "facts": facts}


def input_of(field: str) -> str:
    """The form's input of an error's field (« vehicle.vin » → vin), or GENERAL when none shows it."""
    name = field.split(".", 1)[1] if field.startswith(("vehicle.", "holder.")) else field
    if name == "department":  # derived from the postcode, never typed here
        name = "postcode"
    documents = {file_input(kind) for kind in DOCUMENTS}
    return name if name in INPUTS or name in documents else GENERAL


def errors_by_input(errors: list[FieldError]) -> dict[str, list[str]]:
    """dossier_create's errors by input name, in the order they came."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(input_of(error.field), []).append(error.message)
    return found


def labels() -> dict[str, str]:
    """Each input's label, for the error summary."""
    return {name: str(f.label) for name, f in INPUTS.items()} | {
        file_input(kind): str(label) for kind, label in DOCUMENT_LABELS.items()
    }
