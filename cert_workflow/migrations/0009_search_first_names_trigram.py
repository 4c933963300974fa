"""A trigram index on the holders' first names, for the agents' search, PostgreSQL only.

Same shape as 0002 (which indexes last and company names): UPPER(column) because `icontains`
compiles to `UPPER(col::text) LIKE UPPER(%s)` on PostgreSQL, built CONCURRENTLY (a non-atomic
migration) so that a live table is not locked for writes. On SQLite this migration does nothing.
"""

from django.db import migrations

NAME, TABLE, EXPRESSION = "holder_first_names_trgm", "dossiers_holder", "UPPER(first_names)"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON {TABLE} USING gin ({EXPRESSION} gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cert_workflow", "0008_complement_items_from_vehicle_fields")]

    operations = [migrations.RunPython(create_index, drop_index)]
