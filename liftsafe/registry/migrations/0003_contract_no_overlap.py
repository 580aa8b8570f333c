"""Contract periods of one elevator never overlap: a PostgreSQL exclusion constraint (btree_gist) on
(elevator, daterange(start_date, end_date, '[]')). On SQLite the services check it under the write lock
of their IMMEDIATE transaction (MaintenanceContract.clean); nothing is created there."""
from django.db import migrations

TABLE = "registry_maintenancecontract"
CONSTRAINT = "contract_no_overlap"


def _overlaps(cur) -> list:
    cur.execute(f"""
        SELECT a.elevator_id, a.id, b.id FROM {TABLE} a JOIN {TABLE} b
          ON a.elevator_id = b.elevator_id AND a.id < b.id
         WHERE a.start_date <= COALESCE(b.end_date, DATE '9999-12-31')
           AND b.start_date <= COALESCE(a.end_date, DATE '9999-12-31')
         LIMIT 20""")
    return cur.fetchall()


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        found = _overlaps(cur)
        if found:
            raise RuntimeError(
                "registry.0003: overlapping maintenance contracts (elevator, contract, contract): "
                f"{found}; correct their periods (admin or registry.services.contract_update) and migrate again")
        cur.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        cur.execute(f"""ALTER TABLE {TABLE} ADD CONSTRAINT {CONSTRAINT}
                        EXCLUDE USING gist (elevator_id WITH =, daterange(start_date, end_date, '[]') WITH &&)""")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_category_labels_translatable")]

    operations = [migrations.RunPython(forwards, backwards)]
