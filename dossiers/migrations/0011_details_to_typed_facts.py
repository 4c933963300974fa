"""Move what the free-form Dossier.details held into the typed fields and tables.

Read keys (the only ones the code ever read): noise_db, noise_rpm, technical_inspection_date (to the
vehicle, where it has none yet), leasing (holder_is_owner), validity_until, reason (duplicate_reason),
sale_date + sale_time, mileage, code_de_cession (Sale), mentions (TitleMention). paid_amount is
dropped on purpose: it was the applicant's own claim, and only the payment service records payments.
The other keys were never read and go with the column.
"""

import re
from datetime import date, datetime, time

from django.db import migrations
from django.utils import timezone

REASONS = {"loss", "theft", "damage"}


def _day(raw):
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _int(raw):
    try:
        value = int(str(raw).replace(" ", "")) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or value >= 0 else None


def _moment(details):
    day = _day(details.get("sale_date"))
    if day is None:
        return None
    try:
        hour = time.fromisoformat(str(details.get("sale_time") or "00:00"))
    except ValueError:
        hour = time()
    return timezone.make_aware(datetime.combine(day, hour))


def forward(apps, schema_editor):
    Dossier = apps.get_model("dossiers", "Dossier")
    Sale = apps.get_model("dossiers", "Sale")
    TitleMention = apps.get_model("dossiers", "TitleMention")
    Vehicle = apps.get_model("dossiers", "Vehicle")
    # Only rows holding something: the bulk of dossiers (empty details) is never loaded.
    for dossier in Dossier.objects.exclude(details={}).exclude(details__isnull=True).iterator(chunk_size=500):
        details = dossier.details if isinstance(dossier.details, dict) else {}
        if not details:
            continue
        changed = []
        if details.get("leasing"):
            dossier.holder_is_owner = False
            changed.append("holder_is_owner")
        if _day(details.get("validity_until")):
            dossier.validity_until = _day(details["validity_until"])
            changed.append("validity_until")
        if details.get("reason") in REASONS:
            dossier.duplicate_reason = details["reason"]
            changed.append("duplicate_reason")
        if changed:
            dossier.save(update_fields=changed)

        vehicle_facts = {
            "noise_db": _int(details.get("noise_db")),
            "noise_rpm": _int(details.get("noise_rpm")),
            "technical_inspection_date": _day(details.get("technical_inspection_date")),
        }
        vehicle = Vehicle.objects.get(pk=dossier.vehicle_id)
        unset = {k: v for k, v in vehicle_facts.items() if v is not None and getattr(vehicle, k) is None}
        if unset:
            Vehicle.objects.filter(pk=vehicle.pk).update(**unset)

        sold_at, code = _moment(details), details.get("code_de_cession")
        code = re.sub(r"[\s-]", "", code).upper()[:32] if isinstance(code, str) else ""
        mileage = _int(details.get("mileage"))
        if sold_at or code or mileage is not None:
            Sale.objects.update_or_create(
                dossier_id=dossier.pk,
                defaults={"sold_at": sold_at, "code_de_cession": code, "mileage_km": mileage},
            )

        mentions = details.get("mentions") or []
        texts = (
            [str(m).strip()[:100] for m in mentions if str(m).strip()] if isinstance(mentions, list) else []
        )
        TitleMention.objects.bulk_create(
            [
                TitleMention(dossier_id=dossier.pk, position=n, text=t)
                for n, t in enumerate(texts[:4], start=1)
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0010_typed_facts")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=True)]
