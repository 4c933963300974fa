"""Automatic checks on submitted dossiers: load them, feed the pure rules, store the results.

The rules (checks/rules.py) run on a chunk of dossiers loaded in a constant number of queries. The
services store one CheckResult per (dossier, check), one Assessment per dossier, approve the
straight-through ones and hand the others to routing. Everything is safe to run twice: only dossiers
still `submitted` are touched.
"""

import random
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.checks.rules import (
    NOT_OPEN,
    STRAIGHT_THROUGH_BY_DEFAULT,
    CheckOutcome,
    Kind,
    OpenDossier,
    check_co2,
    check_code_de_cession,
    check_documents,
    check_duplicate_reason,
    check_duplicates,
    check_fees,
    check_fiscal_power,
    check_mandate,
    check_payment,
    check_sale_date,
    check_sale_declared,
    check_vehicle_codes,
    check_vehicle_masses,
    check_vin,
    required_documents,
    risk_of,
    route_of,
)
from cert_workflow.enqueue import task_enqueue
from cert_workflow.models import Assessment, CheckResult, Risk, StraightThroughRule
from cert_workflow.routing import services as routing
from dossiers.bulk import rows_append
from dossiers.errors import FieldError, InvalidInput
from dossiers.fees import FEES_UNCOMPUTABLE, FeesUnavailable
from dossiers.models import Document, Dossier, Procedure, State
from dossiers.register import TITLE_PROCEDURES
from dossiers.services import FIRST_IN_FRANCE, dossier_fees
from dossiers.transitions import dossier_transition_many
from portal.models import Role, User


def payments_total(dossier: Dossier) -> Decimal | None:
    """The sum of the payments recorded for the dossier (prefetched in a chunk), None when none."""
    amounts = [payment.amount for payment in dossier.payments.all()]
    return sum(amounts, Decimal("0.00")) if amounts else None


def dossier_checks(*, dossier: Dossier, others: list[OpenDossier]) -> dict[str, CheckOutcome]:
    """Every check that applies to a loaded dossier (vehicle, holder and documents), by code."""
    on = timezone.localdate(dossier.submitted_at) if dossier.submitted_at else timezone.localdate()
    vehicle = dossier.vehicle
    sale = getattr(dossier, "sale", None)  # none recorded: the sale checks fail
    present = {document.kind for document in dossier.documents.all()}
    first_in_france = dossier.procedure in FIRST_IN_FRANCE
    try:
        # The fees frozen at submission used that day's rates: recompute on the same day.
        owed, error = dossier_fees(dossier=dossier, on=on), ""
    except ValidationError as exc:
        owed, error = None, " ".join(exc.messages)
    except FeesUnavailable as exc:  # French: the rate tables lack this date
        owed, error = None, str(exc)
    except (ValueError, KeyError):  # an English note naming a field: agents read the French one
        owed, error = None, str(FEES_UNCOMPUTABLE)
    frozen = {f"y{i}": getattr(dossier, f"y{i}") for i in range(1, 7)}
    results = {
        "vin": check_vin(vin=vehicle.vin),
        "duplicates": check_duplicates(procedure=dossier.procedure, others=others),
        "vehicle_codes": check_vehicle_codes(vehicle=vehicle),
        "vehicle_masses": check_vehicle_masses(vehicle=vehicle, first_in_france=first_in_france),
        "vehicle_co2": check_co2(vehicle=vehicle, first_in_france=first_in_france),
        "fiscal_power": check_fiscal_power(vehicle=vehicle),
        "documents": check_documents(
            required=required_documents(
                procedure=dossier.procedure,
                by_professional=dossier.organisation_id is not None,
                duplicate_reason=dossier.duplicate_reason,
                first_registration_date=vehicle.first_registration_date,
                on=on,
            ),
            present=present,
        ),
        "fees": check_fees(frozen=frozen, owed=owed, error=error),
        "payment": check_payment(y6=dossier.y6, paid=payments_total(dossier)),
    }
    if dossier.procedure == Procedure.CHANGE_OF_OWNER:
        results["sale_date"] = check_sale_date(sale=sale, on=on)
        # The seller's declaration whose code the buyer gave (none when proved by the old title).
        declared = getattr(dossier, "code_source", None)
        results["sale_declared"] = check_sale_declared(sale=sale, declared=declared)
        results["code_de_cession"] = check_code_de_cession(
            sale=sale, has_sale_certificate=Kind.SALE_CERTIFICATE in present
        )
    if dossier.procedure in TITLE_PROCEDURES:
        # Proved at creation (dossiers.register); a mandate never goes straight through.
        results["mandate"] = check_mandate(by_professional=dossier.organisation_id is not None)
    if dossier.procedure == Procedure.DUPLICATE:
        results["duplicate_reason"] = check_duplicate_reason(reason=dossier.duplicate_reason, present=present)
    return results


# --- Straight-through rules ---------------------------------------------------------------------


def _default_rule(procedure: str) -> StraightThroughRule:
    return StraightThroughRule(procedure=procedure, enabled=procedure in STRAIGHT_THROUGH_BY_DEFAULT)


def straight_through_rules() -> dict[str, StraightThroughRule]:
    """The rule of every procedure by code, creating the missing ones with their defaults."""
    rules = {rule.procedure: rule for rule in StraightThroughRule.objects.all()}
    missing = [procedure for procedure in Procedure.values if procedure not in rules]
    if missing:
        StraightThroughRule.objects.bulk_create([_default_rule(p) for p in missing], ignore_conflicts=True)
        rules = {rule.procedure: rule for rule in StraightThroughRule.objects.all()}
    return rules


def straight_through_rule_for(procedure: str) -> StraightThroughRule:
    """The rule of one procedure, created with its default on first use."""
    default = _default_rule(procedure)
    return StraightThroughRule.objects.get_or_create(
        procedure=procedure, defaults={"enabled": default.enabled}
    )[0]


def straight_through_rule_set(
    *, procedure: str, enabled: bool, sampling_rate: Decimal, actor: User
) -> StraightThroughRule:
    """A supervisor turns straight-through on or off for a procedure and sets its sampling rate."""
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied(_("Seul un superviseur modifie les règles d'acceptation automatique."))
    rate = Decimal(str(sampling_rate))
    if not Decimal(0) <= rate <= Decimal(1):
        raise InvalidInput(
            [FieldError("sampling_rate", "range", _("Le taux doit être compris entre 0 et 1."), "0–1")]
        )
    rule = straight_through_rule_for(procedure)
    rule.enabled, rule.sampling_rate, rule.updated_by = enabled, rate, actor
    rule.save(update_fields=["enabled", "sampling_rate", "updated_by", "updated_at"])
    return rule


# --- Services -----------------------------------------------------------------------------------


# The columns of a check result appended in bulk (dossiers.bulk.rows_append).
CHECK_RESULT_COLUMNS = ("dossier_id", "code", "outcome", "message", "data", "checked_at")


def dossiers_assess(
    *, dossier_ids: list[int], rng: random.Random | None = None, state: str = State.SUBMITTED
) -> list[int]:
    """Check the chunk's dossiers still submitted, store results and assessments, approve the
    straight-through ones; return the ids that a centre must review. Constant queries per chunk.

    With `state=queued`: the dossiers already in a centre's queue whose checks never ran (see
    checks_run_queued); they are assessed for review and stay where they are."""
    draw_from = rng or random
    in_queue = state == State.QUEUED
    with transaction.atomic():
        # Locked for the run; a concurrent run of the same chunk skips them instead of waiting.
        dossiers = list(
            Dossier.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=dossier_ids, state=state)
            .select_related("vehicle", "holder", "sale", "code_source")
            .prefetch_related(
                Prefetch("documents", queryset=Document.objects.only("id", "dossier_id", "kind")),
                "payments",
            )
            .order_by("pk")
        )
        if not dossiers:
            return []
        ids = [dossier.pk for dossier in dossiers]
        others_by_vehicle: dict[int, list[tuple[int, OpenDossier]]] = {}
        open_rows = (
            Dossier.objects.filter(vehicle_id__in={d.vehicle_id for d in dossiers})
            .exclude(state__in=NOT_OPEN)
            .values_list("pk", "vehicle_id", "reference", "procedure", "state")
        )
        for pk, vehicle_id, reference, procedure, state in open_rows:
            others_by_vehicle.setdefault(vehicle_id, []).append(
                (pk, OpenDossier(reference, procedure, state))
            )
        rules = straight_through_rules()
        # A retried run keeps the draw already recorded: a retry must not re-roll the sample.
        previous_draws = dict(
            Assessment.objects.filter(dossier_id__in=ids).values_list("dossier_id", "sample_draw")
        )

        now = timezone.now()
        results, assessments, approve, review = [], [], {}, []
        for dossier in dossiers:
            others = [
                other for pk, other in others_by_vehicle.get(dossier.vehicle_id, []) if pk != dossier.pk
            ]
            outcomes = dossier_checks(dossier=dossier, others=others)
            results += [
                (dossier.pk, code, o.outcome, str(o.message), o.data, now) for code, o in outcomes.items()
            ]
            rule = rules[dossier.procedure]
            risk = risk_of([o.outcome for o in outcomes.values()])
            draw = None
            if risk == Risk.LOW and rule.enabled:
                draw = previous_draws.get(dossier.pk)
                if draw is None:
                    draw = draw_from.random()
            route = (
                Assessment.Route.REVIEW
                if in_queue
                else route_of(risk=risk, enabled=rule.enabled, sampling_rate=rule.sampling_rate, draw=draw)
            )
            assessments.append(
                Assessment(
                    dossier=dossier,
                    risk=risk,
                    route=route,
                    straight_through_enabled=rule.enabled,
                    sampling_rate=rule.sampling_rate,
                    sample_draw=draw,
                    assessed_at=now,
                )
            )
            if route == Assessment.Route.STRAIGHT_THROUGH:
                approve[dossier.pk] = {
                    "assessment": {
                        "risk": risk,
                        "route": route,
                        "sampling_rate": str(rule.sampling_rate),
                        "sample_draw": draw,
                    }
                }
            else:
                review.append(dossier.pk)

        # The chunk's dossiers are locked: their previous results (a rerun's, or a check that no
        # longer applies) go, and the new ones are appended in one COPY on PostgreSQL. An upsert
        # through bulk_create adapted each of the ~14 results per dossier value by value.
        CheckResult.objects.filter(dossier_id__in=ids).delete()
        rows_append(CheckResult, CHECK_RESULT_COLUMNS, results)
        Assessment.objects.bulk_create(
            assessments,
            update_conflicts=True,
            unique_fields=["dossier"],
            update_fields=[
                "risk",
                "route",
                "straight_through_enabled",
                "sampling_rate",
                "sample_draw",
                "assessed_at",
            ],
            batch_size=1000,
        )
        if approve:
            dossier_transition_many(
                dossier_ids=list(approve),
                to=State.APPROVED,
                actor=None,
                reason=_("Acceptation automatique : tous les contrôles sont conformes."),
                data=approve,
            )
    return review


def checks_run_queued(*, dossier_ids: list[int]) -> list[int]:
    """Run and store the checks of queued dossiers that never had them (queued by a path that
    skipped the checks: data loaded by a script, dossiers queued before the claim required them);
    return the ids checked. They stay in their queue, now claimable, their risk known."""
    return dossiers_assess(dossier_ids=dossier_ids, state=State.QUEUED)


def checks_run(*, dossier_ids: list[int], rng: random.Random | None = None) -> None:
    """Check the chunk's dossiers still submitted: each ends approved or routed to a centre."""
    to_route = dossiers_assess(dossier_ids=dossier_ids, rng=rng)
    if to_route:
        # After the commit above: if routing fails, the dossiers stay submitted with their results,
        # the sweep re-runs this and the recorded draws are reused.
        routing.dossiers_route(dossier_ids=to_route)


def checks_enqueue(*, dossier_ids: list[int]) -> int:
    """Queue the checks of these dossiers, one task per CHECK_CHUNK_SIZE ids, after commit."""
    size = max(1, int(getattr(settings, "CHECK_CHUNK_SIZE", 500)))
    ids = sorted(set(dossier_ids))
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    for chunk in chunks:
        task_enqueue("cert_workflow.tasks.check_dossiers", chunk)
    return len(chunks)
