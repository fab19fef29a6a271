"""Tampering with the books on purpose, the way an attacker with the database would have to."""

from contextlib import contextmanager

import pytest
from django.db import connection

LEDGER_TABLES = ("ledger_posting", "ledger_journalentry")


@contextmanager
def _guards_off():
    """Switch the ledger's triggers off for the block (migration 0002), and back on after it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred checks are queued: run them now (the books are sound yet).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in LEDGER_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            try:
                yield
            finally:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in LEDGER_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:  # SQLite cannot disable a trigger: drop it, and create it again from its own definition
            placeholders = ", ".join(["%s"] * len(LEDGER_TABLES))
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({placeholders})",
                LEDGER_TABLES,
            )
            triggers = cursor.fetchall()
            assert triggers, "the ledger's SQLite triggers are missing"
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            try:
                yield
            finally:
                for _, sql in triggers:
                    cursor.execute(sql)


@pytest.fixture
def ledger_guards_off(db):
    return _guards_off
