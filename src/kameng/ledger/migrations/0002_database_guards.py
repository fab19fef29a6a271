"""The database guards the books, not only the code (the way django-hordak does).

PostgreSQL:
- a deferred constraint trigger: at commit, every journal entry a transaction touched must have
  postings that sum to zero (deferred, because an entry's postings are inserted one by one;
  migration 0003 checks INSERTs per statement instead, and keeps this one for UPDATE and DELETE);
- postings and journal entries are append-only: UPDATE and DELETE are refused (a correction is
  a reversing entry). TRUNCATE fires no row trigger and stays possible: Django's test teardown
  and `pg_restore --clean` empty tables that way, and whoever may TRUNCATE owns the table and
  could disable the triggers anyway.
SQLite (no deferred triggers; Django's test teardown empties tables with DELETE): UPDATE of a
posting or an entry is refused; the ledger's code and `kameng ledger check` hold the rest. A later
migration that makes Django rebuild one of these tables on SQLite drops its trigger: create it again.
Both: a wallet or an escrow account never has a negative balance (a CHECK constraint).
"""

from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION ledger_entry_must_sum_to_zero(entry bigint) RETURNS void AS $$
DECLARE
    total numeric;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_posting WHERE entry_id = entry;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not sum to zero (%)', entry, total
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_posting_entries_sum_to_zero() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM ledger_entry_must_sum_to_zero(NEW.entry_id);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM ledger_entry_must_sum_to_zero(OLD.entry_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_sums_to_zero
    AFTER INSERT OR UPDATE OR DELETE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_entries_sum_to_zero();

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (correct a movement with a reversing entry)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_journalentry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_posting_sums_to_zero ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_entries_sum_to_zero();
DROP FUNCTION IF EXISTS ledger_entry_must_sum_to_zero(bigint);
"""

# One statement per execute: SQLite's driver runs one at a time.
SQLITE_UP = [
    f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused (correct a movement with a reversing entry)'); END;"
    for table in ("ledger_posting", "ledger_journalentry")
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {table}_no_update;" for table in ("ledger_posting", "ledger_journalentry")]


def forwards(apps, schema_editor):
    for sql in [POSTGRES_UP] if schema_editor.connection.vendor == "postgresql" else SQLITE_UP:
        schema_editor.execute(sql, params=None)  # no parameters: the % in RAISE formats stay as written


def backwards(apps, schema_editor):
    for sql in [POSTGRES_DOWN] if schema_editor.connection.vendor == "postgresql" else SQLITE_DOWN:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(balance__gte=0) | ~models.Q(kind__in=["wallet", "escrow"]),
                name="account_wallet_escrow_non_negative",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
