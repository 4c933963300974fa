"""Checking and inserting a chunk of batch rows, set-based: one pass of the shared cleaning rules
per row in Python, then a few statements for the whole chunk (no ORM save per row).

A row is rejected with every error found, each naming the row, the column as the dealer wrote it,
the rule, the message and the value received; a rejected row never stops the valid ones. The
valid rows become vehicles, holders and dossiers submitted at once (fees computed and frozen, the
audit rows of creation and submission), and the submission hooks then give them their plates
(in blocks), their CPIs and their automatic checks.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from batches.models import Batch, BatchRow, RowStatus
from dossiers import fees as fees_module
from dossiers import states
from dossiers.bulk import btree_lookups, rows_append, values_insert
from dossiers.cleaning import (
    DEALER_REQUIRED_FACTS,
    PROCEDURE_FACTS,
    dossier_facts_clean,
    holder_clean,
    merge_errors,
    part_clean,
    vehicle_clean,
    vin_clean,
)
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    Dossier,
    DossierEvent,
    Holder,
    Procedure,
    RegisteredTitle,
    State,
    Vehicle,
)
from dossiers.services import references_reserve
from dossiers.transitions import EVENT_COLUMNS, on_enter_schedule

PROCEDURE = Procedure.FIRST_REGISTRATION
ROW_PARTS = ("vehicle", "holder")
ROW_FIELDS = (*ROW_PARTS, *PROCEDURE_FACTS[PROCEDURE])
_VALUE_SHOWN = 200  # characters of a received value echoed in an error


def _vehicle_clean(raw: Any, known: dict[tuple, dict[str, Any]] | None) -> dict[str, Any]:
    """The row's vehicle by the rules of a single registration. A dealer's batch repeats a few
    models: the fields but the VIN of a vehicle already accepted in the chunk (`known`) are cleaned
    once, and only the VIN of each repeat is checked (no rule compares the VIN with another field)."""
    key = None
    if known is not None and isinstance(raw, dict):
        # Typed values: JSON's 1, 1.0 and true are equal in Python, not to the rules.
        key = tuple((name, value.__class__, value) for name, value in raw.items() if name != "vin")
        try:
            rest = known.get(key)
        except TypeError:  # a list or an object as a value: refused by the rules below
            key, rest = None, None
        if rest is not None:
            return {**rest, "vin": vin_clean(raw.get("vin"))}
    vehicle = part_clean(raw, name="vehicle", allowed=VEHICLE_FIELDS, clean=vehicle_clean)
    if key is not None:
        known[key] = {name: value for name, value in vehicle.items() if name != "vin"}
    return vehicle


def row_clean(
    data: Any, *, known: dict[tuple, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(vehicle, holder, facts) of one row, cleaned by the rules of a single dealer registration
    (dossiers.cleaning); InvalidInput with every error of the row otherwise. `known` (a dict kept
    for a chunk) remembers the vehicles already cleaned (_vehicle_clean)."""
    if not isinstance(data, dict):
        raise InvalidInput(
            [FieldError("", "object", _("Un objet est attendu pour chaque véhicule."), ", ".join(ROW_FIELDS))]
        )
    facts = {key: value for key, value in data.items() if key not in ROW_PARTS}

    def plate_refused() -> None:
        vehicle = data.get("vehicle")
        if isinstance(vehicle, dict) and vehicle.get("plate") not in (None, ""):
            raise InvalidInput(
                [
                    FieldError(
                        "vehicle.plate",
                        "plate_assigned",
                        _("L'immatriculation est attribuée dans la série nationale, elle ne se choisit pas."),
                        _("aucune immatriculation"),
                    )
                ]
            )

    def facts_required() -> None:
        missing = [name for name in DEALER_REQUIRED_FACTS if facts.get(name) in (None, "")]
        if missing:
            raise InvalidInput(
                [FieldError(name, "required", _("Ce champ est obligatoire.")) for name in missing]
            )

    vehicle, holder, clean_facts, _plate, _required = merge_errors(
        lambda: _vehicle_clean(data.get("vehicle"), known),
        lambda: part_clean(data.get("holder"), name="holder", allowed=HOLDER_FIELDS, clean=holder_clean),
        lambda: dossier_facts_clean(procedure=PROCEDURE, facts=facts),
        plate_refused,
        facts_required,
    )
    vehicle.pop("plate", None)
    return vehicle, holder, clean_facts


def _value_at(data: Any, path: str) -> str:
    value: Any = data
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = "…"
    return str(value)[:_VALUE_SHOWN]


@dataclass(slots=True)
class PendingRow:
    """A pending row of a chunk, as the intake reads it: plain values, no model instance (building
    500 BatchRow instances from their JSON cost as much as reading them)."""

    pk: int
    row_number: int
    data: Any
    columns: dict[str, str]
    vin: str  # as typed, upper case without spaces (batch_receive)
    first_row: int | None
    reference: str
    status: str = RowStatus.PENDING
    errors: list[dict[str, str]] = field(default_factory=list)
    dossier_id: int | None = None


def rows_lock(*, batch_id: int, first_row: int, last_row: int) -> list[PendingRow]:
    """The pending rows first_row..last_row of a batch, locked for the caller's transaction; rows
    locked by a concurrent run are skipped (it is doing them)."""
    return [
        PendingRow(*values)
        for values in BatchRow.objects.select_for_update(skip_locked=True)
        .filter(
            batch_id=batch_id,
            status=RowStatus.PENDING,
            row_number__gte=first_row,
            row_number__lte=last_row,
        )
        .order_by("row_number")
        .values_list("pk", "row_number", "data", "columns", "vin", "first_row", "reference")
    ]


def _first_rows_find(*, batch_id: int, rows: list[PendingRow]) -> None:
    """Set first_row on the rows of a batch received before it was recorded with them (by the
    previous version of batch_receive, during a deployment): each repeat's first row with its VIN."""
    vins = sorted({row.vin for row in rows} - {""})
    firsts = dict(
        BatchRow.objects.filter(batch_id=batch_id, vin__in=vins)
        .values("vin")
        .annotate(first=Min("row_number"))
        .values_list("vin", "first")
    )
    for row in rows:
        first = firsts.get(row.vin)
        if first is not None and first < row.row_number:
            row.first_row = first


def error_entry(error: FieldError, row: PendingRow) -> dict[str, str]:
    """One error of a row as the dealer reads it: the column of their file (the field's name for
    JSON) and the value they sent."""
    return {
        "field": error.field,
        "column": (row.columns or {}).get(error.field, error.field),
        "rule": error.rule,
        "message": str(error.message),
        "expected": str(error.expected),
        "value": _value_at(row.data, error.field),
    }


def _vin_unavailable() -> FieldError:
    return FieldError(
        "vehicle.vin",
        "vin_unavailable",
        _(
            "Ce VIN ne peut pas faire l'objet d'une première immatriculation ici : il est déjà "
            "immatriculé ou en cours d'immatriculation."
        ),
        _("le VIN d'un véhicule jamais immatriculé en France"),
    )


def _reusable_vehicles(vins: list[str]) -> tuple[dict[str, Vehicle], set[str]]:
    """Of these VINs, the vehicles left by closed dossiers only (rejected, withdrawn: nobody uses
    them, so a new registration takes the row) and the VINs registered or in use (plate, title,
    or a dossier that is open or issued). Three queries whatever the number of VINs."""
    with btree_lookups():
        existing = {
            vehicle.vin: vehicle for vehicle in Vehicle.objects.select_for_update().filter(vin__in=vins)
        }
    if not existing:
        return {}, set()
    in_use = Dossier.objects.filter(vehicle_id=OuterRef("pk")).exclude(
        state__in=(State.REJECTED, State.WITHDRAWN)
    )
    titled = RegisteredTitle.objects.filter(vehicle_id=OuterRef("pk"))
    busy = set(
        Vehicle.objects.filter(pk__in=[v.pk for v in existing.values()])
        .filter(Q(plate__gt="") | Exists(in_use) | Exists(titled))
        .values_list("vin", flat=True)
    )
    return {vin: v for vin, v in existing.items() if vin not in busy}, busy


def _fees(
    vehicle: dict[str, Any], holder: dict[str, Any], on: date, known: dict[tuple, fees_module.Fees]
) -> fees_module.Fees:
    """The fees of a new vehicle, computed once per distinct set of inputs of the chunk (`known`):
    a dealer's batch repeats a few models in a few departments, and the computation is pure."""
    inputs = {
        "fiscal_power": vehicle["fiscal_power"],
        "energy": vehicle["energy"],
        "genre": vehicle["genre"],
        "co2_g_km": vehicle.get("co2_g_km"),
        "mass_kg": vehicle.get("mass_kg"),
        "ptac_kg": vehicle.get("ptac_kg"),
        "department": holder["department"],
    }
    key = tuple(inputs.values())
    if key not in known:
        known[key] = fees_module.compute_fees(
            **inputs, on=on, first_registration_in_france=True, vehicle_age_years=0
        )
    return known[key]


def rows_intake(*, batch: Batch, rows: list[PendingRow]) -> list[int]:
    """Check these pending rows (locked by the caller's transaction), insert the valid ones as
    submitted dossiers, record each row's outcome; the new dossiers' ids."""
    now = timezone.now()
    today = timezone.localdate(now)
    errors: dict[int, list[dict[str, str]]] = {}
    cleaned: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
    known_vehicles: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        try:
            cleaned[row.pk] = row_clean(row.data, known=known_vehicles)
        except InvalidInput as exc:
            errors[row.pk] = [error_entry(error, row) for error in exc.errors]

    # A VIN repeated in the batch: the first row keeps it, each repeat is refused naming that row
    # (found when the batch was received: BatchRow.first_row).
    if not all(row.reference for row in rows):
        _first_rows_find(batch_id=batch.pk, rows=rows)
    for row in rows:
        if row.first_row is not None:
            error = FieldError(
                "vehicle.vin",
                "duplicate_in_batch",
                _("Ce VIN figure déjà à la ligne %(first)d du lot : seule cette première ligne est gardée.")
                % {"first": row.first_row},
                _("un VIN différent par ligne"),
            )
            errors.setdefault(row.pk, []).append(error_entry(error, row))
            cleaned.pop(row.pk, None)

    reusable, busy = _reusable_vehicles(sorted({cleaned[pk][0]["vin"] for pk in cleaned}))
    fees: dict[int, fees_module.Fees] = {}
    known_fees: dict[tuple, fees_module.Fees] = {}
    by_pk = {row.pk: row for row in rows}
    for pk in list(cleaned):
        vehicle, holder, _facts = cleaned[pk]
        problems = []
        if vehicle["vin"] in busy:
            problems.append(_vin_unavailable())
        else:
            try:
                fees[pk] = _fees(vehicle, holder, today, known_fees)
            except fees_module.FeesUnavailable as exc:
                problems.append(FieldError("fees", "fees_unavailable", exc.public_message, str(exc)))
            except ValueError:
                problems.append(FieldError("fees", "fees_uncomputable", str(fees_module.FEES_UNCOMPUTABLE)))
        if problems:
            errors[pk] = [error_entry(error, by_pk[pk]) for error in problems]
            del cleaned[pk]

    accepted = [row for row in rows if row.pk in cleaned]
    dossier_ids = _dossiers_insert(
        batch=batch, rows=accepted, cleaned=cleaned, fees=fees, reusable=reusable, now=now
    )
    _outcomes_record(
        rows=rows, errors=errors, dossiers=dict(zip([r.pk for r in accepted], dossier_ids, strict=True))
    )
    if connection.vendor == "postgresql":
        # The deferred foreign keys of the rows just written checked now, before the batch's row
        # is locked by its counters: the lock is then held only for the commit, and the chunks of
        # the same batch on the worker's other processes do not wait for these checks.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Batch.objects.filter(pk=batch.pk).update(
        valid=F("valid") + len(accepted), rejected=F("rejected") + len(rows) - len(accepted)
    )
    if dossier_ids:
        # After commit: the checks, then the plates (in blocks) and the CPIs of the whole chunk.
        on_enter_schedule(state=State.SUBMITTED, dossier_ids=dossier_ids)
    return dossier_ids


def _dossiers_insert(
    *,
    batch: Batch,
    rows: list[PendingRow],
    cleaned: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
    fees: dict[int, fees_module.Fees],
    reusable: dict[str, Vehicle],
    now: datetime,
) -> list[int]:
    """Vehicles, holders, dossiers (submitted) and their audit rows for the accepted rows."""
    if not rows:
        return []
    # Plain values, no model instances: building them cost more than their COPY (dossiers.bulk).
    new_vehicles, vehicle_ids = [], {}
    for row in rows:
        data = cleaned[row.pk][0]
        vehicle = reusable.get(data["vin"])
        if vehicle is not None:  # rare: a VIN left by closed dossiers only takes the new data
            for name, value in data.items():
                setattr(vehicle, name, value)
            vehicle.save(update_fields=list(data))
            vehicle_ids[row.pk] = vehicle.pk
        else:
            new_vehicles.append((row.pk, {**data, "created_at": now}))
    new_ids = values_insert(Vehicle, [data for _pk, data in new_vehicles])
    vehicle_ids.update(zip([pk for pk, _data in new_vehicles], new_ids, strict=True))
    holder_ids = values_insert(Holder, [cleaned[row.pk][1] for row in rows])

    if all(row.reference for row in rows):  # reserved when the batch was received
        references = [row.reference for row in rows]
    else:  # a batch received before references were reserved with it
        references = references_reserve(len(rows), on=timezone.localdate(now))
    # Created and submitted at once: what the transition table says a submission writes (state,
    # submitted_at, its clock), checked for the dealer's role as dossier_transition would.
    states.check(State.DRAFT, State.SUBMITTED, role=states.role_of(batch.created_by))
    common = {
        "procedure": PROCEDURE,
        "filed_by_id": batch.created_by_id,
        "organisation_id": batch.organisation_id,
        "filed_in_batch": True,
        "created_at": now,
        "updated_at": now,
        **states.entry(State.DRAFT, State.SUBMITTED).values(now=now),
    }
    dossiers = []
    for n, (row, holder_id) in enumerate(zip(rows, holder_ids, strict=True)):
        owed = fees[row.pk]
        dossiers.append(
            {
                **common,
                "reference": references[n],
                "vehicle_id": vehicle_ids[row.pk],
                "holder_id": holder_id,
                "y1": owed.y1,
                "y2": owed.y2,
                "y3": owed.y3,
                "y4": owed.y4,
                "y5": owed.y5,
                "y6": owed.y6,
                **cleaned[row.pk][2],
            }
        )
    ids = values_insert(Dossier, dossiers)
    role = states.role_of(batch.created_by)
    events = []
    for dossier_id, row in zip(ids, rows, strict=True):
        source = {"batch": batch.pk, "row": row.row_number}
        events.append((dossier_id, batch.created_by_id, role, "created", "", State.DRAFT, "", source, now))
        notes = [str(note) for note in fees[row.pk].notes]
        events.append(
            (
                dossier_id,
                batch.created_by_id,
                role,
                "transition",
                State.DRAFT,
                State.SUBMITTED,
                "",
                {**source, "fee_notes": notes},
                now,
            )
        )
    rows_append(DossierEvent, EVENT_COLUMNS, events)
    return ids


def _outcomes_record(
    *, rows: list[PendingRow], errors: dict[int, list[dict[str, str]]], dossiers: dict[int, int]
) -> None:
    """Each row's status, errors and dossier: on PostgreSQL an UPDATE ... FROM unnest for the
    accepted rows and one for the refused (Django's bulk_update builds a CASE per row and field)."""
    for row in rows:
        if row.pk in dossiers:
            row.status, row.errors, row.dossier_id = RowStatus.ACCEPTED, [], dossiers[row.pk]
        else:
            row.status, row.errors = RowStatus.REJECTED, errors.get(row.pk, [])
    if connection.vendor != "postgresql":
        BatchRow.objects.bulk_update(
            [BatchRow(pk=r.pk, status=r.status, errors=r.errors, dossier_id=r.dossier_id) for r in rows],
            ["status", "errors", "dossier_id"],
            batch_size=1000,
        )
        return
    accepted = [row for row in rows if row.status == RowStatus.ACCEPTED]
    rejected = [row for row in rows if row.status == RowStatus.REJECTED]
    table = BatchRow._meta.db_table
    with connection.cursor() as cursor:
        if accepted:  # their errors stay the empty list they were received with
            cursor.execute(
                f"UPDATE {table} AS r SET status = %s, dossier_id = v.dossier_id"  # noqa: S608 - our table
                " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, dossier_id) WHERE r.id = v.id",
                [
                    RowStatus.ACCEPTED.value,
                    [row.pk for row in accepted],
                    [row.dossier_id for row in accepted],
                ],
            )
        if rejected:
            cursor.execute(
                f"UPDATE {table} AS r SET status = %s, errors = v.errors::jsonb"  # noqa: S608 - our table
                " FROM unnest(%s::bigint[], %s::text[]) AS v(id, errors) WHERE r.id = v.id",
                [
                    RowStatus.REJECTED.value,
                    [row.pk for row in rejected],
                    [json.dumps(row.errors, ensure_ascii=False) for row in rejected],
                ],
            )
