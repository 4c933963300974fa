from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0006_one_review_per_agent"),
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
