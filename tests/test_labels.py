"""Staff pages print no stored code: check names, field names, audit actions, actors' roles,
routing reasons and fee lines are in French, and every measure has its unit (portal.labels)."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from cert_workflow.checks.services import dossier_checks
from cert_workflow.models import COMPLEMENT_HOLDER_FIELDS, CheckResult, Outcome
from cert_workflow.routing import policy
from cert_workflow.sweeps import DEADLINE_SET
from dossiers import services, transitions
from dossiers.models import VEHICLE_FIELDS, DocumentKind, DossierEvent, State, Vehicle
from portal import labels
from portal.models import Role
from tests import factories
from tracking import timeline

pytestmark = pytest.mark.django_db


class VisibleText(HTMLParser):
    """The text a person reads: character data outside <script> and <style>, no attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style", "template"):
            self._hidden -= 1

    def handle_data(self, data) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(response) -> str:
    parser = VisibleText()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def stored_codes() -> set[str]:
    """Every code the database holds that a staff page could print."""
    return {
        *labels.CHECK_LABELS,
        *labels.ACTION_LABELS,
        "transition",
        *Role.values,
        "system",
        *labels.ROUTING_REASONS,
        *VEHICLE_FIELDS,
        *COMPLEMENT_HOLDER_FIELDS,
        *labels.DOSSIER_FACTS,
        *labels.SALE_FACTS,
        *State.values,
        *DocumentKind.values,
        *(f"y{i}" for i in range(1, 7)),
        *Outcome.values,
        "fake",
    }


# Codes that are also French words the pages use.
FRENCH_WORDS = {"genre"}


def codes_in(text: str) -> set[str]:
    """The stored codes written as words of `text` (not inside another word nor a file name)."""
    return {
        code
        for code in stored_codes() - FRENCH_WORDS
        if re.search(rf"(?<![\w.-]){re.escape(code)}(?![\w-]|\.\w)", text)
    }


EVENT_DATA = {
    "document_attached": {"kind": DocumentKind.INVOICE, "sha256": "0" * 64, "size": 10},
    "payment_recorded": {"amount": "271.76", "provider": "fake", "provider_reference": "x"},
    "complement_fields_corrected": {"fields": ["first_names", "postcode"]},
    "rerouted": {"kind": "rebalance", "from": "LBL", "to": "LBL"},
    "document_withdrawn": {"kind": "cpi", "serial": "X"},
}


def _every_event(dossier) -> None:
    """One audit row per action the portal writes, each actor's role, each routing reason."""
    roles = list(labels.ROLE_LABELS)
    rows = [
        DossierEvent(
            dossier=dossier,
            actor_role=roles[i % len(roles)],
            action=action,
            data=EVENT_DATA.get(action, {}),
            reason="" if action != "rerouted" else policy.HOME_INACTIVE,
        )
        for i, action in enumerate(labels.ACTION_LABELS)
    ]
    rows += [
        DossierEvent(dossier=dossier, actor_role="system", action="rerouted", reason=reason, data={})
        for reason in labels.ROUTING_REASONS
    ]
    DossierEvent.objects.bulk_create(rows)


def _every_check(dossier) -> None:
    """The checks as they ran on the dossier, then a row for each check code that did not apply."""
    ran = dossier_checks(dossier=dossier, others=[])
    outcomes = list(Outcome.values)
    CheckResult.objects.bulk_create(
        CheckResult(
            dossier=dossier,
            code=code,
            outcome=ran[code].outcome if code in ran else outcomes[i % len(outcomes)],
            message=ran[code].message if code in ran else "Contrôle de démonstration.",
        )
        for i, code in enumerate(labels.CHECK_LABELS)
    )


def test_agent_dossier_page_shows_no_stored_code_and_every_measure_with_its_unit(client):
    cert = factories.centre("LBL")
    agent = factories.agent(cert=cert)
    vehicle = factories.vehicle_data(
        max_mass_kg=1850,
        ptac_kg=1750,
        ptra_kg=2500,
        mass_kg=1350,
        empty_mass_kg=1200,
        displacement_cm3=1199,
        power_kw="96.5",
        co2_g_km=128,
        noise_db=72,
        noise_rpm=3750,
    )
    dealer = factories.dealer()
    dossier = factories.draft(filed_by=dealer, vehicle=vehicle)
    factories.documents_attach(dossier=dossier, owner=dealer, kinds=[DocumentKind.INVOICE])
    dossier = services.dossier_submit(dossier=dossier, actor=dealer)
    dossier = transitions.dossier_transition(
        dossier=dossier, to=State.QUEUED, actor=None, changes={"cert": cert}
    )
    transitions.dossier_transition(
        dossier=dossier, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    _every_check(dossier)
    _every_event(dossier)
    client.force_login(agent)

    response = client.get(reverse("agent-dossier", args=[dossier.reference]))

    assert response.status_code == 200
    text = visible_text(response)
    assert codes_in(text) == set()
    for code in labels.CHECK_LABELS:
        assert labels.check_label(code) in text
    for action in labels.ACTION_LABELS:
        assert str(labels.ACTION_LABELS[action]) in text
    for reason in labels.ROUTING_REASONS.values():
        assert str(reason) in text
    for role in ("usager", "professionnel", "instructeur", "superviseur", "administrateur", "système"):
        assert f"({role})" in text
    for unit_and_value in (
        r"1\s?850\s?kg",
        r"1\s?350\s?kg",
        r"1\s?199\s?cm³",
        r"96,5\s?kW",
        r"128\s?g/km",
        r"72\s?dB\(A\)",
        r"3\s?750\s?min⁻¹",
        r"\d+\s?CV",
    ):
        assert re.search(unit_and_value, text), unit_and_value
    for line in (
        "Y.1 — Taxe régionale",
        "Y.3 — Malus",
        "Y.5 — Redevance d'acheminement",
        "Y.6 — Montant total",
    ):
        assert line in text
    assert "Date de facture" in text and "Référence du mandat" in text
    assert "Données corrigées par le demandeur : C.1 — Prénoms, C.3 — Code postal" in text
    assert "Paiement enregistré : 271,76 €" in text  # (no-break spaces read as spaces)
    assert "Pièce ajoutée : Facture" in text or f"Pièce ajoutée : {DocumentKind.INVOICE.label}" in text


def test_the_page_test_would_see_a_code_left_in_the_visible_text():
    assert codes_in("Contrôle vehicle_masses (agent) y1") == {"vehicle_masses", "agent", "y1"}
    assert codes_in("Y.1 — Taxe régionale, VIN, masse en kg") == set()


def test_every_audit_action_has_a_staff_label_and_an_applicant_sentence():
    """One set of action codes for both readers: a new action must be told to both."""
    assert set(labels.ACTION_LABELS) == set(timeline.ACTIONS) | {"document_attached"}
    assert DEADLINE_SET in labels.ACTION_LABELS


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("mass_kg", "G — Masse en service"),
        ("first_names", "C.1 — Prénoms"),
        ("invoice_date", "Date de facture"),
        ("sale_date", "Date et heure de la cession"),
        ("code_de_cession", "Code de cession"),
        ("y2", "Y.2 — Taxe sur les véhicules de transport"),
        ("unheard_of", "autre donnée"),
    ],
)
def test_field_names_read_as_their_french_label(name, label):
    assert labels.field_label(name) == label


def test_every_measured_vehicle_field_has_a_unit_and_unknown_codes_never_come_out_as_themselves():
    measured = {
        field.name
        for field in Vehicle._meta.concrete_fields
        if field.get_internal_type() in ("PositiveIntegerField", "PositiveSmallIntegerField", "DecimalField")
    }
    assert measured <= set(labels.UNITS)
    assert labels.measure(Decimal("85.0"), "power_kw") == "85,0\u00a0kW"
    assert labels.measure(None, "mass_kg") == ""
    assert labels.check_label("new_check") == "Autre contrôle"
    assert labels.role_label("robot") == "rôle inconnu"
    assert labels.event_action_label(action="new_action") == "Opération enregistrée"
    assert labels.event_reason(action="rerouted", reason="new_reason") == "autre raison"
