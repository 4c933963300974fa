"""Automatic checks: each rule on its own, then the stored results and risk of a chunk of dossiers."""

from datetime import date
from decimal import Decimal

import pytest

from cert_workflow.checks import rules
from cert_workflow.checks import services as checks
from cert_workflow.checks.rules import OpenDossier
from cert_workflow.models import Assessment, CheckResult, Outcome, Risk, StraightThroughRule
from dossiers import cleaning, transitions
from dossiers.fees import Fees
from dossiers.models import DocumentKind, Dossier, Procedure, Sale, State, Vehicle
from tests import factories
from tests.factories import COMPLETE, submitted

PASSED, WARNING, FAILED = Outcome.PASSED, Outcome.WARNING, Outcome.FAILED


@pytest.fixture(autouse=True)
def _media_in_tmp(media_in_tmp):
    """Every test here uploads documents: see `media_in_tmp` in conftest.py."""


def results_of(dossier: Dossier) -> dict[str, str]:
    return dict(CheckResult.objects.filter(dossier=dossier).values_list("code", "outcome"))


def vehicle(**overrides) -> Vehicle:
    return Vehicle(**factories.vehicle_data(**overrides))


# --- The rules, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vin", "outcome"),
    [
        ("1M8GDM9AXKP042788", PASSED),  # North American, right check digit
        ("1M8GDM9A1KP042788", WARNING),  # North American, wrong check digit: a typo, an agent looks
        ("WP0ZZZ99ZTS392124", PASSED),  # European filler in position 9: never held against it
        ("VF1RFB00312345678", PASSED),  # European digit that is not the check digit
        ("VF1RFB0031234567", FAILED),  # 16 characters
        ("VF1RFB003123456O8", FAILED),  # letter O
    ],
)
def test_vin_rules_fail_bad_format_and_only_warn_on_a_north_american_check_digit(vin, outcome):
    assert rules.check_vin(vin=vin).outcome == outcome


@pytest.mark.parametrize(
    ("procedure", "others", "outcome"),
    [
        (Procedure.CHANGE_OF_OWNER, [], PASSED),
        (Procedure.CHANGE_OF_OWNER, [("CG-1", Procedure.CHANGE_OF_OWNER, State.QUEUED)], FAILED),
        (Procedure.FIRST_REGISTRATION, [("CG-1", Procedure.FIRST_REGISTRATION, State.SUBMITTED)], FAILED),
        # The seller's declaration and the buyer's change of owner of one sale go side by side.
        (Procedure.CHANGE_OF_OWNER, [("CG-1", Procedure.SALE_DECLARATION, State.APPROVED)], PASSED),
        (Procedure.SALE_DECLARATION, [("CG-1", Procedure.CHANGE_OF_OWNER, State.IN_REVIEW)], PASSED),
        (Procedure.CHANGE_OF_ADDRESS, [("CG-1", Procedure.DUPLICATE, State.QUEUED)], WARNING),
        (
            Procedure.CHANGE_OF_OWNER,
            [
                ("CG-1", Procedure.SALE_DECLARATION, State.QUEUED),
                ("CG-2", Procedure.CHANGE_OF_OWNER, State.QUEUED),
            ],
            FAILED,
        ),
    ],
)
def test_another_open_dossier_on_the_vehicle_fails_for_the_same_procedure_and_warns_otherwise(
    procedure, others, outcome
):
    result = rules.check_duplicates(procedure=procedure, others=[OpenDossier(*o) for o in others])
    assert result.outcome == outcome
    for reference, *_ in others:
        assert reference in result.message


@pytest.mark.parametrize(
    ("overrides", "check", "outcome"),
    [
        ({}, rules.check_vehicle_codes, PASSED),
        ({"energy": "XX"}, rules.check_vehicle_codes, FAILED),
        ({"genre": "ZZ"}, rules.check_vehicle_codes, FAILED),
        ({}, rules.check_fiscal_power, PASSED),  # 103 kW, 128 g: about 7 CV, 7 declared
        ({"fiscal_power": 40}, rules.check_fiscal_power, WARNING),
        ({"fiscal_power": 1}, rules.check_fiscal_power, WARNING),
        ({"energy": "EL", "co2_g_km": None, "fiscal_power": 1}, rules.check_fiscal_power, PASSED),
        ({"genre": "CTTE", "fiscal_power": 40}, rules.check_fiscal_power, PASSED),  # not a VP
    ],
)
def test_vehicle_codes_and_fiscal_power(overrides, check, outcome):
    assert check(vehicle=vehicle(**overrides)).outcome == outcome


@pytest.mark.parametrize(
    ("masses", "first_in_france", "outcome"),
    [
        ({}, True, PASSED),  # 1280 ≤ 1350 ≤ 1850 ≤ 1850
        ({"empty_mass_kg": 1400}, False, FAILED),  # G.1 > G
        ({"mass_kg": 1900}, False, FAILED),  # G > F.2
        ({"ptac_kg": 1900}, False, FAILED),  # F.2 > F.1
        ({"mass_kg": None, "empty_mass_kg": 1900}, False, FAILED),  # G.1 > F.2 across the gap
        ({"mass_kg": None}, True, WARNING),  # the weight malus cannot be checked
        ({"mass_kg": None}, False, PASSED),
    ],
)
def test_masses_must_be_ordered(masses, first_in_france, outcome):
    result = rules.check_vehicle_masses(vehicle=vehicle(**masses), first_in_france=first_in_france)
    assert result.outcome == outcome


@pytest.mark.parametrize(
    ("overrides", "first_in_france", "outcome"),
    [
        ({}, True, PASSED),
        ({"co2_g_km": None}, True, FAILED),  # a thermal car's malus depends on it
        ({"co2_g_km": None}, False, WARNING),  # older titles may lack V.7
        ({"energy": "EL", "co2_g_km": None}, True, PASSED),
        ({"energy": "EL", "co2_g_km": 95}, True, WARNING),
        ({"genre": "MTT2", "co2_g_km": None}, True, PASSED),
    ],
)
def test_co2_is_required_for_thermal_passenger_cars(overrides, first_in_france, outcome):
    result = rules.check_co2(vehicle=vehicle(**overrides), first_in_france=first_in_france)
    assert result.outcome == outcome


TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("procedure", "by_professional", "duplicate_reason", "first_registration", "extra"),
    [
        (Procedure.FIRST_REGISTRATION, False, "", None, set()),
        (Procedure.FIRST_REGISTRATION, True, "", None, {"mandate"}),
        (Procedure.CHANGE_OF_ADDRESS, True, "", None, {"mandate"}),
        (Procedure.DUPLICATE, False, "loss", None, set()),
        (Procedure.DUPLICATE, False, "theft", None, {"police_report"}),
        (Procedure.CHANGE_OF_OWNER, False, "", date(2023, 1, 1), set()),  # under 4 years
        (Procedure.CHANGE_OF_OWNER, False, "", date(2020, 1, 1), {"technical_inspection"}),
        (Procedure.IMPORT, False, "", date(2015, 6, 1), {"technical_inspection"}),
        (Procedure.CHANGE_OF_ADDRESS, False, "", date(2015, 6, 1), set()),
    ],
)
def test_required_documents_follow_the_procedure_and_its_circumstances(
    procedure, by_professional, duplicate_reason, first_registration, extra
):
    required = rules.required_documents(
        procedure=procedure,
        by_professional=by_professional,
        duplicate_reason=duplicate_reason,
        first_registration_date=first_registration,
        on=TODAY,
    )
    assert required == set(COMPLETE[procedure]) | extra


def test_every_procedure_has_its_required_documents():
    assert set(rules.REQUIRED_DOCUMENTS) == set(Procedure.values)
    for kinds in rules.REQUIRED_DOCUMENTS.values():
        assert kinds <= set(DocumentKind.values)


def test_missing_documents_fail_and_are_named():
    result = rules.check_documents(
        required=frozenset({"identity", "coc", "insurance"}), present={"identity", "other"}
    )
    assert result.outcome == FAILED
    assert result.data["missing"] == ["coc", "insurance"]
    assert "Certificat de conformité" in result.message and "Attestation d'assurance" in result.message
    assert rules.check_documents(required=frozenset({"identity"}), present={"identity"}).outcome == PASSED


def _fees(**amounts) -> Fees:
    values = {f"y{i}": Decimal("0.00") for i in range(1, 7)} | {k: Decimal(v) for k, v in amounts.items()}
    return Fees(**values)


@pytest.mark.parametrize(
    ("frozen", "owed", "outcome"),
    [
        (_fees(y1="385.00", y4="11.00", y5="2.76", y6="398.76"), _fees(y1="385.00", y4="11.00", y5="2.76", y6="398.76"), PASSED),
        (_fees(y1="300.00", y4="11.00", y5="2.76", y6="313.76"), _fees(y1="385.00", y4="11.00", y5="2.76", y6="398.76"), FAILED),
        (None, _fees(), FAILED),  # nothing frozen at submission
        (_fees(), None, WARNING),  # the tables could not recompute
    ],
)  # fmt: skip
def test_fees_frozen_at_submission_must_equal_the_recomputed_fees(frozen, owed, outcome):
    frozen_values = {f"y{i}": getattr(frozen, f"y{i}") if frozen else None for i in range(1, 7)}
    result = rules.check_fees(frozen=frozen_values, owed=owed, error="tables")
    assert result.outcome == outcome
    if outcome == FAILED and frozen:
        assert "Y.1" in result.message and "Y.6" in result.message and "Y.4" not in result.message


@pytest.mark.parametrize(
    ("y6", "paid", "outcome"),
    [
        (Decimal("0.00"), None, PASSED),  # a free procedure owes nothing
        (Decimal("398.76"), None, WARNING),  # payment not recorded: a human confirms it
        (Decimal("398.76"), "398.76", PASSED),
        (Decimal("398.76"), 398.76, PASSED),
        (Decimal("398.76"), "300", FAILED),
        (Decimal("398.76"), "beaucoup", FAILED),
        (None, "10", FAILED),
    ],
)
def test_payment_must_equal_the_fees(y6, paid, outcome):
    assert rules.check_payment(y6=y6, paid=paid).outcome == outcome


@pytest.mark.parametrize(
    ("sold_at", "outcome"),
    [
        ("2026-11-20T10:30", PASSED),
        ("28/10/2026", PASSED),  # exactly one month before
        ("2026-10-27T23:59", WARNING),  # late: fined, not refused
        ("2026-11-29T00:01", FAILED),  # after the application
        (None, FAILED),  # no sale recorded
    ],
)
def test_sale_must_be_declared_within_the_month(sold_at, outcome):
    sale = Sale(**cleaning.sale_clean({"sold_at": sold_at})) if sold_at else None
    assert rules.check_sale_date(sale=sale, on=TODAY).outcome == outcome


def test_one_month_before_keeps_to_the_end_of_shorter_months():
    assert rules.one_month_before(date(2026, 3, 31)) == date(2026, 2, 28)
    assert rules.one_month_before(date(2026, 1, 15)) == date(2025, 12, 15)


@pytest.mark.parametrize(
    ("code", "has_sale_certificate", "outcome"),
    [
        ("AB12CD34", False, PASSED),
        ("ab12-cd34 ef", False, PASSED),  # spaces and dashes as people type them
        ("AB12", False, FAILED),  # truncated
        ("AB12CD34!", False, FAILED),
        (None, True, WARNING),  # the signed cerfa 15776 stands in for it, an agent reads it
        (None, False, FAILED),
    ],
)
def test_code_de_cession_must_be_present_and_well_formed(code, has_sale_certificate, outcome):
    # The code as the applicant typed it, stored as the input's validation normalises it.
    sale = Sale(**cleaning.sale_clean({"sold_at": "2026-11-20T10:00", "code_de_cession": code or ""}))
    result = rules.check_code_de_cession(sale=sale, has_sale_certificate=has_sale_certificate)
    assert result.outcome == outcome


@pytest.mark.parametrize(
    ("reason", "present", "outcome"),
    [
        ("theft", {"identity", "police_report"}, PASSED),
        ("theft", {"identity"}, FAILED),
        ("loss", {"identity"}, PASSED),
        ("", {"identity"}, WARNING),
    ],
)
def test_duplicate_after_theft_needs_the_police_report(reason, present, outcome):
    assert rules.check_duplicate_reason(reason=reason, present=present).outcome == outcome


@pytest.mark.parametrize(
    ("outcomes", "risk"),
    [
        ([PASSED, PASSED], Risk.LOW),
        ([PASSED, WARNING], Risk.MEDIUM),
        ([WARNING, FAILED, PASSED], Risk.HIGH),
    ],
)
def test_risk_is_the_worst_outcome(outcomes, risk):
    assert rules.risk_of(outcomes) == risk


# --- Stored results of a chunk -----------------------------------------------------------------


@pytest.mark.django_db
def test_complete_dossier_gets_one_passed_result_per_check_and_a_low_risk():
    dossier = submitted(procedure=Procedure.CORRECTION)

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]  # no straight-through

    results = results_of(dossier)
    assert set(results) == {
        "vin",
        "duplicates",
        "vehicle_codes",
        "vehicle_masses",
        "vehicle_co2",
        "fiscal_power",
        "documents",
        "fees",
        "payment",
        "mandate",  # filed by the holder, title proved
    }
    assert set(results.values()) == {PASSED}
    assert dossier.assessment.risk == Risk.LOW
    assert CheckResult.objects.filter(dossier=dossier, message="").count() == 0


@pytest.mark.django_db
def test_change_of_owner_and_duplicate_get_their_own_checks():
    owner_change = submitted(
        procedure=Procedure.CHANGE_OF_OWNER,
        facts={"sale": {"sold_at": "2026-11-20T14:00", "code_de_cession": "AB12CD34EF"}},
    )
    theft = submitted(
        procedure=Procedure.DUPLICATE,
        facts={"duplicate_reason": "theft"},
        documents=["identity", "proof_of_address"],
    )
    checks.dossiers_assess(dossier_ids=[owner_change.pk, theft.pk])

    assert {"sale_date", "code_de_cession"} <= set(results_of(owner_change))
    theft_results = results_of(theft)
    assert theft_results["duplicate_reason"] == FAILED
    assert theft_results["documents"] == FAILED
    assert "police_report" in theft.check_results.get(code="documents").data["missing"]
    assert theft.assessment.risk == Risk.HIGH


@pytest.mark.django_db
def test_dealer_first_registration_without_mandate_is_high_risk_and_goes_to_review():
    garage = factories.dealer()
    dossier = submitted(
        owner=garage, procedure=Procedure.FIRST_REGISTRATION, documents=COMPLETE["first_registration"]
    )

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]
    documents = dossier.check_results.get(code="documents")
    assert (documents.outcome, documents.data["missing"]) == (FAILED, ["mandate"])
    assert "Mandat" in documents.message
    assert results_of(dossier)["payment"] == WARNING  # fees owed, payment not recorded yet
    assert Assessment.objects.get(dossier=dossier).risk == Risk.HIGH


@pytest.mark.django_db
def test_two_open_dossiers_on_one_vehicle_are_both_flagged_but_a_draft_is_not():
    # The holder's two dossiers on one registered vehicle (a second first registration of a VIN
    # is refused at creation).
    title = factories.proof(factories.registered())
    first = submitted(procedure=Procedure.CHANGE_OF_ADDRESS, facts={"title": title})
    second = submitted(procedure=Procedure.CHANGE_OF_ADDRESS, facts={"title": title})
    factories.draft(filed_by=factories.citizen(), procedure=Procedure.CORRECTION, facts={"title": title})
    alone = submitted(procedure=Procedure.CHANGE_OF_ADDRESS)

    checks.dossiers_assess(dossier_ids=[first.pk, second.pk, alone.pk])

    assert first.check_results.get(code="duplicates").data["references"] == [second.reference]
    assert second.check_results.get(code="duplicates").data["references"] == [first.reference]
    assert results_of(first)["duplicates"] == results_of(second)["duplicates"] == FAILED
    assert results_of(alone)["duplicates"] == PASSED


@pytest.mark.django_db
def test_fees_changed_after_submission_are_caught():
    dossier = submitted(procedure=Procedure.FIRST_REGISTRATION)
    Dossier.objects.filter(pk=dossier.pk).update(y6=dossier.y6 - 100)

    checks.dossiers_assess(dossier_ids=[dossier.pk])

    fees = dossier.check_results.get(code="fees")
    assert fees.outcome == FAILED
    assert set(fees.data["differences"]) == {"y6"}


@pytest.mark.django_db
def test_recorded_payment_equal_to_the_fees_passes():
    # Paid before it was submitted, through the fake provider (factories.fees_pay).
    dossier = submitted(procedure=Procedure.FIRST_REGISTRATION)

    checks.dossiers_assess(dossier_ids=[dossier.pk])

    assert results_of(dossier)["payment"] == PASSED


@pytest.mark.django_db
def test_only_submitted_dossiers_are_checked():
    owner = factories.citizen()
    draft = factories.draft(filed_by=owner)
    queued = submitted()
    transitions.dossier_transition(dossier=queued, to=State.QUEUED, actor=None)

    assert checks.dossiers_assess(dossier_ids=[draft.pk, queued.pk, 10**9]) == []
    assert not CheckResult.objects.exists()
    assert not Assessment.objects.exists()


@pytest.mark.django_db
def test_running_a_chunk_twice_replaces_results_instead_of_adding_rows():
    dossier = submitted(procedure=Procedure.CORRECTION)
    checks.dossiers_assess(dossier_ids=[dossier.pk])
    count = CheckResult.objects.count()
    CheckResult.objects.create(dossier=dossier, code="obsolete_check", outcome=FAILED, message="ancien")
    Dossier.objects.filter(pk=dossier.pk).update(y6=Decimal("1.00"))  # tampered between the runs

    assert checks.dossiers_assess(dossier_ids=[dossier.pk]) == [dossier.pk]

    assert CheckResult.objects.count() == count
    assert results_of(dossier)["fees"] == FAILED
    assert Assessment.objects.filter(dossier=dossier).count() == 1
    assert Assessment.objects.get(dossier=dossier).risk == Risk.HIGH


def _mixed_chunk(size: int) -> list[int]:
    """Low-risk, incomplete and duplicated dossiers: every path of the service."""
    checks.straight_through_rules()
    StraightThroughRule.objects.filter(procedure=Procedure.CHANGE_OF_ADDRESS).update(sampling_rate=0)
    ids = []
    owner, title = factories.citizen(), factories.proof(factories.registered())
    for n in range(size):
        if n % 5 == 0:
            dossier = submitted(owner=owner, procedure=Procedure.CORRECTION, facts={"title": title})
        elif n % 5 == 1:
            dossier = submitted(owner=owner, documents=["identity"])
        else:
            dossier = submitted(owner=owner)
        ids.append(dossier.pk)
    return ids


@pytest.mark.django_db
@pytest.mark.parametrize("size", [5, 50])
def test_a_chunk_costs_the_same_few_queries_whatever_its_size(size, django_assert_max_num_queries):
    ids = _mixed_chunk(size)

    with django_assert_max_num_queries(20):
        to_review = checks.dossiers_assess(dossier_ids=ids)

    assert Assessment.objects.filter(dossier_id__in=ids).count() == size
    assert CheckResult.objects.filter(dossier_id__in=ids, code="vin").count() == size
    approved = set(Dossier.objects.filter(pk__in=ids, state=State.APPROVED).values_list("pk", flat=True))
    assert approved and to_review
    assert approved | set(to_review) == set(ids)
