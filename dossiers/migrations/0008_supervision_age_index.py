from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0007_drop_redundant_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(
                condition=models.Q(("state", "queued")),
                fields=["cert", "queued_at", "id"],
                name="dossier_queue_age_idx",
            ),
        ),
    ]
