"""Case counts by status: the two tables (and the worker-measured gauges), the triggers on aftersales_refundcase that keep them, and
the base filled from a direct COUNT.

PostgreSQL: an INSERT (or DELETE) statement on cases appends one delta row per status it touched
(statement triggers over the transition table: a bulk INSERT … SELECT of a million cases writes a
handful of rows); a status change appends (old, -1) and (new, +1) (a row trigger that fires only
when the status column really changes). CREATE TRIGGER locks the case table against writes until
this migration commits, so the COUNT below misses no concurrent transition.
SQLite: row triggers for INSERT and status changes. No DELETE trigger: cases are never deleted
(every reference to a case PROTECTs it), and Django's test teardown empties tables with DELETE in
no fixed order, which would leave deltas for cases that the emptied base never counted. A later
migration that makes Django rebuild aftersales_refundcase on SQLite drops these triggers: run
SQLITE_UP again in it (tests/ops/test_case_counts.py fails on both backends if they are missing).
"""

from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION casecounts_cases_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO casecounts_delta (status, delta) SELECT status, COUNT(*) FROM casecounts_new GROUP BY status;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION casecounts_cases_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO casecounts_delta (status, delta) SELECT status, -COUNT(*) FROM casecounts_old GROUP BY status;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION casecounts_status_changed() RETURNS trigger AS $$
BEGIN
    INSERT INTO casecounts_delta (status, delta) VALUES (OLD.status, -1), (NEW.status, 1);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER casecounts_insert AFTER INSERT ON aftersales_refundcase
    REFERENCING NEW TABLE AS casecounts_new FOR EACH STATEMENT EXECUTE FUNCTION casecounts_cases_inserted();
CREATE TRIGGER casecounts_delete AFTER DELETE ON aftersales_refundcase
    REFERENCING OLD TABLE AS casecounts_old FOR EACH STATEMENT EXECUTE FUNCTION casecounts_cases_deleted();
CREATE TRIGGER casecounts_status AFTER UPDATE OF status ON aftersales_refundcase
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION casecounts_status_changed();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS casecounts_status ON aftersales_refundcase;
DROP TRIGGER IF EXISTS casecounts_delete ON aftersales_refundcase;
DROP TRIGGER IF EXISTS casecounts_insert ON aftersales_refundcase;
DROP FUNCTION IF EXISTS casecounts_status_changed();
DROP FUNCTION IF EXISTS casecounts_cases_deleted();
DROP FUNCTION IF EXISTS casecounts_cases_inserted();
"""

# One statement per execute: SQLite's driver runs one at a time.
SQLITE_UP = [
    "CREATE TRIGGER casecounts_insert AFTER INSERT ON aftersales_refundcase "
    "BEGIN INSERT INTO casecounts_delta (status, delta) VALUES (NEW.status, 1); END;",
    "CREATE TRIGGER casecounts_status AFTER UPDATE OF status ON aftersales_refundcase "
    "WHEN OLD.status IS NOT NEW.status "
    "BEGIN INSERT INTO casecounts_delta (status, delta) VALUES (OLD.status, -1), (NEW.status, 1); END;",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS casecounts_status;", "DROP TRIGGER IF EXISTS casecounts_insert;"]

FILL_BASE = (
    "INSERT INTO casecounts_base (status, n) SELECT status, COUNT(*) FROM aftersales_refundcase GROUP BY status"
)


def forwards(apps, schema_editor):
    for sql in [POSTGRES_UP] if schema_editor.connection.vendor == "postgresql" else SQLITE_UP:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(FILL_BASE, params=None)


def backwards(apps, schema_editor):
    for sql in [POSTGRES_DOWN] if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    initial = True

    # The latest aftersales migration: one that rebuilt the case table on SQLite would drop the triggers.
    dependencies = [("aftersales", "0008_notification_delivered_to")]

    operations = [
        migrations.CreateModel(
            name="CaseCountBase",
            fields=[
                ("status", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("n", models.BigIntegerField()),
            ],
            options={"db_table": "casecounts_base"},
        ),
        migrations.CreateModel(
            name="CaseCountDelta",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=32)),
                ("delta", models.BigIntegerField()),
            ],
            options={"db_table": "casecounts_delta"},
        ),
        migrations.CreateModel(
            name="Gauge",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField()),
                ("measured_at", models.DateTimeField()),
            ],
            options={"db_table": "casecounts_gauge"},
        ),
        migrations.RunPython(forwards, backwards),
    ]
