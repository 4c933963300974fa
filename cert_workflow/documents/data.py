"""The values printed on an issued document, frozen at issue (IssuedDocument.data).

Keys are the certificate codes of docs/domain/REFERENCE.md §2 ("A", "B", "C.1", ... "Z.4"),
already formatted as printed (dates DD/MM/YYYY, euros with a decimal comma, "" when unknown), plus
"kind", "serial", "issued_at" and the keys of the letters (reason, items, deadline...). Rendering
reads nothing else, so a later change of the dossier never changes a document already issued.
"""

import calendar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from cert_workflow.models import ComplementRequest, DocumentKind
from cert_workflow.review.complements import complement_items
from cert_workflow.review.decisions import REJECT_REASONS
from dossiers.models import VEHICLE_FIELDS, Dossier, DossierEvent, HolderKind, Procedure, State, Vehicle

OWNER_MENTION = "EST LE PROPRIETAIRE DU VEHICULE"
DUPLICATE_MENTION = "DUPLICATA"
# Genres whose certificate carries Q (power/weight ratio): motorcycles.
MOTORCYCLE_GENRES = frozenset({"MTL", "MTT1", "MTT2", "MTTE"})
FORM_KINDS = (DocumentKind.CERTIFICATE, DocumentKind.CPI)


def day_format(value: date | datetime | str | None) -> str:
    """DD/MM/YYYY in French local time, or "" when there is no date."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.strftime("%d/%m/%Y")


def euros_format(value: Decimal | int | float | str | None) -> str:
    """12 345,60 € (a space between thousands, a decimal comma), or "" when unknown."""
    if value in (None, ""):
        return ""
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', ' ')},{cents} €"


def number_format(value: Decimal | int | float | str | None) -> str:
    """An integer as is, a decimal with a comma and without trailing zeros; "" when unknown."""
    if value in (None, ""):
        return ""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f").replace(".", ",")


def one_month_after(moment: datetime) -> datetime:
    """The same day of the next month (the last day when it has fewer days): a CPI's validity."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _holder_name(holder) -> str:
    if holder.holder_kind == HolderKind.COMPANY:
        return holder.company_name.strip()
    return f"{holder.last_name.strip().upper()} {holder.first_names.strip()}".strip()


def _holder_address(holder) -> str:
    # Two printed lines: the street, then postcode and commune.
    return f"{holder.address_line.strip()}\n{holder.postcode} {holder.city.strip()}".strip()


def _vehicle_fields(*, dossier: Dossier, issued_at: datetime) -> dict[str, str]:
    vehicle = dossier.vehicle
    # Every vehicle field is printed under its certificate code, the model field's verbose name.
    printed = {}
    for name in VEHICLE_FIELDS:
        field, value = Vehicle._meta.get_field(name), getattr(vehicle, name)
        if isinstance(field, models.DateField):
            printed[str(field.verbose_name)] = day_format(value)
        elif isinstance(field, models.IntegerField | models.DecimalField):
            printed[str(field.verbose_name)] = number_format(value)
        else:
            printed[str(field.verbose_name)] = value or ""
    if vehicle.first_registration_date is None and dossier.procedure == Procedure.FIRST_REGISTRATION:
        # A new vehicle's first registration is the one this document records.
        printed["B"] = day_format(issued_at)
    printed["Q"] = ""
    if vehicle.genre in MOTORCYCLE_GENRES and vehicle.power_kw and vehicle.mass_kg:
        printed["Q"] = number_format((Decimal(vehicle.power_kw) / vehicle.mass_kg).quantize(Decimal("0.01")))
    return printed


def _fees(dossier: Dossier) -> dict[str, str]:
    return {f"Y.{n}": euros_format(getattr(dossier, f"y{n}")) for n in range(1, 7)}


def _certificate_fields(*, dossier: Dossier, issued_at: datetime) -> dict[str, str]:
    # .all() and a sort here, not order_by(): the issuing query prefetches every dossier's mentions.
    ordered = sorted(dossier.mentions.all(), key=lambda mention: mention.position)
    mentions = [mention.text for mention in ordered if mention.text.strip()]
    if dossier.procedure == Procedure.DUPLICATE:
        mentions.insert(0, DUPLICATE_MENTION)
    mentions = (mentions + ["", "", "", ""])[:4]
    return {
        **_vehicle_fields(dossier=dossier, issued_at=issued_at),
        "C.1": _holder_name(dossier.holder),
        "C.3": _holder_address(dossier.holder),
        # Absent when the holder is not the owner (leasing, long-term rental).
        "C.4a": OWNER_MENTION if dossier.holder_is_owner else "",
        "H": day_format(dossier.validity_until),
        "I": day_format(issued_at),  # U.1, U.2 and X.1 are vehicle fields, printed above
        **_fees(dossier),
        **{f"Z.{n}": mention for n, mention in enumerate(mentions, start=1)},
    }


def _letter_base(dossier: Dossier) -> dict[str, Any]:
    vehicle = dossier.vehicle
    return {
        "reference": dossier.reference,
        "procedure": dossier.procedure,
        "procedure_label": str(Procedure(dossier.procedure).label),
        "C.1": _holder_name(dossier.holder),
        "C.3": _holder_address(dossier.holder),
        "A": vehicle.plate or "",
        "E": vehicle.vin,
        "D.1": vehicle.make,
        "D.3": vehicle.commercial_name,
        "cert": dossier.cert.name if dossier.cert_id else "",
    }


def _rejection(dossier: Dossier, extra: dict[str, Any]) -> dict[str, Any]:
    code, message = extra.get("reason_code"), extra.get("message")
    if code is None:
        event = (
            DossierEvent.objects.filter(dossier=dossier, to_state=State.REJECTED)
            .order_by("-created_at")
            .first()
        )
        data = event.data if event else {}
        code, message = data.get("reason_code", "other"), data.get("message", message or "")
    return {
        "reason_code": code,
        "reason": str(REJECT_REASONS.get(code, REJECT_REASONS["other"])),
        "message": message or "",
        "decided_on": day_format(dossier.decided_at),
    }


def _complement(dossier: Dossier, extra: dict[str, Any]) -> dict[str, Any]:
    requests = ComplementRequest.objects.filter(dossier=dossier)
    if extra.get("complement_request"):
        request = requests.get(pk=extra["complement_request"])
    else:
        request = requests.order_by("-requested_at").first()
    labels = dict(complement_items())
    if "items" in extra:  # a letter laid out without a stored request (its items given as codes)
        codes = extra["items"]
    else:
        codes = [item.code for item in request.items.all()] if request else []
    deadline = extra.get("deadline", request.deadline if request else None)
    return {
        "items": [{"code": code, "label": labels.get(code, code)} for code in codes],
        "message": extra.get("message", request.message if request else ""),
        "deadline": day_format(deadline),
        "requested_on": day_format(request.requested_at if request else None),
    }


def document_data(
    *,
    dossier: Dossier,
    kind: str,
    serial: str,
    issued_at: datetime,
    valid_until: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every value printed on the document, JSON-able and formatted as printed."""
    extra = dict(extra or {})
    if kind == DocumentKind.CPI and valid_until is None:
        valid_until = one_month_after(issued_at)
    data: dict[str, Any] = {
        "kind": str(kind),
        "serial": serial,
        "issued_at": issued_at.isoformat(),
        "issued_on": day_format(issued_at),
        "valid_until": valid_until.isoformat() if valid_until else "",
        "valid_until_on": day_format(valid_until),
        "reference": dossier.reference,
    }
    if kind in FORM_KINDS:
        data.update(_certificate_fields(dossier=dossier, issued_at=issued_at))
        if kind == DocumentKind.CPI:
            data["scope"] = _("Valable uniquement sur le territoire français")
        return data
    data.update(_letter_base(dossier))
    if kind == DocumentKind.RECEIPT:
        data["submitted_on"] = day_format(dossier.submitted_at or dossier.created_at)
        data.update(_fees(dossier))
    elif kind == DocumentKind.REJECTION_LETTER:
        data.update(_rejection(dossier, extra))
    elif kind == DocumentKind.COMPLEMENT_LETTER:
        data.update(_complement(dossier, extra))
    else:
        raise ValueError(f"unknown document kind {kind!r}")
    return data
