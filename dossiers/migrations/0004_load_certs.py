"""Load the nine CERTs and their home departments (the split is documented in dossiers/centres.py).

Idempotent: each centre is updated or created by its code, so running it on a database that
already has some of them only brings them to the reference values. The reverse is a no-op: the
centres may already carry dossiers, which must never lose their centre.
"""

from django.db import migrations

from dossiers.centres import CERTS, cert_defaults


def load_certs(apps, schema_editor):
    Cert = apps.get_model("dossiers", "Cert")
    for entry in CERTS:
        Cert.objects.update_or_create(code=entry["code"], defaults=cert_defaults(entry))


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0003_event_append_only")]
    operations = [migrations.RunPython(load_certs, migrations.RunPython.noop)]
