"""Personal API tokens of the portal's own, stored hashed, replacing DRF's plain-text authtoken.

Keys of DRF's table, where it exists, are carried over as digests (so clients keep working until
their expiry), then the table is dropped: no plain secret stays in the database.
"""

import hashlib
from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

DRF_TABLE = "authtoken_token"


def carry_over_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("portal", "ApiToken")
    now = django.utils.timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, user_id FROM {DRF_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.using(connection.alias).bulk_create(
        ApiToken(
            user_id=user_id,
            name="Jeton d'API",
            digest=hashlib.sha256(key.encode()).hexdigest(),
            prefix=key[:8],
            created_at=now,
            expires_at=now + timedelta(days=settings.API_TOKEN_DAYS),
        )
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {DRF_TABLE}")
    # rest_framework.authtoken is no longer installed; should it come back, its migrations must
    # run again to recreate the table.
    schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_hashed_organisation_tokens"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(editable=False, max_length=64, unique=True)),
                ("prefix", models.CharField(editable=False, max_length=16, verbose_name="début du jeton")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="créé le"),
                ),
                ("expires_at", models.DateTimeField(blank=True, verbose_name="expire le")),
                (
                    "last_used_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="dernière utilisation"
                    ),
                ),
                ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="révoqué le")),
                ("name", models.CharField(max_length=100, verbose_name="nom")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "jeton d'API personnel",
                "verbose_name_plural": "jetons d'API personnels",
                "indexes": [models.Index(fields=["user", "-created_at"], name="apitoken_user_created_idx")],
            },
        ),
        migrations.RunPython(carry_over_drf_tokens, migrations.RunPython.noop, elidable=False),
    ]
