"""`manage.py register_load <file.csv>`: load the vehicles registered before the portal.

One row per vehicle: its certificate fields and its holder's under their docs/domain/FIELDS.md
names (vin, plate, make, ..., holder_kind, last_name, birth_date, ..., postcode), the
`formule_number` of its current title and optionally `issued_at` (AAAA-MM-JJ), `holder_is_owner`
(true/false, C.4a: false for a leased vehicle; true when absent) and `validity_until` (AAAA-MM-JJ, H). Idempotent on the
VIN: a vehicle already in the register is left as it is, so the file can be loaded again. Every
row is checked by the rules of a dossier; a wrong row is reported with its line and the others load.
"""

import csv
from datetime import date, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossiers.errors import InvalidInput
from dossiers.models import HOLDER_FIELDS, VEHICLE_FIELDS
from dossiers.register import register_entry_load


class Command(BaseCommand):
    help = gettext_lazy("Charge le fichier du registre (véhicules immatriculés avant le portail).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options) -> None:
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        created = existing = 0
        errors: list[str] = []
        with handle:
            reader = csv.DictReader(handle)
            unknown = set(reader.fieldnames or ()) - {
                *VEHICLE_FIELDS,
                *HOLDER_FIELDS,
                "formule_number",
                "issued_at",
                "holder_is_owner",
                "validity_until",
            }
            if unknown:
                raise CommandError(
                    _("Colonnes inconnues : %(names)s") % {"names": ", ".join(sorted(unknown))}
                )
            for line, row in enumerate(reader, start=2):
                values = {name: (value or "").strip() for name, value in row.items()}
                try:
                    issued_at = None
                    if values.get("issued_at"):
                        issued_at = timezone.make_aware(datetime.fromisoformat(values["issued_at"]))
                    owner = values.get("holder_is_owner", "").lower()
                    if owner not in ("", "true", "false", "1", "0", "oui", "non"):
                        errors.append(f"{_('ligne')} {line}: holder_is_owner true/false")
                        continue
                    validity = None
                    if values.get("validity_until"):
                        validity = date.fromisoformat(values["validity_until"])
                    _title, new = register_entry_load(
                        vehicle={name: values[name] for name in VEHICLE_FIELDS if values.get(name)},
                        holder={name: values[name] for name in HOLDER_FIELDS if values.get(name)},
                        formule_number=values.get("formule_number", ""),
                        issued_at=issued_at,
                        holder_is_owner=owner not in ("false", "0", "non"),
                        validity_until=validity,
                    )
                except InvalidInput as exc:
                    errors.append(f"{_('ligne')} {line}: {exc}")
                    continue
                except ValueError:
                    errors.append(f"{_('ligne')} {line}: issued_at, validity_until AAAA-MM-JJ")
                    continue
                created += new
                existing += not new
        for error in errors:
            self.stderr.write(error)
        self.stdout.write(
            _(
                "Registre : %(created)d titres chargés, %(existing)d déjà présents, %(errors)d lignes refusées."
            )
            % {"created": created, "existing": existing, "errors": len(errors)}
        )
        if errors:
            raise CommandError(_("%(n)d lignes refusées.") % {"n": len(errors)})
