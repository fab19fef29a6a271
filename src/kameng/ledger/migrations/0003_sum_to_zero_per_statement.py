"""PostgreSQL: the sum-to-zero guard of migration 0002, with a check per INSERT statement instead of
one per posting.

0002 queued a deferred trigger event for every posting row and, at commit, summed the posting's whole
entry once per posting (~40–50 µs a posting: a batch of 100 releases paid ~15 ms at its commit). Now:

- an AFTER INSERT statement trigger on ledger_posting looks at the statement's rows only (a transition
  table): an entry whose new postings sum to zero needs nothing more, as its earlier postings summed to
  zero already (postings are never updated or deleted); an entry whose new postings do not is queued
  for the check at commit (a row in ledger_entry_to_check, a table no code reads);
- a deferred constraint trigger on ledger_entry_to_check sums each queued entry's postings at commit
  and refuses the commit if they do not sum to zero: an entry may still be written posting by posting
  within one transaction;
- UPDATE and DELETE of a posting (refused anyway by the append-only trigger, unless someone switched
  that off) keep the deferred per-row check of 0002.

The guarantee is the same: no transaction commits with an entry whose postings do not sum to zero.
An entry written in one statement, as `ledger.post` and `ledger.Batch` write them, costs one
aggregate over that statement's rows and no commit-time work.
"""

from django.db import migrations

POSTGRES_UP = """
DROP TRIGGER IF EXISTS ledger_posting_sums_to_zero ON ledger_posting;

CREATE TABLE ledger_entry_to_check (entry_id bigint NOT NULL);

CREATE OR REPLACE FUNCTION ledger_entries_to_check_queue() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_entry_to_check (entry_id)
        SELECT entry_id FROM ledger_new_postings GROUP BY entry_id HAVING SUM(amount) <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_inserts_sum_to_zero
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS ledger_new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_to_check_queue();

CREATE OR REPLACE FUNCTION ledger_entry_to_check_sums_to_zero() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_entry_must_sum_to_zero(NEW.entry_id);
    DELETE FROM ledger_entry_to_check WHERE ctid = NEW.ctid;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_entry_to_check_sums_to_zero
    AFTER INSERT ON ledger_entry_to_check
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_to_check_sums_to_zero();

CREATE CONSTRAINT TRIGGER ledger_posting_changes_sum_to_zero
    AFTER UPDATE OR DELETE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_entries_sum_to_zero();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS ledger_posting_changes_sum_to_zero ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_inserts_sum_to_zero ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_entries_to_check_queue();
DROP TABLE IF EXISTS ledger_entry_to_check;
DROP FUNCTION IF EXISTS ledger_entry_to_check_sums_to_zero();
CREATE CONSTRAINT TRIGGER ledger_posting_sums_to_zero
    AFTER INSERT OR UPDATE OR DELETE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_entries_sum_to_zero();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_guards")]
    operations = [migrations.RunPython(forwards, backwards)]
