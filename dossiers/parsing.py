"""Numbers, days and moments as people type them into forms, API bodies and batch rows.

Each returns None for an empty value and raises ValueError for one it cannot read; saying which
field is wrong and why is dossiers.cleaning's job.
"""

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def parse_int(raw: Any) -> int | None:
    """Integers as people type them: '1 950', '1950', 1950. Raises ValueError otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        return raw
    text = str(raw).replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not text.lstrip("-").isdigit():
        raise ValueError(raw)
    return int(text)


def parse_decimal(raw: Any) -> Decimal | None:
    """Decimals with '.' or ',' as separator. Raises ValueError otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not value.is_finite():
        raise ValueError(raw)
    return value


def parse_day(raw: Any) -> date | None:
    """Dates as ISO YYYY-MM-DD or French DD/MM/YYYY. Raises ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 3:
            raise ValueError(raw)
        text = f"{parts[2]}-{parts[1].zfill(2)}-{parts[0].zfill(2)}"
    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(raw)
    return parsed


def parse_moment(raw: Any) -> datetime | None:
    """A date and hour as ISO (2026-11-14T10:30, with or without a zone) or a day alone (midnight).

    A moment without a zone is French local time. Raises ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        moment = raw
    else:
        text = str(raw).strip()
        moment = parse_datetime(text.replace(" ", "T", 1)) if ("T" in text or " " in text) else None
        if moment is None:
            day = parse_day(text)
            moment = datetime.combine(day, time()) if day else None
        if moment is None:
            raise ValueError(raw)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
