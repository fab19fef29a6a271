"""The double-entry ledger as a service: balanced entries, idempotency keys, no negative wallets, `ledger check`."""

import pytest
from django.db import transaction

from kameng.api.errors import status_for
from kameng.errors import DomainError
from kameng.ledger import services as ledger
from kameng.ledger.models import Account, JournalEntry, Posting


def fund(user_id: int, amount: int, key: str = "seed") -> None:
    with transaction.atomic():
        ledger.transfer(f"{key}:{user_id}", "topup", ledger.GATEWAY_SANDBOX, ledger.wallet_code(user_id), amount)


def test_every_entry_sums_to_zero_and_balances_follow_postings(db):
    fund(1, 10000)
    with transaction.atomic():
        entry = ledger.post(
            "purchase:1",
            "purchase",
            [
                ledger.Transfer(ledger.wallet_code(1), ledger.escrow_code(1), 7000),
                ledger.Transfer(ledger.wallet_code(1), ledger.gateway_code("fees"), 500),
            ],
        )
    assert sum(p.amount for p in entry.postings.all()) == 0
    assert ledger.balance(ledger.wallet_code(1)) == 2500
    assert ledger.balance(ledger.escrow_code(1)) == 7000
    assert ledger.balance(ledger.gateway_code("fees")) == 500
    assert ledger.balance(ledger.GATEWAY_SANDBOX) == -10000
    assert sum(Account.objects.values_list("balance", flat=True)) == 0
    result = ledger.check()
    assert result.ok, result.problems
    assert result.entries == 2


def test_the_same_idempotency_key_moves_money_once(db):
    fund(1, 10000)
    with transaction.atomic():
        assert ledger.transfer("release:9", "release", ledger.wallet_code(1), ledger.wallet_code(2), 3000) is not None
    with transaction.atomic():
        assert ledger.transfer("release:9", "release", ledger.wallet_code(1), ledger.wallet_code(2), 3000) is None
    assert ledger.balance(ledger.wallet_code(1)) == 7000
    assert ledger.balance(ledger.wallet_code(2)) == 3000
    assert JournalEntry.objects.filter(idempotency_key="release:9").count() == 1


def test_idempotency_key_is_unique_in_the_database(db):
    from django.db import IntegrityError

    from kameng.clock.services import now

    JournalEntry.objects.create(idempotency_key="k", kind="x", created_at=now())
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(idempotency_key="k", kind="x", created_at=now())


def test_a_wallet_never_goes_negative(db):
    fund(1, 1000)
    with pytest.raises(DomainError) as err, transaction.atomic():
        ledger.transfer("purchase:2", "purchase", ledger.wallet_code(1), ledger.escrow_code(2), 1001)
    assert status_for(err.value) == 402
    assert err.value.code == "insufficient_funds"
    assert ledger.balance(ledger.wallet_code(1)) == 1000
    assert not JournalEntry.objects.filter(idempotency_key="purchase:2").exists()


def test_escrow_never_goes_negative_but_merchant_debt_may(db):
    with pytest.raises(DomainError), transaction.atomic():
        ledger.transfer("refund:1", "refund", ledger.escrow_code(5), ledger.wallet_code(1), 1)
    with transaction.atomic():
        ledger.transfer("advance:1", "refund", ledger.debt_code(7), ledger.wallet_code(1), 500)
    assert ledger.balance(ledger.debt_code(7)) == -500
    assert ledger.check().ok


@pytest.mark.parametrize("amount", [-1, 1.5, True, "100"])
def test_amounts_are_positive_integer_fen(db, amount):
    with pytest.raises(ValueError), transaction.atomic():
        ledger.transfer("bad", "x", ledger.GATEWAY_SANDBOX, ledger.wallet_code(1), amount)


def test_posting_outside_a_transaction_is_refused(transactional_db):
    # Money must move in the same transaction as the state change that causes it.
    with pytest.raises(AssertionError):
        ledger.transfer("loose", "topup", ledger.GATEWAY_SANDBOX, ledger.wallet_code(1), 100)
    assert not JournalEntry.objects.exists()


def test_check_finds_a_corrupted_cached_balance(db):
    fund(1, 10000)
    assert ledger.check().ok
    account = Account.objects.get(code=ledger.wallet_code(1))
    Account.objects.filter(pk=account.pk).update(balance=999999)
    result = ledger.check()
    assert not result.ok
    assert any("wallet:user:1" in p and "999999" in p for p in result.problems)
    Account.objects.filter(pk=account.pk).update(balance=10000)
    assert ledger.check().ok


def test_check_finds_an_unbalanced_entry(db, ledger_guards_off):
    fund(1, 10000)
    posting = Posting.objects.filter(account__code=ledger.wallet_code(1)).get()
    with ledger_guards_off():  # the database refuses to rewrite a posting: tamper past its triggers
        Posting.objects.filter(pk=posting.pk).update(amount=10001)
    Account.objects.filter(code=ledger.wallet_code(1)).update(balance=10001)
    result = ledger.check()
    assert not result.ok
    assert any("does not sum to zero" in p for p in result.problems)
    assert any("not zero" in p for p in result.problems)
    with ledger_guards_off():
        Posting.objects.filter(pk=posting.pk).update(amount=10000)
    Account.objects.filter(code=ledger.wallet_code(1)).update(balance=10000)


def test_ledger_check_cli_exits_0_when_sound_and_1_when_broken(db, capsys):
    from kameng.cli import main

    fund(1, 10000)
    assert main(["ledger", "check"]) == 0
    assert "ledger OK" in capsys.readouterr().out
    Account.objects.filter(code=ledger.wallet_code(1)).update(balance=1)
    assert main(["ledger", "check"]) == 1
    out = capsys.readouterr().out
    assert "ledger BROKEN" in out
    assert "PROBLEM: account wallet:user:1" in out
    Account.objects.filter(code=ledger.wallet_code(1)).update(balance=10000)  # leave the books sound
    assert main(["ledger", "check"]) == 0


def test_replaying_a_posted_key_after_the_money_moved_on_is_a_no_op_not_a_shortage(db):
    # The key is claimed by INSERT … ON CONFLICT after the balance check; a replay whose balances no
    # longer cover it (the wallet was spent since) must still answer "posted before".
    fund(1, 1000)
    with transaction.atomic():
        assert ledger.transfer("purchase:5", "purchase", ledger.wallet_code(1), ledger.escrow_code(5), 1000)
    with transaction.atomic():
        assert ledger.transfer("purchase:5", "purchase", ledger.wallet_code(1), ledger.escrow_code(5), 1000) is None
    assert ledger.balance(ledger.wallet_code(1)) == 0
    assert JournalEntry.objects.filter(idempotency_key="purchase:5").count() == 1


def test_accounts_a_caller_holds_are_not_locked_again_and_their_balances_move(db):
    fund(1, 5000)
    wallet, escrow = ledger.wallet_code(1), ledger.escrow_code(3)
    with transaction.atomic():
        held = ledger.lock_accounts([wallet, escrow])
        assert ledger.lock_accounts([escrow], held=held) is held
        ledger.post("purchase:3", "purchase", [ledger.Transfer(wallet, escrow, 2000)], held=held)
        # The caller's objects are the ones that moved: a second effect splits by fresh balances.
        assert (held[wallet].balance, held[escrow].balance) == (3000, 2000)
        ledger.post("purchase:3:more", "purchase", [ledger.Transfer(wallet, escrow, 3000)], held=held)
        with pytest.raises(DomainError):
            ledger.post("purchase:3:too-much", "purchase", [ledger.Transfer(wallet, escrow, 1)], held=held)
    assert ledger.balance(wallet) == 0 and ledger.balance(escrow) == 5000
    assert ledger.check().ok


def test_a_replay_with_held_accounts_writes_nothing_and_leaves_their_balances(db):
    # The entry, its postings and the balances are written together (one statement on PostgreSQL):
    # a key posted before writes no posting and stores no balance, and the caller's held balances stay.
    fund(1, 5000)
    wallet, escrow = ledger.wallet_code(1), ledger.escrow_code(4)
    with transaction.atomic():
        assert ledger.transfer("purchase:4", "purchase", wallet, escrow, 2000)
    postings = Posting.objects.count()
    with transaction.atomic():
        held = ledger.lock_accounts([wallet, escrow])
        assert ledger.post("purchase:4", "purchase", [ledger.Transfer(wallet, escrow, 2000)], held=held) is None
        assert (held[wallet].balance, held[escrow].balance) == (3000, 2000)
    assert Posting.objects.count() == postings
    assert (ledger.balance(wallet), ledger.balance(escrow)) == (3000, 2000)
    assert ledger.check().ok


@pytest.mark.postgres
def test_an_entry_with_its_postings_and_balances_is_one_statement_on_postgresql(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kameng.clock.services import now

    fund(1, 5000)
    wallet, escrow, fees = ledger.wallet_code(1), ledger.escrow_code(6), ledger.gateway_code("fees")
    with transaction.atomic():
        held, moment = ledger.lock_accounts([wallet, escrow, fees]), now()
        with CaptureQueriesContext(connection) as statements:
            entry = ledger.post(
                "purchase:6",
                "purchase",
                [ledger.Transfer(wallet, escrow, 1200), ledger.Transfer(wallet, fees, 300)],
                held=held,
                now=moment,
            )
    assert len(statements) == 1
    assert sorted(entry.postings.values_list("amount", flat=True)) == [-1500, 300, 1200]
    assert (ledger.balance(wallet), ledger.balance(escrow), ledger.balance(fees)) == (3500, 1200, 300)
    assert ledger.check().ok


def test_a_batch_stores_its_entries_exactly_as_given_in_three_statements(db):
    # The batch's rows go to the database as one JSON parameter a statement on PostgreSQL
    # (kameng.compiled.packed_rows): text that JSON and SQL quote differently must come back as it was.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kameng.clock.services import now

    fund(1, 9000)
    wallet, first, second = ledger.wallet_code(1), ledger.escrow_code(11), ledger.escrow_code(12)
    memo, actor = '订单 "KM\'1" {a,b} \\n NULL 🙂', 'sys"tem\\'
    with transaction.atomic():
        moment = now()
        batch = ledger.Batch(ledger.lock_accounts([wallet, first, second]), now=moment)
        batch.add("batch:1", "purchase", [ledger.Transfer(wallet, first, 1000)], memo=memo, order_id=11, actor=actor)
        batch.add("batch:2", "purchase", [ledger.Transfer(wallet, second, 2500), ledger.Transfer(wallet, first, 0)])
        with CaptureQueriesContext(connection) as statements:
            ids = batch.write()
    assert len(statements) == 3  # the entries, their postings, the balances
    if connection.vendor == "postgresql":
        assert all("jsonb_array_elements" in q["sql"] for q in statements)
    one, two = JournalEntry.objects.get(pk=ids["batch:1"]), JournalEntry.objects.get(pk=ids["batch:2"])
    assert (one.memo, one.actor, one.order_id, one.case_id, one.kind, one.created_at) == (
        memo,
        actor,
        11,
        None,
        "purchase",
        moment,
    )
    assert (two.memo, two.actor, two.order_id, two.created_at) == ("", "", None, moment)
    assert sorted(one.postings.values_list("amount", flat=True)) == [-1000, 1000]
    assert sorted(two.postings.values_list("amount", flat=True)) == [-2500, 2500]
    assert (ledger.balance(wallet), ledger.balance(first), ledger.balance(second)) == (5500, 1000, 2500)
    assert ledger.check().ok


def test_a_batch_meeting_a_key_posted_before_writes_nothing(db):
    from kameng.clock.services import now

    fund(1, 9000)
    wallet, escrow = ledger.wallet_code(1), ledger.escrow_code(13)
    with transaction.atomic():
        ledger.transfer("batch:13", "purchase", wallet, escrow, 1000)
    postings = Posting.objects.count()
    with pytest.raises(ledger.AlreadyPosted), transaction.atomic():
        batch = ledger.Batch(ledger.lock_accounts([wallet, escrow]), now=now())
        batch.add("batch:13", "purchase", [ledger.Transfer(wallet, escrow, 1000)])
        batch.write()
    assert Posting.objects.count() == postings
    assert (ledger.balance(wallet), ledger.balance(escrow)) == (8000, 1000)


def test_an_account_whose_code_needs_quoting_is_created_then_locked_by_its_code(db):
    # lock_accounts passes its codes to PostgreSQL as one array literal (kameng.compiled.array_literal).
    odd = ledger.gateway_code('we"ird\\{a,b} 网关')
    with transaction.atomic():
        created = ledger.lock_accounts([odd, ledger.GATEWAY_SANDBOX])
    with transaction.atomic():
        locked = ledger.lock_accounts([odd, ledger.GATEWAY_SANDBOX])
        assert ledger.post("odd:1", "topup", [ledger.Transfer(odd, ledger.GATEWAY_SANDBOX, 10)], held=locked)
    assert locked[odd].pk == created[odd].pk and locked[odd].code == odd
    assert Account.objects.filter(code=odd).count() == 1
    assert ledger.balance(odd) == -10
