"""PostgreSQL: a trigger refuses UPDATE or DELETE of a frozen (countersigned) visit, whatever the path
(raw SQL included). SQLite relies on the model, queryset and admin guards."""
from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION maintenance_visit_frozen_guard() RETURNS trigger AS $$
BEGIN
    IF OLD.frozen THEN
        RAISE EXCEPTION 'maintenance visit % is countersigned and frozen', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER maintenance_visit_frozen_guard BEFORE UPDATE OR DELETE ON maintenance_visit
    FOR EACH ROW EXECUTE FUNCTION maintenance_visit_frozen_guard();
"""
REVERSE = """
DROP TRIGGER IF EXISTS maintenance_visit_frozen_guard ON maintenance_visit;
DROP FUNCTION IF EXISTS maintenance_visit_frozen_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("maintenance", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
