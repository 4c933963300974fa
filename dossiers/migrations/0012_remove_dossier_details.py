from django.db import migrations


class Migration(migrations.Migration):
    # Its own migration: PostgreSQL refuses to alter a table with the data migration's pending
    # deferred foreign-key checks in the same transaction.
    dependencies = [("dossiers", "0011_details_to_typed_facts")]

    operations = [migrations.RemoveField(model_name="dossier", name="details")]
