"""The database guards the books by itself (migration 0002), whatever code writes to it: postings
and entries are append-only, an entry whose postings do not sum to zero never commits (PostgreSQL:
migrations 0002 and 0003),
and no wallet or escrow balance is ever negative."""

import pytest
from django.db import IntegrityError, connection, transaction

from kameng.clock.services import now
from kameng.ledger import services as ledger
from kameng.ledger.models import Account, EntryKind, JournalEntry, Posting


def fund(user_id: int, amount: int) -> JournalEntry:
    with transaction.atomic():
        entry = ledger.transfer(
            f"seed:{user_id}", EntryKind.TOPUP, ledger.GATEWAY_SANDBOX, ledger.wallet_code(user_id), amount
        )
    assert entry is not None
    return entry


def refused(sql: str, params=()) -> str:
    """Run one plain statement; the database must refuse it. Returns its message."""
    with pytest.raises(IntegrityError) as err, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(err.value)


def test_the_database_refuses_to_rewrite_a_posting_or_an_entry(db):
    entry = fund(1, 10000)
    posting = entry.postings.get(amount=10000)
    assert "append-only" in refused("UPDATE ledger_posting SET amount = 10001 WHERE id = %s", [posting.pk])
    assert "append-only" in refused("UPDATE ledger_journalentry SET memo = '改写' WHERE id = %s", [entry.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount=1)  # the ORM is no way round it
    assert Posting.objects.get(pk=posting.pk).amount == 10000
    assert JournalEntry.objects.get(pk=entry.pk).memo == ""


def test_the_database_refuses_a_negative_wallet_or_escrow_but_not_a_merchant_debt(db):
    fund(1, 100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(code=ledger.wallet_code(1)).update(balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(code=ledger.escrow_code(1), kind="escrow", balance=-1)
    debt = Account.objects.create(code=ledger.debt_code(1), kind="merchant_debt", balance=0)
    Account.objects.filter(pk=debt.pk).update(balance=-1)  # allowed: it is what the merchant owes
    Account.objects.filter(pk=debt.pk).update(balance=0)  # (and the books balance again)
    assert ledger.balance(ledger.wallet_code(1)) == 100


@pytest.mark.postgres
def test_postgres_refuses_to_delete_a_posting_or_an_entry(postgres):
    entry = fund(1, 10000)
    posting = entry.postings.get(amount=10000)
    empty = JournalEntry.objects.create(idempotency_key="empty", kind=EntryKind.TOPUP, created_at=now())
    assert "append-only: DELETE" in refused("DELETE FROM ledger_posting WHERE id = %s", [posting.pk])
    assert "append-only: DELETE" in refused("DELETE FROM ledger_journalentry WHERE id = %s", [empty.pk])
    assert "append-only: DELETE" in refused("DELETE FROM ledger_journalentry WHERE id = %s", [entry.pk])
    assert "append-only: UPDATE" in refused("UPDATE ledger_posting SET account_id = account_id")
    assert Posting.objects.filter(entry=entry).count() == 2
    assert JournalEntry.objects.filter(pk__in=[entry.pk, empty.pk]).count() == 2


@pytest.mark.postgres
def test_postgres_refuses_an_entry_whose_postings_do_not_sum_to_zero_at_commit(postgres):
    fund(1, 10000)
    wallet = Account.objects.get(code=ledger.wallet_code(1))
    gateway = Account.objects.get(code=ledger.GATEWAY_SANDBOX)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        entry = JournalEntry.objects.create(idempotency_key="forged", kind=EntryKind.TOPUP, created_at=now())
        Posting.objects.create(entry=entry, account=wallet, amount=500)  # money from nowhere
    assert "does not sum to zero (500)" in str(err.value)
    assert not JournalEntry.objects.filter(idempotency_key="forged").exists()

    # Checked at commit, not per row: an entry is written posting by posting.
    with transaction.atomic():
        entry = JournalEntry.objects.create(idempotency_key="two-rows", kind=EntryKind.TOPUP, created_at=now())
        Posting.objects.create(entry=entry, account=wallet, amount=500)
        Posting.objects.create(entry=entry, account=gateway, amount=-500)
        Account.objects.filter(pk=wallet.pk).update(balance=10500)
        Account.objects.filter(pk=gateway.pk).update(balance=-10500)
    assert Posting.objects.filter(entry__idempotency_key="two-rows").count() == 2
    assert _queued() == 0  # the commit-time queue (migration 0003) is empty once checked


def _queued() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_entry_to_check")
        return cursor.fetchone()[0]


def _insert_postings(rows: list[tuple[int, int, int]]) -> None:
    """One INSERT statement of (entry id, account id, amount) rows, as ledger.Batch writes them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(rows)),
            [value for row in rows for value in row],
        )


def _balances_follow_postings() -> None:
    """These tests write postings past `ledger.post`: bring the cached balances along (the teardown checks the books)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_account a SET balance = (SELECT COALESCE(SUM(amount), 0) FROM ledger_posting p "
            "WHERE p.account_id = a.id)"
        )


@pytest.mark.postgres
def test_postgres_refuses_unbalanced_entries_written_in_one_statement(postgres):
    fund(1, 10000)
    wallet = Account.objects.get(code=ledger.wallet_code(1))
    gateway = Account.objects.get(code=ledger.GATEWAY_SANDBOX)

    def entry(key: str) -> int:
        return JournalEntry.objects.create(idempotency_key=key, kind=EntryKind.TOPUP, created_at=now()).pk

    # Two entries in one statement whose rows sum to zero together, but not each: both are refused.
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        a, b = entry("forged-a"), entry("forged-b")
        _insert_postings([(a, wallet.pk, 700), (b, gateway.pk, -700)])
    assert "does not sum to zero (700)" in str(err.value) or "does not sum to zero (-700)" in str(err.value)
    # A statement that brings an entry back to zero, in the same transaction, is let through.
    with transaction.atomic():
        a, b = entry("split-a"), entry("split-b")
        _insert_postings([(a, wallet.pk, 300), (b, gateway.pk, -300)])
        _insert_postings([(a, gateway.pk, -300), (b, wallet.pk, 300)])
    assert _queued() == 0
    # Many balanced entries in one statement: nothing is queued for the commit.
    with transaction.atomic():
        ids = [entry(f"batch-{i}") for i in range(50)]
        _insert_postings([row for pk in ids for row in ((pk, wallet.pk, 10), (pk, gateway.pk, -10))])
        assert _queued() == 0
    assert Posting.objects.filter(entry__idempotency_key__startswith="batch-").count() == 100
    # Inside a savepoint (a nested atomic block) the check still waits for the outer commit.
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        with transaction.atomic():
            forged = entry("forged-nested")
            _insert_postings([(forged, wallet.pk, 5)])
        assert _queued() == 1
    assert "does not sum to zero (5)" in str(err.value)
    assert not JournalEntry.objects.filter(idempotency_key__startswith="forged").exists()
    _balances_follow_postings()


@pytest.mark.postgres
def test_postgres_refuses_a_posting_added_to_an_entry_committed_before(postgres):
    entry = fund(1, 10000)
    wallet = Account.objects.get(code=ledger.wallet_code(1))
    gateway = Account.objects.get(code=ledger.GATEWAY_SANDBOX)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        _insert_postings([(entry.pk, wallet.pk, 1)])
    assert "does not sum to zero (1)" in str(err.value)
    # Balanced rows added to it keep it at zero: the database lets them in (the ledger's code never does this).
    with transaction.atomic():
        _insert_postings([(entry.pk, wallet.pk, 1), (entry.pk, gateway.pk, -1)])
    assert sum(entry.postings.values_list("amount", flat=True)) == 0
    _balances_follow_postings()


@pytest.mark.postgres
def test_postgres_still_refuses_an_unbalanced_rewrite_with_the_append_only_trigger_off(postgres):
    entry = fund(1, 10000)
    posting = entry.postings.get(amount=10000)
    with pytest.raises(IntegrityError) as err, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER ledger_posting_append_only")
        cursor.execute("UPDATE ledger_posting SET amount = 10001 WHERE id = %s", [posting.pk])
        cursor.execute("UPDATE ledger_account SET balance = 10001 WHERE code = %s", [ledger.wallet_code(1)])
    assert "does not sum to zero (1)" in str(err.value)
    assert Posting.objects.get(pk=posting.pk).amount == 10000
    assert "append-only" in refused("UPDATE ledger_posting SET amount = 10000 WHERE id = %s", [posting.pk])


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_entry_in_the_batch_s_own_postings_statement(postgres):
    # ledger.Batch's postings INSERT takes its rows from one JSON parameter: the sum-to-zero guard
    # still sees them as one statement, and still refuses an entry that does not sum to zero.
    fund(1, 10000)
    wallet = Account.objects.get(code=ledger.wallet_code(1))
    gateway = Account.objects.get(code=ledger.GATEWAY_SANDBOX)
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        entry = JournalEntry.objects.create(idempotency_key="forged-json", kind=EntryKind.TOPUP, created_at=now())
        ledger._insert_postings([(entry.pk, wallet.pk, 700), (entry.pk, gateway.pk, -600)])
    assert "does not sum to zero (100)" in str(err.value)
    with transaction.atomic():
        entry = JournalEntry.objects.create(idempotency_key="split-json", kind=EntryKind.TOPUP, created_at=now())
        ledger._insert_postings([(entry.pk, wallet.pk, 400), (entry.pk, gateway.pk, -400)])
        _balances_follow_postings()
