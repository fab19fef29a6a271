"""Audit records are append-only: the database itself refuses an UPDATE (both engines)."""
from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER security_auditrecord_no_update BEFORE UPDATE ON security_auditrecord
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS security_auditrecord_no_update;"

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION security_auditrecord_refuse_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER security_auditrecord_no_update BEFORE UPDATE ON security_auditrecord
FOR EACH ROW EXECUTE FUNCTION security_auditrecord_refuse_update();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS security_auditrecord_no_update ON security_auditrecord;
DROP FUNCTION IF EXISTS security_auditrecord_refuse_update();
"""


def forwards(apps, schema_editor):
    sql = POSTGRES_UP if schema_editor.connection.vendor == "postgresql" else SQLITE_UP
    schema_editor.execute(sql)


def backwards(apps, schema_editor):
    sql = POSTGRES_DOWN if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("security", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
