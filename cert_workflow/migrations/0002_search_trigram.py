"""Trigram indexes for the agents' search (holder names, VIN and plate fragments), PostgreSQL only.

Names are indexed as UPPER(column) because Django's `icontains` compiles to
`UPPER(col::text) LIKE UPPER(%s)` on PostgreSQL: an index on the bare column would not serve it.
VIN and plate are stored upper case and searched with `contains`, so the bare column is indexed.
Built CONCURRENTLY (hence a non-atomic migration) so that a live table is not locked for writes.
On SQLite (embedded mode) this migration does nothing.
"""

from django.db import migrations

INDEXES = (
    ("holder_last_name_trgm", "dossiers_holder", "UPPER(last_name)"),
    ("holder_company_name_trgm", "dossiers_holder", "UPPER(company_name)"),
    ("vehicle_vin_trgm", "dossiers_vehicle", "vin"),
    ("vehicle_plate_trgm", "dossiers_vehicle", "plate"),
)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    # The extension stays: other objects may use it, and dropping it needs more rights than creating.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cert_workflow", "0001_initial"),
        ("dossiers", "0004_load_certs"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
