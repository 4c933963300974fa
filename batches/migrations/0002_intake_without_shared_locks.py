from django.db import migrations, models


def first_rows_fill(apps, schema_editor):
    """Rows received before the field existed: each repeat of a VIN points at the batch's first row
    with it, as batch_receive now records."""
    BatchRow = apps.get_model("batches", "BatchRow")
    first: dict[tuple[int, str], int] = {}
    repeats = []
    rows = BatchRow.objects.exclude(vin="").order_by("batch_id", "row_number")
    for pk, batch_id, vin, number in rows.values_list("pk", "batch_id", "vin", "row_number").iterator():
        known = first.setdefault((batch_id, vin), number)
        if known != number:
            repeats.append(BatchRow(pk=pk, first_row=known))
    BatchRow.objects.bulk_update(repeats, ["first_row"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("batches", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="batchrow",
            name="first_row",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="batchrow",
            name="reference",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.RunPython(first_rows_fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="batchrow",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["batch"], name="batch_row_pending_idx"
            ),
        ),
    ]
