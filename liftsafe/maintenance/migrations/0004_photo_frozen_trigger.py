"""PostgreSQL: photos of a frozen visit cannot be updated or deleted, whatever the path."""
from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION maintenance_photo_frozen_guard() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM maintenance_visit WHERE id = OLD.visit_id AND frozen) THEN
        RAISE EXCEPTION 'photo % belongs to a countersigned, frozen visit', OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER maintenance_photo_frozen_guard BEFORE UPDATE OR DELETE ON maintenance_visitphoto
    FOR EACH ROW EXECUTE FUNCTION maintenance_photo_frozen_guard();
"""
REVERSE = """
DROP TRIGGER IF EXISTS maintenance_photo_frozen_guard ON maintenance_visitphoto;
DROP FUNCTION IF EXISTS maintenance_photo_frozen_guard();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("maintenance", "0003_visit_photo")]
    operations = [migrations.RunPython(forwards, backwards)]
