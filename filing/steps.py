"""The steps of each procedure's guided form: the fields each shows, in order, and how the inputs
kept in a FilingDraft become dossier_create's. Their checks are filing.checks'."""

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _lazy

from dossiers.models import DuplicateReason, Procedure
from dossiers.parsing import parse_day

# A step whose error belongs to no single input: shown above the form and in the summary.
GENERAL = "__all__"
# Every date input says the format it takes (DSFR): a browser without a date picker shows a text box.
DATE_HINT = _lazy("Format attendu : JJ/MM/AAAA")


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    kind: str = "text"  # text, date, time, number, email, radio, textarea
    hint: Any = ""
    required: bool = True
    autocomplete: str = "off"
    inputmode: str = ""
    choices: tuple[tuple[str, Any], ...] = ()
    spellcheck: bool = True
    # Required in one case only (« personne physique »): said beside the label instead of
    # "(facultatif)", and the input is not marked aria-required.
    condition: Any = ""

    def __post_init__(self) -> None:
        if self.kind == "date" and not self.hint:
            object.__setattr__(self, "hint", DATE_HINT)


@dataclass(frozen=True)
class Step:
    name: str
    title: Any
    fields: tuple[Field, ...] = ()
    # Steps before "summary" keep the inputs in the FilingDraft; from "summary" on, the dossier exists.
    before_dossier: bool = True
    intro: Any = ""
    extra: dict = field(default_factory=dict)


# --- Fields -----------------------------------------------------------------------------------------

PLATE = Field(
    "plate",
    _lazy("Immatriculation (A)"),
    hint=_lazy("Telle qu'elle figure sur le certificat, par exemple AB-123-CD."),
    spellcheck=False,
)
FORMULE = Field(
    "formule_number",
    _lazy("Numéro de formule"),
    hint=_lazy(
        "11 caractères imprimés sur la première page du certificat en cours : l'année, deux lettres "
        "et cinq chiffres, par exemple 2019AB12345. Ce n'est pas l'immatriculation."
    ),
    spellcheck=False,
)
LAST_NAME = Field("last_name", _lazy("Nom"), autocomplete="family-name")
FIRST_NAMES = Field("first_names", _lazy("Prénoms"), autocomplete="given-name")
BIRTH_DATE = Field("birth_date", _lazy("Date de naissance"), kind="date", autocomplete="bday")
ADDRESS = (
    Field("address_line", _lazy("Adresse"), hint=_lazy("Numéro et voie."), autocomplete="street-address"),
    Field(
        "postcode",
        _lazy("Code postal"),
        hint=_lazy("5 chiffres."),
        autocomplete="postal-code",
        inputmode="numeric",
    ),
    Field("city", _lazy("Commune"), autocomplete="address-level2"),
)
EMAIL = Field(
    "email",
    _lazy("Adresse électronique"),
    kind="email",
    required=False,
    autocomplete="email",
    hint=_lazy("Pour recevoir les nouvelles de votre dossier."),
    spellcheck=False,
)
IDENTITY_FIELDS = ("last_name", "first_names", "birth_date", "email")
ADDRESS_FIELDS = tuple(f.name for f in ADDRESS)

# The vehicle of an import, from its foreign title: the one procedure where the citizen types it.
IMPORT_VEHICLE = (
    Field("vin", _lazy("E — Numéro d'identification (VIN)"), hint=_lazy("17 caractères."), spellcheck=False),
    Field("make", _lazy("D.1 — Marque")),
    Field("commercial_name", _lazy("D.3 — Dénomination commerciale")),
    Field("type_variant_version", _lazy("D.2 — Type, variante, version"), required=False),
    Field("genre", _lazy("J.1 — Genre national"), hint=_lazy("Par exemple VP pour une voiture.")),
    Field("energy", _lazy("P.3 — Énergie"), hint=_lazy("Par exemple ES (essence), GO (gazole), EL.")),
    Field("fiscal_power", _lazy("P.6 — Puissance administrative (CV)"), inputmode="numeric"),
    Field("power_kw", _lazy("P.2 — Puissance nette maximale (kW)"), required=False, inputmode="decimal"),
    Field(
        "co2_g_km",
        _lazy("V.7 — Émissions de CO2 (g/km)"),
        required=False,
        inputmode="numeric",
        hint=_lazy("Obligatoire pour une voiture non électrique."),
    ),
    Field(
        "mass_kg",
        _lazy("G — Masse en service (kg)"),
        required=False,
        inputmode="numeric",
        hint=_lazy("Obligatoire pour une voiture (genre VP) : elle sert au calcul du malus."),
    ),
    Field("first_registration_date", _lazy("B — Date de première immatriculation"), kind="date"),
)

# --- Steps ------------------------------------------------------------------------------------------

VEHICLE_TITLE = Step(
    "vehicle",
    _lazy("Votre véhicule"),
    (
        PLATE,
        FORMULE,
        Field(
            "last_name",
            _lazy("Nom du titulaire"),
            hint=_lazy("Tel qu'il figure sur le certificat (C.1)."),
            autocomplete="family-name",
        ),
        Field("birth_date", _lazy("Date de naissance du titulaire"), kind="date", autocomplete="bday"),
    ),
    intro=_lazy(
        "Nous vérifions dans le registre que vous êtes titulaire de ce véhicule. Ses caractéristiques "
        "viennent ensuite du registre : vous n'avez pas à les saisir."
    ),
)
VEHICLE_BOUGHT = Step(
    "vehicle",
    _lazy("Le véhicule acheté"),
    (
        PLATE,
        Field(
            "code_de_cession",
            _lazy("Code de cession"),
            required=False,
            hint=_lazy(
                "Code secret que le vendeur obtient en déclarant la vente en ligne et vous remet avec "
                "le certificat barré ; il figure sur son accusé d'enregistrement de la cession."
            ),
            spellcheck=False,
        ),
        Field(
            "formule_number",
            _lazy("Ou numéro de formule du certificat barré"),
            required=False,
            hint=_lazy("Si le vendeur ne vous a pas donné de code : imprimé sur l'ancien certificat."),
            spellcheck=False,
        ),
    ),
    intro=_lazy(
        "Indiquez l'immatriculation et le code de cession que le vendeur vous a remis, ou à défaut le "
        "numéro de formule du certificat qu'il vous a remis barré."
    ),
)
VEHICLE_IMPORTED = Step(
    "vehicle",
    _lazy("Le véhicule importé"),
    IMPORT_VEHICLE,
    intro=_lazy("Recopiez les informations du titre d'immatriculation étranger du véhicule."),
)
HOLDER = Step(
    "holder",
    _lazy("Le titulaire"),
    (LAST_NAME, FIRST_NAMES, BIRTH_DATE, *ADDRESS, EMAIL),
    intro=_lazy(
        "La personne au nom de laquelle le certificat est établi. Vérifiez les informations préremplies."
    ),
)
IDENTITY = Step(
    "holder",
    _lazy("Le titulaire"),
    (LAST_NAME, FIRST_NAMES, BIRTH_DATE, EMAIL),
    intro=_lazy("Tel qu'il figure sur le certificat en cours."),
)
NEW_ADDRESS = Step(
    "address",
    _lazy("Votre nouvelle adresse"),
    ADDRESS,
    intro=_lazy("L'adresse où vous habitez désormais. Elle sera imprimée sur le nouveau certificat."),
)
SALE = Step(
    "sale",
    _lazy("La cession"),
    (
        Field("sold_at_date", _lazy("Date de la cession"), kind="date"),
        Field("sold_at_time", _lazy("Heure de la cession"), kind="time", hint=_lazy("Par exemple 14:30.")),
        Field(
            "mileage_km",
            _lazy("Kilométrage au compteur"),
            required=False,
            inputmode="numeric",
            hint=_lazy("En kilomètres, sans espace."),
        ),
    ),
    intro=_lazy("Telles qu'elles figurent sur le certificat de cession (cerfa 15776) signé."),
)
REASON = Step(
    "reason",
    _lazy("Le motif du duplicata"),
    (
        Field(
            "duplicate_reason",
            _lazy("Pourquoi demandez-vous un duplicata ?"),
            kind="radio",
            choices=tuple(DuplicateReason.choices),
            hint=_lazy("Après un vol, le récépissé de déclaration de vol sera demandé."),
        ),
    ),
)
CORRECTION = Step(
    "correction",
    _lazy("La correction demandée"),
    (
        Field(
            "correction_request",
            _lazy("Qu'est-ce qui est inexact sur votre certificat ?"),
            kind="textarea",
            hint=_lazy("La rubrique (par exemple D.3) et la valeur exacte. 500 caractères au plus."),
        ),
    ),
)
SUMMARY = Step("summary", _lazy("Récapitulatif"))
DOCUMENTS = Step("documents", _lazy("Les pièces justificatives"), before_dossier=False)
FEES = Step("fees", _lazy("Les taxes"), before_dossier=False)
SUBMIT = Step("submit", _lazy("Le dépôt"), before_dossier=False)

_TAIL = (SUMMARY, DOCUMENTS, FEES, SUBMIT)
PROCEDURE_STEPS: dict[str, tuple[Step, ...]] = {
    Procedure.CHANGE_OF_OWNER: (VEHICLE_BOUGHT, HOLDER, SALE, *_TAIL),
    Procedure.SALE_DECLARATION: (VEHICLE_TITLE, HOLDER, SALE, *_TAIL),
    Procedure.CHANGE_OF_ADDRESS: (VEHICLE_TITLE, IDENTITY, NEW_ADDRESS, *_TAIL),
    Procedure.DUPLICATE: (VEHICLE_TITLE, HOLDER, REASON, *_TAIL),
    Procedure.CORRECTION: (VEHICLE_TITLE, HOLDER, CORRECTION, *_TAIL),
    Procedure.IMPORT: (VEHICLE_IMPORTED, HOLDER, *_TAIL),
}
# The procedures a citizen files on the web, in the order the start page lists them.
WEB_PROCEDURES = tuple(PROCEDURE_STEPS)

# When a citizen needs each procedure, in their words: under its name on the start page.
PURPOSE: dict[str, Any] = {
    Procedure.CHANGE_OF_OWNER: _lazy(
        "Vous avez acheté un véhicule d'occasion : mettez le certificat à votre nom."
    ),
    Procedure.SALE_DECLARATION: _lazy(
        "Vous avez vendu ou donné votre véhicule : déclarez-le et obtenez le code de cession pour l'acheteur."
    ),
    Procedure.CHANGE_OF_ADDRESS: _lazy(
        "Vous avez déménagé : faites figurer votre nouvelle adresse sur le certificat."
    ),
    Procedure.DUPLICATE: _lazy("Votre certificat est perdu, volé ou abîmé : demandez-en un nouveau."),
    Procedure.CORRECTION: _lazy(
        "Une information imprimée sur votre certificat est inexacte : demandez sa correction."
    ),
    Procedure.IMPORT: _lazy("Votre véhicule était immatriculé à l'étranger : immatriculez-le en France."),
}

# What the citizen needs at hand, per procedure, listed before they start.
AT_HAND: dict[str, tuple[Any, ...]] = {
    Procedure.CHANGE_OF_OWNER: (
        _lazy(
            "l'immatriculation du véhicule et le code de cession donné par le vendeur, "
            "ou le certificat barré et signé par le vendeur ;"
        ),
        _lazy("la date, l'heure et le kilométrage de la cession ;"),
    ),
    Procedure.SALE_DECLARATION: (
        _lazy("l'immatriculation et le numéro de formule du certificat en cours ;"),
        _lazy("la date, l'heure et le kilométrage de la vente ;"),
    ),
    Procedure.CHANGE_OF_ADDRESS: (
        _lazy("l'immatriculation et le numéro de formule du certificat en cours ;"),
        _lazy("votre nouvelle adresse ;"),
    ),
    Procedure.DUPLICATE: (
        _lazy(
            "l'immatriculation et le numéro de formule du certificat perdu, volé ou abîmé "
            "(une copie, un courrier de l'assureur ou de l'ANTS le porte) ;"
        ),
    ),
    Procedure.CORRECTION: (
        _lazy("l'immatriculation et le numéro de formule du certificat à corriger ;"),
        _lazy("la rubrique inexacte et sa valeur exacte ;"),
    ),
    Procedure.IMPORT: (
        _lazy("le titre d'immatriculation étranger du véhicule ;"),
        _lazy("le quitus fiscal (ou le formulaire 846A des douanes) ;"),
    ),
}


def steps_of(procedure: str) -> tuple[Step, ...]:
    return PROCEDURE_STEPS[procedure]


def step_of(procedure: str, name: str) -> Step | None:
    return next((step for step in PROCEDURE_STEPS[procedure] if step.name == name), None)


def step_after(procedure: str, name: str) -> str:
    """The name of the step that follows `name` (the last one follows itself)."""
    names = [step.name for step in PROCEDURE_STEPS[procedure]]
    return names[min(names.index(name) + 1, len(names) - 1)]


def step_index(procedure: str, name: str) -> int:
    return [step.name for step in PROCEDURE_STEPS[procedure]].index(name)


# --- From the form's inputs to dossier_create's ---------------------------------------------------


def step_entered(*, step: Step, posted: Any) -> dict[str, str]:
    """A step's inputs as posted; a date typed JJ/MM/AAAA (no date picker) kept as the picker's
    AAAA-MM-JJ, so that every later use reads one format. Anything unreadable is kept as typed."""
    entered = {f.name: posted.get(f.name, "") for f in step.fields}
    for f in step.fields:
        if f.kind == "date" and entered[f.name]:
            with suppress(ValueError):  # unreadable: the step's check says what is wrong with it
                entered[f.name] = parse_day(entered[f.name]).isoformat()
    return entered


def _entered(data: dict[str, dict[str, str]], step: str) -> dict[str, str]:
    return dict(data.get(step) or {})


def holder_input(*, procedure: str, data: dict[str, dict[str, str]]) -> dict[str, str]:
    """The holder as dossier_create takes it, from the holder step (and the new address)."""
    holder = {
        name: value
        for name, value in _entered(data, "holder").items()
        if name in (*IDENTITY_FIELDS, *ADDRESS_FIELDS)
    }
    if procedure == Procedure.CHANGE_OF_ADDRESS:
        holder.update({name: _entered(data, "address").get(name, "") for name in ADDRESS_FIELDS})
    return holder


def title_input(*, data: dict[str, dict[str, str]]) -> dict[str, str]:
    vehicle = _entered(data, "vehicle")
    return {"plate": vehicle.get("plate", ""), "formule_number": vehicle.get("formule_number", "")}


def sale_input(*, data: dict[str, dict[str, str]], code: str = "") -> dict[str, str]:
    sale = _entered(data, "sale")
    day, hour = sale.get("sold_at_date", ""), sale.get("sold_at_time", "")
    result = {"sold_at": f"{day}T{hour}" if day and hour else day, "mileage_km": sale.get("mileage_km", "")}
    if code:
        result["code_de_cession"] = code
    return result


def correction_text(raw: str) -> str:
    # A textarea sends line breaks, which the domain's single-line text refuses: the lines are
    # joined, nothing else is changed.
    return " ".join((raw or "").split()) if raw else ""


def dossier_input(*, procedure: str, data: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The keyword arguments of dossiers.services.dossier_create for a filing's inputs."""
    facts: dict[str, Any] = {}
    vehicle = None
    if procedure == Procedure.IMPORT:
        vehicle = {name: value for name, value in _entered(data, "vehicle").items() if value != ""}
    else:
        facts["title"] = title_input(data=data)
    if procedure == Procedure.CHANGE_OF_OWNER:
        code = _entered(data, "vehicle").get("code_de_cession", "")
        if code:
            facts["title"] = {"plate": facts["title"]["plate"]}
        facts["sale"] = sale_input(data=data, code=code)
    elif procedure == Procedure.SALE_DECLARATION:
        facts["sale"] = sale_input(data=data)
    elif procedure == Procedure.DUPLICATE:
        facts["duplicate_reason"] = _entered(data, "reason").get("duplicate_reason", "")
    elif procedure == Procedure.CORRECTION:
        facts["correction_request"] = correction_text(
            _entered(data, "correction").get("correction_request", "")
        )
    return {
        "procedure": procedure,
        "vehicle": vehicle,
        "holder": holder_input(procedure=procedure, data=data),
        "facts": facts,
    }
