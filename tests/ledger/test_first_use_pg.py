"""An account's first use racing other movements of the same parties, on a real PostgreSQL.

A merchant's `debt:` account is created by the first movement that needs it, inside that movement.
Each session below is its own thread and database connection; the interleaving is forced one step at
a time (each step starts once the one before waits for a lock), so the test fails the same way every
time the lock order breaks.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from kameng.ledger import services as ledger
from kameng.ledger.models import Account

pytestmark = pytest.mark.postgres

DEBT = ledger.debt_code(7)
MERCHANT = ledger.wallet_code(7)
BUYER = ledger.wallet_code(8)


def _start(call):
    """Run `call` on its own thread and database connection; the thread's `result` holds its answer."""

    def run():
        try:
            thread.result = call()
        except BaseException as exc:  # reported by the test, not lost in the thread
            thread.result = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.result = None
    thread.start()
    return thread


def _wait_for_lock_waiters(count: int) -> None:
    """Until `count` sessions of this database wait for a lock (a row, or another's uncommitted key)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions ever waited for a lock")


def _holding(codes, holds: threading.Event, go: threading.Event, *, create=()):
    """A session that creates `create` (uncommitted) and locks `codes`, says so, then holds them until `go`."""

    def session():
        with transaction.atomic():
            for code in create:
                Account.objects.create(code=code, kind=ledger.kind_of(code).value, balance=0)
            if codes:
                ledger.lock_accounts(codes)
            holds.set()
            assert go.wait(30)
        return "committed"

    return session


def _movement(codes):
    """A movement's lock: every account its entry touches, in one call, then commit."""

    def session():
        with transaction.atomic():
            return sorted(ledger.lock_accounts(codes))

    return session


def test_first_use_of_a_merchants_debt_account_never_deadlocks_with_a_movement_that_found_it(postgres):
    """Movement 1 reads the accounts while another session is still creating the merchant's debt
    account, so it finds the debt missing; by the time it gets to create it, the account exists and a
    second movement, which found it, has locked it and waits for the merchant's wallet. Locking the
    accounts it found first and the debt after (the order broken: `debt:` sorts first) made the two
    wait for each other and PostgreSQL aborted one ("deadlock detected"). Now a movement that finds an
    account missing locks nothing until it has created it, then locks all of them in code order."""
    escrow_1, escrow_2 = ledger.escrow_code(101), ledger.escrow_code(102)
    with transaction.atomic():
        for code in (MERCHANT, BUYER, escrow_1, escrow_2):
            Account.objects.create(code=code, kind=ledger.kind_of(code).value, balance=0)
    wallet_held, debt_created, release_wallet, commit_debt = (threading.Event() for _ in range(4))

    # A withdrawal, say, holds the merchant's wallet; another session has created the debt account
    # but not committed it yet.
    wallet_holder = _start(_holding([MERCHANT], wallet_held, release_wallet))
    assert wallet_held.wait(10)
    creator = _start(_holding([], debt_created, commit_debt, create=[DEBT]))
    assert debt_created.wait(10)
    first = _start(_movement([DEBT, escrow_1, BUYER, MERCHANT]))  # finds the debt missing, and waits
    _wait_for_lock_waiters(1)
    commit_debt.set()  # the debt account now exists
    creator.join(10)
    second = _start(_movement([DEBT, escrow_2, BUYER, MERCHANT]))  # finds it, and waits too
    _wait_for_lock_waiters(2)
    release_wallet.set()
    for thread in (wallet_holder, creator, first, second):
        thread.join(60)
        assert not thread.is_alive(), "a session hung"

    assert wallet_holder.result == "committed" and creator.result == "committed"
    everything = sorted([DEBT, BUYER, MERCHANT])
    assert first.result == sorted([*everything, escrow_1]), first.result
    assert second.result == sorted([*everything, escrow_2]), second.result
    assert Account.objects.filter(code=DEBT).count() == 1
