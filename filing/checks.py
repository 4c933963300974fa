"""The checks of each step of the guided forms, and where each domain error is shown.

A step's check reuses dossiers.cleaning and dossiers.register (never a rule of its own apart from
"this field of the form is required") and raises InvalidInput with every FieldError at once; the
error's field ("holder.postcode", "title", "sale.sold_at") is mapped to the form's input here.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossiers import register
from dossiers.cleaning import (
    dossier_facts_clean,
    holder_clean,
    sale_clean,
    title_clean,
    vehicle_clean,
)
from dossiers.errors import FieldError, InvalidInput
from dossiers.models import Procedure
from dossiers.parsing import parse_day
from filing.steps import (
    ADDRESS_FIELDS,
    CORRECTION,
    GENERAL,
    REASON,
    SALE,
    VEHICLE_BOUGHT,
    VEHICLE_IMPORTED,
    VEHICLE_TITLE,
    Field,
    Step,
    correction_text,
    holder_input,
    sale_input,
    title_input,
)

# --- Errors: from the domain's field to the form's input and step ---------------------------------


def input_of(error_field: str, *, procedure: str) -> tuple[str, str]:
    """(step name, input name) of a FieldError's field; the input is GENERAL for a step-wide error."""
    head, _dot, rest = error_field.partition(".")
    if head == "title":
        return "vehicle", rest or GENERAL
    if head == "vehicle":
        return "vehicle", rest or GENERAL
    if head == "holder":
        if procedure == Procedure.CHANGE_OF_ADDRESS and rest in (*ADDRESS_FIELDS, "department"):
            return "address", "postcode" if rest == "department" else rest
        return "holder", "postcode" if rest == "department" else (rest or GENERAL)
    if head == "sale":
        if rest == "code_de_cession":
            return "vehicle", rest
        if rest == "sold_at":
            return "sale", "sold_at_date"
        return "sale", rest or GENERAL
    if head == "duplicate_reason":
        return "reason", head
    if head == "correction_request":
        return "correction", head
    return "summary", GENERAL


def errors_by_input(errors: list[FieldError], *, procedure: str, step: str) -> dict[str, list[str]]:
    """{input name: [French messages]} of the errors that belong to `step`; the others are GENERAL."""
    found: dict[str, list[str]] = {}
    for error in errors:
        where, name = input_of(error.field, procedure=procedure)
        if where != step:
            name = GENERAL
        found.setdefault(name, [])
        if error.message not in found[name]:
            found[name].append(error.message)
    return found


def _required(entered: dict[str, str], fields: tuple[Field, ...], *, prefix: str) -> list[FieldError]:
    return [
        FieldError(f"{prefix}{f.name}", "required", _("Ce champ est obligatoire."))
        for f in fields
        if f.required and not (entered.get(f.name) or "").strip()
    ]


def _only(errors: list[FieldError], *, names: tuple[str, ...], prefix: str) -> list[FieldError]:
    return [e for e in errors if e.field.startswith(prefix) and e.field[len(prefix) :] in names]


def _clean_errors(func, *args, **kwargs) -> list[FieldError]:
    try:
        func(*args, **kwargs)
    except InvalidInput as exc:
        return list(exc.errors)
    return []


def _merge(*lists: list[FieldError]) -> list[FieldError]:
    """Every error once per field: a required-field error hides the domain's echo of it."""
    seen, merged = set(), []
    for errors in lists:
        for error in errors:
            if error.field in seen:
                continue
            seen.add(error.field)
            merged.append(error)
    return merged


# --- The checks of each step ----------------------------------------------------------------------


def _identity(entered: dict[str, str]) -> dict[str, Any]:
    """The identity the register's holder check compares (once its fields passed their checks)."""
    return {"last_name": entered.get("last_name", ""), "birth_date": parse_day(entered.get("birth_date"))}


def _vehicle_title_check(*, procedure: str, entered: dict[str, str]) -> None:
    """Plate and formule well formed, and the register's current title with that holder."""
    errors = _merge(
        _required(entered, VEHICLE_TITLE.fields, prefix="title."),
        _clean_errors(
            title_clean,
            {name: entered.get(name, "") for name in ("plate", "formule_number")},
            procedure=procedure,
        ),
        _only(
            _clean_errors(
                holder_clean,
                {"last_name": entered.get("last_name", ""), "birth_date": entered.get("birth_date", "")},
            ),
            names=("last_name", "birth_date"),
            prefix="holder.",
        ),
    )
    errors = [FieldError(e.field.replace("holder.", "title."), e.rule, e.message, e.expected) for e in errors]
    if errors:
        raise InvalidInput(errors)
    title = title_clean(
        {"plate": entered["plate"], "formule_number": entered["formule_number"]}, procedure=procedure
    )
    register.title_prove(title=title, holder=_identity(entered))


def _vehicle_bought_check(*, entered: dict[str, str]) -> None:
    """The seller's code de cession for this plate, or the crossed-out title's formule number."""
    code = (entered.get("code_de_cession") or "").strip()
    formule = (entered.get("formule_number") or "").strip()
    errors = _merge(
        _required(entered, VEHICLE_BOUGHT.fields, prefix="title."),
        _clean_errors(
            title_clean,
            {"plate": entered.get("plate", ""), "formule_number": formule},
            procedure=Procedure.CHANGE_OF_OWNER,
        ),
        _only(
            _clean_errors(sale_clean, {"code_de_cession": code}), names=("code_de_cession",), prefix="sale."
        ),
    )
    if not code and not formule:
        errors.append(
            FieldError(
                "sale.code_de_cession",
                "required",
                _(
                    "Indiquez le code de cession donné par le vendeur ou, à défaut, le numéro de formule du certificat barré."
                ),
            )
        )
    if errors:
        raise InvalidInput(errors)
    plate = title_clean({"plate": entered["plate"]}, procedure=Procedure.CHANGE_OF_OWNER)["plate"]
    if code:
        # The code as sale_clean normalises it; the date of the sale comes at its own step.
        normalised = sale_clean({"code_de_cession": code, "sold_at": timezone.now()})["code_de_cession"]
        # sale_for_code locks the sale row, which needs a transaction; nothing is written here.
        with transaction.atomic():
            register.sale_for_code(plate=plate, code=normalised)
    else:
        formule_number = title_clean(
            {"plate": plate, "formule_number": formule}, procedure=Procedure.CHANGE_OF_OWNER
        )["formule_number"]
        if register.title_current(plate=plate, formule_number=formule_number) is None:
            raise register.title_refused()


def _holder_check(
    *, procedure: str, entered: dict[str, str], data: dict[str, dict[str, str]], step: Step
) -> None:
    names = tuple(f.name for f in step.fields)
    holder = holder_input(procedure=procedure, data={**data, step.name: entered})
    domain = _clean_errors(holder_clean, holder)
    if step.name == "holder" and procedure == Procedure.CHANGE_OF_ADDRESS:
        domain = [e for e in domain if e.field[len("holder.") :] not in (*ADDRESS_FIELDS, "department")]
    elif step.name == "address":
        domain = [e for e in domain if e.field[len("holder.") :] in (*ADDRESS_FIELDS, "department")]
    errors = _merge(_required(entered, step.fields, prefix="holder."), domain)
    errors = [e for e in errors if e.field.partition(".")[2] in (*names, "department")]
    if errors:
        raise InvalidInput(errors)
    if procedure in register.TITLE_PROCEDURES and step.name == "holder":
        # The identity typed here is the one dossier_create proves against the register.
        register.title_prove(title=title_input(data=data), holder=_identity(entered))


def _sale_check(*, entered: dict[str, str]) -> None:
    errors = _merge(
        [
            FieldError(f"sale.{name}", "required", _("Ce champ est obligatoire."))
            for name in ("sold_at_date", "sold_at_time")
            if not (entered.get(name) or "").strip()
        ],
        _clean_errors(sale_clean, sale_input(data={"sale": entered})),
    )
    # Each of date and hour has its own required error: the domain's "sold_at required" says no more.
    if any(e.field in ("sale.sold_at_date", "sale.sold_at_time") for e in errors):
        errors = [e for e in errors if e.field != "sale.sold_at"]
    if errors:
        raise InvalidInput(errors)


def _facts_check(*, procedure: str, name: str, value: str) -> None:
    if not value.strip():
        raise InvalidInput([FieldError(name, "required", _("Ce champ est obligatoire."))])
    dossier_facts_clean(procedure=procedure, facts={name: value})


def step_check(
    *, procedure: str, step: Step, entered: dict[str, str], data: dict[str, dict[str, str]]
) -> None:
    """Raise InvalidInput with every error of this step's inputs (the register's proof included)."""
    if step is VEHICLE_TITLE:
        _vehicle_title_check(procedure=procedure, entered=entered)
    elif step is VEHICLE_BOUGHT:
        _vehicle_bought_check(entered=entered)
    elif step is VEHICLE_IMPORTED:
        errors = _merge(
            _required(entered, step.fields, prefix="vehicle."), _clean_errors(vehicle_clean, entered)
        )
        if errors:
            raise InvalidInput(errors)
    elif step.name in ("holder", "address"):
        _holder_check(procedure=procedure, entered=entered, data=data, step=step)
    elif step is SALE:
        _sale_check(entered=entered)
    elif step is REASON:
        _facts_check(procedure=procedure, name="duplicate_reason", value=entered.get("duplicate_reason", ""))
    elif step is CORRECTION:
        _facts_check(
            procedure=procedure,
            name="correction_request",
            value=correction_text(entered.get("correction_request", "")),
        )
