"""Every write to a dossier. Views, API, tasks and commands call these; nothing else writes."""

import functools
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers import fees as fees_module
from dossiers import states
from dossiers.bulk import pk_in, rows_append
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import (
    HOLDER_FIELDS,
    VEHICLE_FIELDS,
    Document,
    DocumentKind,
    Dossier,
    DossierEvent,
    Holder,
    Payment,
    Procedure,
    Sale,
    State,
    TitleMention,
    Vehicle,
)
from dossiers.sequences import counter_next
from dossiers.validation import (
    dossier_facts_clean,
    holder_clean,
    merge_errors,
    part_clean,
    vehicle_clean,
)
from portal.models import Role, User

logger = logging.getLogger(__name__)

# Follow-up work started when a dossier enters a state (checks on submit, rendering on approval...).
# Registered by the apps that do that work (cert_workflow registers in its AppConfig.ready), so that
# dossiers never imports cert_workflow. Each hook gets, after commit, the list of dossier ids that
# entered the state in one transaction: one id for a single transition, a whole chunk for a batch,
# so that batch work stays set-based.
_ON_ENTER: dict[str, list[Callable[[list[int]], Any]]] = defaultdict(list)

# Procedures that put a new vehicle on French roads: they pay the malus (Y.3).
FIRST_IN_FRANCE = {Procedure.FIRST_REGISTRATION, Procedure.IMPORT}
# Procedures that produce no new certificate and so pay nothing.
FREE_PROCEDURES = {Procedure.SALE_DECLARATION, Procedure.CHANGE_OF_ADDRESS, Procedure.CORRECTION}


def register_on_enter(state: str, hook: Callable[[list[int]], Any]) -> None:
    """Call hook(dossier_ids) after the commit of every transition into `state`."""
    if hook not in _ON_ENTER[state]:
        _ON_ENTER[state].append(hook)


def event_record(
    *,
    dossier: Dossier,
    actor: User | None,
    action: str,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict | None = None,
) -> DossierEvent:
    """Append one audit row for `dossier` (never updated, never deleted)."""
    return DossierEvent.objects.create(
        dossier=dossier,
        actor=actor,
        actor_role=states.role_of(actor),
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )


def actor_may_act_on(*, actor: User | None, dossier: Dossier) -> bool:
    """Whether `actor` acts within their scope on `dossier` (own, organisation's or centre's)."""
    if actor is None or actor.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if actor.role == Role.CITIZEN:
        return dossier.applicant_id == actor.id
    if actor.role == Role.DEALER:
        return dossier.organisation_id is not None and dossier.organisation_id == actor.organisation_id
    if actor.role == Role.AGENT:
        return dossier.cert_id is not None and dossier.cert_id == actor.cert_id
    return False


def dossier_transition(
    *,
    dossier: Dossier | int,
    to: str,
    actor: User | None,
    reason: str = "",
    data: dict | None = None,
    changes: dict[str, Any] | None = None,
) -> Dossier:
    """Move a dossier to `to` under a row lock, with its audit event; follow-ups run after commit.

    The state is re-read under the lock, so of two concurrent transitions from the same state only
    the first succeeds; the second raises TransitionNotAllowed. `changes` are other fields written in
    the same update (the CERT when queuing, the agent when claiming...).
    """
    dossier_id = dossier if isinstance(dossier, int) else dossier.pk
    role = states.role_of(actor)
    with transaction.atomic():
        locked = Dossier.objects.select_for_update().get(pk=dossier_id)
        from_state = locked.state
        states.check(from_state, to, role=role)
        if not actor_may_act_on(actor=actor, dossier=locked):
            raise states.TransitionNotAllowed(from_state, to, role)

        fields = states.entry(from_state, to).values(now=timezone.now())
        fields.update(changes or {})
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])

        event_data = dict(data or {})
        if changes:
            event_data["changes"] = {k: getattr(v, "pk", v) for k, v in changes.items() if k != "due_at"}
        event_record(
            dossier=locked,
            actor=actor,
            action="transition",
            from_state=from_state,
            to_state=to,
            reason=reason,
            data=_jsonable(event_data),
        )
        for hook in _ON_ENTER.get(to, []):
            transaction.on_commit(lambda hook=hook: hook([dossier_id]))

    if not isinstance(dossier, int):
        dossier.refresh_from_db()
        return dossier
    return locked


# The columns of an audit row written in bulk (dossiers.bulk.rows_append).
EVENT_COLUMNS = (
    "dossier_id",
    "actor_id",
    "actor_role",
    "action",
    "from_state",
    "to_state",
    "reason",
    "data",
    "created_at",
)


def dossier_transition_many(
    *,
    dossier_ids: list[int],
    to: str,
    actor: User | None,
    reason: str = "",
    changes: dict[int, dict[str, Any]] | None = None,
    data: dict[int, dict] | None = None,
    skip_locked: bool = False,
) -> list[int]:
    """Move many dossiers to `to` in a few queries; return the ids moved.

    The set-based twin of dossier_transition for batch work (routing, rebalancing, sweeps): the
    same table check, the same audit event per dossier, the same follow-ups. Dossiers that may not
    make the move (already moved by someone else, or locked when `skip_locked`) are left as they are
    and not returned, so a rerun is harmless.
    """
    role, actor_id = states.role_of(actor), actor.pk if actor is not None else None
    changes, data = changes or {}, data or {}
    moved: list[int] = []
    with transaction.atomic():
        columns = ("pk", "state", "applicant_id", "organisation_id", "cert_id")
        rows = [
            SimpleNamespace(**dict(zip(columns, values, strict=True)))
            for values in Dossier.objects.select_for_update(skip_locked=skip_locked)
            .filter(pk_in(dossier_ids))
            .order_by("pk")
            .values_list(*columns)
        ]
        now = timezone.now()
        entries: dict[str, dict[str, Any]] = {}  # by the state a row leaves
        # Rows that get the same values are written by one UPDATE (one per centre when routing),
        # much cheaper than a per-row CASE.
        groups: dict[tuple, tuple[dict[str, Any], list[int]]] = {}
        events = []
        for row in rows:
            if role not in states.TRANSITIONS.get(row.state, {}).get(to, frozenset()):
                continue
            if not actor_may_act_on(actor=actor, dossier=row):
                continue
            if row.state not in entries:
                entries[row.state] = {**states.entry(row.state, to).values(now=now), "updated_at": now}
            values = dict(entries[row.state])
            extra = changes.get(row.pk, {})
            values.update(extra)
            key = tuple(sorted((k, getattr(v, "pk", v)) for k, v in values.items()))
            groups.setdefault(key, (values, []))[1].append(row.pk)
            event_data = dict(data.get(row.pk, {}))
            if extra:
                event_data["changes"] = {k: getattr(v, "pk", v) for k, v in extra.items() if k != "due_at"}
            events.append(
                (row.pk, actor_id, role, "transition", row.state, to, reason, _jsonable(event_data), now)
            )
            moved.append(row.pk)
        for values, ids in groups.values():
            Dossier.objects.filter(pk_in(ids)).update(**values)
        if moved:
            rows_append(DossierEvent, EVENT_COLUMNS, events)
            for hook in _ON_ENTER.get(to, []):
                transaction.on_commit(lambda hook=hook, ids=list(moved): hook(ids))
    return moved


def dossier_claim_next(*, agent: User, order: tuple[str, ...]) -> Dossier | None:
    """The agent's dossier in review (lease renewed), else the next queued dossier of their centre
    in `order`, now in review under their name with its audit event; None if none waits.

    The transition `dossier_transition` would make (queued -> in_review, table check, audit event,
    follow-ups), written for the hottest path of the portal: on PostgreSQL one statement, so one
    round trip, resumes or claims and writes the event. Concurrent claimers skip each other's
    locked rows. An agent reviews one dossier at a time (constraint dossier_one_review_per_agent):
    when two claims of the same agent race (a double click), the second fails on the constraint
    once the first commits, and its retry resumes the first one's dossier.
    """
    states.check(State.QUEUED, State.IN_REVIEW, role=states.role_of(agent))
    if agent.cert_id is None:
        return None
    if connection.vendor != "postgresql":
        return _claim_orm(agent=agent, order=order)
    for attempt in range(3):
        try:
            # Alone, the statement is its own transaction; inside the caller's, a savepoint keeps
            # that transaction usable for the retry.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                dossier = _claim_statement(agent=agent, order=order)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if dossier is not None and not dossier.resumed:
        dossier_id = dossier.pk
        for hook in _ON_ENTER.get(State.IN_REVIEW, []):
            transaction.on_commit(lambda hook=hook: hook([dossier_id]))
    return dossier


@functools.cache
def _claim_sql(order: tuple[str, ...]) -> str:
    """The resume-or-claim statement (PostgreSQL), built once per claim order from the models'
    tables and columns."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in Dossier._meta.concrete_fields)
    event_columns = ", ".join(
        qn(DossierEvent._meta.get_field(name).column)
        for name in (
            "dossier",
            "actor",
            "actor_role",
            "action",
            "from_state",
            "to_state",
            "reason",
            "data",
            "created_at",
        )
    )
    # Identifiers from the models' metadata and the two states are interpolated; the other values
    # are parameters. The states must be literals: with `state = $1` a generic plan cannot use the
    # partial queue index (its predicate is `state = 'queued'`), so PostgreSQL would plan the
    # statement afresh on every claim, which costs more than running it.
    # claimed_by is set in review only (constraint dossier_claimed_only_in_review), and its
    # unique index answers "held" whatever the statistics say about the states.
    queued, in_review = _sql_literal(State.QUEUED), _sql_literal(State.IN_REVIEW)
    sql = f"""
        WITH held AS (
            UPDATE {qn(Dossier._meta.db_table)} SET due_at = %(due)s, updated_at = %(now)s
            WHERE claimed_by_id = %(agent)s
            RETURNING {columns}
        ), next AS (
            SELECT id FROM {qn(Dossier._meta.db_table)}
            WHERE cert_id = %(cert)s AND state = {queued} AND NOT EXISTS (SELECT FROM held)
            ORDER BY {{order}} LIMIT 1 FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE {qn(Dossier._meta.db_table)} AS d
            SET {{claim_set}}, claimed_by_id = %(agent)s, updated_at = %(now)s
            FROM next WHERE d.id = next.id
            RETURNING {", ".join(f"d.{qn(f.column)}" for f in Dossier._meta.concrete_fields)}
        ), event AS (
            INSERT INTO {qn(DossierEvent._meta.db_table)} ({event_columns})
            SELECT id, %(agent)s, %(role)s, 'transition', {queued}, {in_review}, '',
                   %(data)s::jsonb, %(now)s
            FROM claimed
        )
        SELECT {columns}, false AS resumed FROM claimed
        UNION ALL SELECT {columns}, true FROM held
    """  # noqa: S608
    return sql.replace("{order}", _order_sql(order)).replace("{claim_set}", _claim_set_sql())


def _claim_set_sql() -> str:
    """The SET list of queued -> in_review from states.entry, the definition the ORM paths use:
    the state as a literal, the stamped fields at %(now)s, the clock at %(due)s."""
    entry = states.entry(State.QUEUED, State.IN_REVIEW)
    assert entry.due_in is not None and not entry.releases_claim
    qn = connection.ops.quote_name
    columns = {name: qn(Dossier._meta.get_field(name).column) for name in ("state", "due_at", *entry.stamped)}
    return ", ".join(
        [
            f"{columns['state']} = {_sql_literal(entry.state)}",
            *(f"{columns[name]} = %(now)s" for name in entry.stamped),
            f"{columns['due_at']} = %(due)s",
        ]
    )


def _sql_literal(value: str) -> str:
    """A string constant of the code (a state, never user input) as an SQL literal."""
    if not value.replace("_", "").isalnum() or not value.isascii():
        raise ValueError(f"not a plain identifier: {value!r}")
    return f"'{value}'"


def _order_sql(order: tuple[str, ...]) -> str:
    """An ORDER BY clause from ORM-style names ("-priority", "queued_at", "pk")."""
    parts = []
    for name in order:
        field = Dossier._meta.pk if name.lstrip("-") == "pk" else Dossier._meta.get_field(name.lstrip("-"))
        parts.append(connection.ops.quote_name(field.column) + (" DESC" if name.startswith("-") else ""))
    return ", ".join(parts)


def _claim_statement(*, agent: User, order: tuple[str, ...]) -> Dossier | None:
    """Run the claim statement with server-side binding, so that the connection prepares it
    (settings: DATABASE_PREPARED_STATEMENTS). After five runs PostgreSQL keeps its generic plan
    instead of planning the statement (about half a millisecond) on every claim. Django's own
    cursors bind on the client and are never prepared."""
    now = timezone.now()
    params = {
        "agent": agent.pk,
        "cert": agent.cert_id,
        "role": states.role_of(agent),
        "now": now,
        "due": now + states.entry(State.QUEUED, State.IN_REVIEW).due_in,
        "data": json.dumps({"changes": {"claimed_by": agent.pk}}),
    }
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_claim_sql(order), params, prepare=True)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = Dossier._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=False)
    ]
    dossier = Dossier.from_db(connection.alias, [field.attname for field in fields], values)
    dossier.resumed = row[-1]
    return dossier


def _claim_orm(*, agent: User, order: tuple[str, ...]) -> Dossier | None:
    """The same resume-or-claim through the ORM, for databases without data-modifying CTEs
    (SQLite, the embedded mode, where writers take turns anyway)."""
    with transaction.atomic():
        return _claim_orm_locked(agent=agent, order=order)


def _claim_orm_locked(*, agent: User, order: tuple[str, ...]) -> Dossier | None:
    # The agent's row is the lock against a double click (the constraint would refuse the second).
    User.objects.select_for_update().filter(pk=agent.pk).values_list("pk").first()
    held_id = Dossier.objects.filter(claimed_by=agent).values_list("pk", flat=True).first()
    if held_id is not None:
        now = timezone.now()
        Dossier.objects.filter(pk=held_id).update(due_at=now + states.clock(State.IN_REVIEW), updated_at=now)
        dossier = Dossier.objects.get(pk=held_id)
        dossier.resumed = True
        return dossier
    next_id = (
        Dossier.objects.filter(cert_id=agent.cert_id, state=State.QUEUED)
        .order_by(*order)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
        .first()
    )
    if next_id is None:
        return None
    dossier = dossier_transition(
        dossier=next_id, to=State.IN_REVIEW, actor=agent, changes={"claimed_by": agent}
    )
    dossier.resumed = False
    return dossier


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def reference_next(*, on: date | None = None) -> str:
    """A new dossier reference, CG-<year>-<7 digits>, never handed out twice."""
    year = (on or timezone.localdate()).year
    return f"CG-{year}-{counter_next(f'reference-{year}'):07d}"


def _vehicle_for(*, procedure: str, clean: dict[str, Any]) -> Vehicle:
    existing = Vehicle.objects.filter(vin=clean["vin"]).first()
    if procedure in FIRST_IN_FRANCE:
        if existing is not None and existing.plate:
            raise InvalidInput(
                [
                    FieldError(
                        "vehicle.vin",
                        "vin_already_registered",
                        _(
                            "Ce VIN est déjà immatriculé (%(plate)s) : "
                            "ce n'est pas une première immatriculation."
                        )
                        % {"plate": existing.plate},
                        _("le VIN d'un véhicule jamais immatriculé en France"),
                    )
                ]
            )
        if existing is not None:
            return existing
        return Vehicle.objects.create(**clean)
    if existing is not None:
        return existing
    if not clean.get("plate"):
        raise InvalidInput(
            [
                FieldError(
                    "vehicle.plate",
                    "required",
                    _("L'immatriculation actuelle est obligatoire pour cette démarche."),
                    "AA-123-AA",
                )
            ]
        )
    return Vehicle.objects.create(**clean)


def dossier_create(
    *,
    procedure: str,
    vehicle: dict[str, Any] | None,
    holder: dict[str, Any] | None,
    filed_by: User,
    applicant: User | None = None,
    facts: dict[str, Any] | None = None,
    priority: int = 0,
) -> Dossier:
    """Create a draft dossier with its vehicle and holder, or raise InvalidInput and write nothing.

    `facts` are the procedure's own inputs (validation.PROCEDURE_FACTS: sale, duplicate_reason,
    holder_is_owner, validity_until); any other key is refused as an unknown field. Every error of
    the procedure, vehicle, holder and facts is raised at once."""
    if filed_by.role not in (Role.CITIZEN, Role.DEALER):
        raise InvalidInput(
            [
                FieldError(
                    "procedure",
                    "role",
                    _("Seuls les usagers et les professionnels habilités déposent des dossiers."),
                )
            ]
        )

    def procedure_clean() -> str:
        if procedure not in Procedure.values:
            raise InvalidInput(
                [FieldError("procedure", "choice", _("Démarche inconnue."), ", ".join(Procedure.values))]
            )
        return procedure

    _procedure, vehicle_data, holder_data, facts_data = merge_errors(
        procedure_clean,
        lambda: part_clean(vehicle, name="vehicle", allowed=VEHICLE_FIELDS, clean=vehicle_clean),
        lambda: part_clean(holder, name="holder", allowed=HOLDER_FIELDS, clean=holder_clean),
        lambda: dossier_facts_clean(procedure=procedure, facts=facts or {}),
    )
    sale_data = facts_data.pop("sale", None)
    if filed_by.role == Role.CITIZEN:
        applicant = filed_by
    organisation = filed_by.organisation if filed_by.role == Role.DEALER else None

    with transaction.atomic():
        try:
            with transaction.atomic():
                vehicle_row = _vehicle_for(procedure=procedure, clean=vehicle_data)
        except IntegrityError as exc:  # a concurrent request created the same VIN or plate
            raise InvalidInput(
                [
                    FieldError(
                        "vehicle.vin",
                        "vin_duplicate",
                        _("Ce véhicule est en cours d'enregistrement par ailleurs."),
                    )
                ]
            ) from exc
        holder_row = Holder.objects.create(**holder_data)
        dossier = Dossier.objects.create(
            reference=reference_next(),
            procedure=procedure,
            state=State.DRAFT,
            applicant=applicant,
            filed_by=filed_by,
            organisation=organisation,
            vehicle=vehicle_row,
            holder=holder_row,
            priority=priority,
            due_at=timezone.now() + states.clock(State.DRAFT),
            **facts_data,
        )
        if sale_data is not None:
            Sale.objects.create(dossier=dossier, **sale_data)
        event_record(dossier=dossier, actor=filed_by, action="created", to_state=State.DRAFT)
    return dossier


def title_mentions_set(*, dossier: Dossier, mentions: list[str]) -> list[TitleMention]:
    """Replace the dossier's mentions Z.1–Z.4 (the register's or an agent's, never the applicant's)."""
    texts = [text.strip() for text in mentions if text and text.strip()]
    if len(texts) > 4:
        raise InvalidInput([FieldError("mentions", "max_items", _("Quatre mentions au plus (Z.1 à Z.4)."))])
    with transaction.atomic():
        TitleMention.objects.filter(dossier=dossier).delete()
        return TitleMention.objects.bulk_create(
            [TitleMention(dossier=dossier, position=n, text=text) for n, text in enumerate(texts, start=1)]
        )


def payment_record(
    *,
    dossier: Dossier,
    amount: Decimal,
    provider: str,
    provider_reference: str,
    paid_at: datetime | None = None,
) -> Payment:
    """Record a payment confirmed by a payment provider; a reference seen before records nothing new.

    The only writer of Payment: an applicant never declares a payment, the provider confirms it."""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount <= 0:
        raise InvalidInput([FieldError("amount", "range", _("Le montant doit être positif."), "> 0")])
    with transaction.atomic():
        payment, created = Payment.objects.get_or_create(
            provider_reference=provider_reference,
            defaults={
                "dossier": dossier,
                "amount": amount,
                "provider": provider,
                "paid_at": paid_at or timezone.now(),
            },
        )
        if created:
            event_record(
                dossier=dossier,
                actor=None,
                action="payment_recorded",
                data={"amount": str(amount), "provider": provider, "provider_reference": provider_reference},
            )
        elif payment.dossier_id != dossier.pk:
            raise InvalidInput(
                [
                    FieldError(
                        "provider_reference",
                        "payment_other_dossier",
                        _("Cette référence de paiement appartient à un autre dossier."),
                    )
                ]
            )
    return payment


def dossier_fees(*, dossier: Dossier, on: date | None = None) -> fees_module.Fees:
    """The fees Y.1–Y.6 owed for this dossier's procedure, vehicle and holder on date `on`."""
    on = on or timezone.localdate()
    vehicle = dossier.vehicle
    age = None
    if vehicle.first_registration_date:
        age = (on - vehicle.first_registration_date).days // 365
    computed = fees_module.compute_fees(
        fiscal_power=vehicle.fiscal_power,
        energy=vehicle.energy,
        genre=vehicle.genre,
        co2_g_km=vehicle.co2_g_km,
        mass_kg=vehicle.mass_kg,
        ptac_kg=vehicle.ptac_kg,
        department=dossier.holder.department,
        on=on,
        first_registration_in_france=dossier.procedure in FIRST_IN_FRANCE,
        vehicle_age_years=age or 0,
    )
    if dossier.procedure in FREE_PROCEDURES:
        zero = Decimal("0.00")
        return fees_module.Fees(
            y1=zero, y2=zero, y3=zero, y4=zero, y5=zero, y6=zero, notes=(_("Démarche gratuite."),)
        )
    if dossier.procedure == Procedure.DUPLICATE:
        # The regional tax of a duplicate is disputed in the sources (?): only the fixed parts here.
        y6 = computed.y4 + computed.y5
        zero = Decimal("0.00")
        return fees_module.Fees(
            y1=zero,
            y2=zero,
            y3=zero,
            y4=computed.y4,
            y5=computed.y5,
            y6=y6,
            notes=(_("Duplicata : taxe fixe et redevance d'acheminement seulement."),),
        )
    return computed


def dossier_submit(*, dossier: Dossier, actor: User) -> Dossier:
    """Submit a draft: fees computed and frozen on the dossier, checks start after commit."""
    try:
        owed = dossier_fees(dossier=dossier)
    except fees_module.FeesUnavailable as exc:
        raise InvalidInput([FieldError("fees", "fees_unavailable", str(exc))]) from exc
    changes = {f"y{i}": getattr(owed, f"y{i}") for i in range(1, 7)}
    return dossier_transition(
        dossier=dossier,
        to=State.SUBMITTED,
        actor=actor,
        changes=changes,
        data={"fee_notes": list(getattr(owed, "notes", ()))},
    )


def dossier_withdraw(*, dossier: Dossier, actor: User, reason: str = "") -> Dossier:
    """The applicant abandons their dossier."""
    return dossier_transition(dossier=dossier, to=State.WITHDRAWN, actor=actor, reason=reason)


# The content types accepted for documents, by their first bytes (never by the uploaded name).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def detect_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def document_attach(*, dossier: Dossier, kind: str, uploaded: UploadedFile, actor: User) -> Document:
    """Store one document of `dossier` with its SHA-256, size and detected type (PDF, JPEG, PNG)."""
    from django.conf import settings

    if actor.role not in states.OWNER_ROLES or not actor_may_act_on(actor=actor, dossier=dossier):
        raise PermissionDenied(_("Seul le demandeur ajoute des pièces à son dossier."))
    errors = []
    if dossier.state not in (State.DRAFT, State.AWAITING_COMPLEMENT):
        errors.append(
            FieldError(
                "dossier",
                "state",
                _("Les pièces s'ajoutent à un brouillon ou en réponse à une demande de complément."),
                "draft, awaiting_complement",
            )
        )
    if kind not in DocumentKind.values:
        errors.append(
            FieldError("kind", "choice", _("Type de pièce inconnu."), ", ".join(DocumentKind.values))
        )
    if uploaded.size > settings.DOCUMENT_MAX_BYTES:
        errors.append(
            FieldError(
                "file",
                "file_too_large",
                _("Le fichier dépasse %(mb)d Mo.") % {"mb": settings.DOCUMENT_MAX_BYTES // 2**20},
                _("%(mb)d Mo au plus") % {"mb": settings.DOCUMENT_MAX_BYTES // 2**20},
            )
        )
    if uploaded.size == 0:
        errors.append(FieldError("file", "file_empty", _("Le fichier est vide.")))
    digest = hashlib.sha256()
    head = b""
    if not errors:
        for chunk in uploaded.chunks():
            if not head:
                head = chunk[:16]
            digest.update(chunk)
        content_type = detect_content_type(head)
        if content_type is None:
            errors.append(FieldError("file", "file_type", _("Format non accepté."), "PDF, JPEG, PNG"))
    if errors:
        raise InvalidInput(errors)
    sha256 = digest.hexdigest()
    uploaded.seek(0)
    with transaction.atomic():
        Dossier.objects.select_for_update().filter(pk=dossier.pk).first()
        existing = Document.objects.filter(dossier=dossier, kind=kind, sha256=sha256).first()
        if existing is not None:
            return existing
        document = Document(
            dossier=dossier,
            kind=kind,
            sha256=sha256,
            size=uploaded.size,
            content_type=content_type,
            uploaded_by=actor,
            original_name=(uploaded.name or "")[:200],
        )
        document.file.save(sha256, uploaded, save=False)
        document.save()
        event_record(
            dossier=dossier,
            actor=actor,
            action="document_attached",
            data={"kind": kind, "sha256": sha256, "size": uploaded.size},
        )
    return document
