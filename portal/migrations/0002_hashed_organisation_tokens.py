"""Organisation tokens stored as the SHA-256 digest of their secret, with an expiry.

The plain `key` column is hashed in place, so the keys dealers already hold keep working until
their expiry (API_TOKEN_DAYS from this migration), then the column is dropped.
"""

import hashlib
import secrets
from datetime import timedelta

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def hash_keys(apps, schema_editor):
    OrganisationToken = apps.get_model("portal", "OrganisationToken")
    expires_at = django.utils.timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    for token in OrganisationToken.objects.using(schema_editor.connection.alias).only("pk", "key"):
        token.digest = hashlib.sha256(token.key.encode()).hexdigest()
        token.prefix = token.key[:8]
        token.expires_at = expires_at
        token.save(update_fields=["digest", "prefix", "expires_at"])


def unknowable_keys(apps, schema_editor):
    # Going back: the secrets cannot be recovered from their digests, so every token gets a fresh
    # random key that nobody holds, and is revoked.
    OrganisationToken = apps.get_model("portal", "OrganisationToken")
    now = django.utils.timezone.now()
    for token in OrganisationToken.objects.using(schema_editor.connection.alias).only("pk", "revoked_at"):
        token.key = secrets.token_hex(20)
        token.revoked_at = token.revoked_at or now
        token.save(update_fields=["key", "revoked_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisationtoken",
            name="digest",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="organisationtoken",
            name="prefix",
            field=models.CharField(default="", editable=False, max_length=16, verbose_name="début du jeton"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="organisationtoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="expire le"),
        ),
        migrations.AddField(
            model_name="organisationtoken",
            name="last_used_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="dernière utilisation"
            ),
        ),
        migrations.AlterField(
            model_name="organisationtoken",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="créé le"),
        ),
        migrations.AlterField(
            model_name="organisationtoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="révoqué le"),
        ),
        # Neither unique nor defaulted while it is being emptied: going back re-adds it nullable,
        # refills it with distinct keys, and only then restores the unique constraint.
        migrations.AlterField(
            model_name="organisationtoken",
            name="key",
            field=models.CharField(max_length=40, null=True),
        ),
        migrations.RunPython(hash_keys, unknowable_keys, elidable=False),
        migrations.AlterField(
            model_name="organisationtoken",
            name="digest",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="organisationtoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, verbose_name="expire le"),
        ),
        migrations.RemoveField(
            model_name="organisationtoken",
            name="key",
        ),
    ]
