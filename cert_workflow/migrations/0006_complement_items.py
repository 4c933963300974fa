"""The items of a complement request become rows of ComplementItem (one per document kind or field
asked for) instead of a JSON list on the request.

The JSON field is renamed first so that the new reverse accessor `items` does not collide with it,
then each list is copied into rows; 0007 drops the JSON column. Two migrations, because PostgreSQL
refuses to alter a table in the transaction that has just inserted rows referencing it (their
deferred foreign-key checks are still pending).
"""

import django.db.models.deletion
from django.db import migrations, models

# The codes and labels as they stand in this migration (a migration does not follow later changes
# of the models).
ITEM_CHOICES = [
    ("identity", "Pièce d'identité"),
    ("proof_of_address", "Justificatif de domicile"),
    ("previous_certificate", "Ancien certificat barré"),
    ("sale_certificate", "Certificat de cession (cerfa 15776)"),
    ("technical_inspection", "Contrôle technique"),
    ("police_report", "Récépissé de déclaration de vol"),
    ("coc", "Certificat de conformité"),
    ("invoice", "Facture"),
    ("mandate", "Mandat (cerfa 13757)"),
    ("insurance", "Attestation d'assurance"),
    ("driving_licence", "Permis de conduire"),
    ("customs_clearance", "Quitus fiscal ou 846A"),
    ("foreign_title", "Titre étranger"),
    ("other", "Autre"),
    ("vin", "E — VIN"),
    ("plate", "A — Immatriculation"),
    ("first_registration_date", "B — Date de première immatriculation"),
    ("make", "D.1 — Marque"),
    ("type_variant_version", "D.2 — Type variante version"),
    ("cnit", "D.2.1 — CNIT"),
    ("commercial_name", "D.3 — Dénomination commerciale"),
    ("max_mass_kg", "F.1 — Masse max techniquement admissible"),
    ("ptac_kg", "F.2 — PTAC"),
    ("ptra_kg", "F.3 — PTRA"),
    ("mass_kg", "G — Masse en service"),
    ("empty_mass_kg", "G.1 — Poids à vide national"),
    ("eu_category", "J — Catégorie CE"),
    ("genre", "J.1 — Genre national"),
    ("eu_body", "J.2 — Carrosserie CE"),
    ("body", "J.3 — Carrosserie nationale"),
    ("approval_number", "K — Numéro de réception"),
    ("displacement_cm3", "P.1 — Cylindrée"),
    ("power_kw", "P.2 — Puissance nette max"),
    ("energy", "P.3 — Énergie"),
    ("fiscal_power", "P.6 — Puissance administrative"),
    ("seats", "S.1 — Places assises"),
    ("standing_places", "S.2 — Places debout"),
    ("co2_g_km", "V.7 — CO2"),
    ("euro_class", "V.9 — Classe environnementale"),
    ("holder_kind", "Type de titulaire"),
    ("last_name", "C.1 — Nom"),
    ("first_names", "C.1 — Prénoms"),
    ("birth_date", "Date de naissance"),
    ("company_name", "C.1 — Raison sociale"),
    ("siret", "SIRET"),
    ("email", "Courriel"),
    ("address_line", "C.3 — Adresse"),
    ("postcode", "C.3 — Code postal"),
    ("city", "C.3 — Commune"),
    ("department", "Département"),
]


def items_to_rows(apps, schema_editor):
    ComplementRequest = apps.get_model("cert_workflow", "ComplementRequest")
    ComplementItem = apps.get_model("cert_workflow", "ComplementItem")
    known = {code for code, _label in ITEM_CHOICES}
    rows = []
    for request_id, codes in ComplementRequest.objects.order_by("pk").values_list("pk", "items_json"):
        # The list was validated when written; the guard keeps one stray value from stopping the
        # migration (it is dropped, as nobody could have seen it labelled).
        for code in dict.fromkeys(codes or []):
            if code in known:
                rows.append(ComplementItem(request_id=request_id, code=code))
    ComplementItem.objects.bulk_create(rows, batch_size=1000)


def rows_to_items(apps, schema_editor):
    ComplementRequest = apps.get_model("cert_workflow", "ComplementRequest")
    ComplementItem = apps.get_model("cert_workflow", "ComplementItem")
    codes: dict[int, list[str]] = {}
    for request_id, code in ComplementItem.objects.order_by("request_id", "pk").values_list(
        "request_id", "code"
    ):
        codes.setdefault(request_id, []).append(code)
    for request_id, items in codes.items():
        ComplementRequest.objects.filter(pk=request_id).update(items_json=items)


class Migration(migrations.Migration):
    dependencies = [
        ("cert_workflow", "0005_decision_days"),
    ]

    operations = [
        migrations.RenameField(model_name="complementrequest", old_name="items", new_name="items_json"),
        migrations.CreateModel(
            name="ComplementItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        choices=ITEM_CHOICES, max_length=40, verbose_name="pièce ou champ demandé"
                    ),
                ),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="items",
                        to="cert_workflow.complementrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "élément demandé",
                "verbose_name_plural": "éléments demandés",
                "ordering": ["request", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("request", "code"), name="complement_item_once_per_request"
                    )
                ],
            },
        ),
        migrations.RunPython(items_to_rows, rows_to_items),
    ]
