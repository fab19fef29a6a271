"""Races on a real PostgreSQL: parallel buyers for the last card key, parallel confirmations of one order,
confirmations of staged-payment orders against refunds between the same buyer and merchant.

Each thread is its own HTTP client with its own database connection, started together by a barrier
(or, where one interleaving must be forced, one after the other as each starts waiting for a lock).
"""

import threading
import time

import pytest
from django.db import connection, transaction

from kameng.catalog.models import StockItem
from kameng.clock.services import now as clock_now
from kameng.ledger.models import JournalEntry

pytestmark = pytest.mark.postgres
PARALLEL = 8


def test_last_card_key_goes_to_exactly_one_of_eight_parallel_buyers(race, api, merchant, make_user, make_listing, fund):
    listing = make_listing(merchant, title="最后一张 Steam 卡", stock=["LAST-KEY-0001"], price=5000)
    buyers = [make_user("buyer") for _ in range(PARALLEL)]
    for b in buyers:
        fund(b, 5000)

    results = race([race.post("/orders", b.token, {"listing": listing["id"]}) for b in buyers])

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (PARALLEL - 1), results
    for status, body in results:
        if status == 409:
            assert body["error"]["type"] == "conflict"
            assert body["error"]["code"] == "out_of_stock"
    (winner,) = [body for status, body in results if status == 201]
    assert winner["delivery"]["items"] == ["LAST-KEY-0001"]
    item = StockItem.objects.get(listing_id=int(listing["id"]))
    assert item.order_id == int(winner["id"])
    balances = sorted(api.get("/wallet", token=b.token).data["balance"] for b in buyers)
    assert balances == [0] + [5000] * (PARALLEL - 1)  # losers keep their money
    assert JournalEntry.objects.filter(kind="purchase").count() == 1


def test_parallel_buyers_never_share_a_card_key(race, api, merchant, make_user, make_listing, fund):
    keys = [f"KEY-{i}" for i in range(5)]
    listing = make_listing(merchant, stock=keys, price=1000)
    buyers = [make_user("buyer") for _ in range(PARALLEL)]
    for b in buyers:
        fund(b, 1000)

    results = race([race.post("/orders", b.token, {"listing": listing["id"]}) for b in buyers])

    delivered = [body["delivery"]["items"][0] for status, body in results if status == 201]
    assert sorted(delivered) == sorted(keys)  # each key once, all sold
    assert sorted(s for s, _ in results).count(409) == PARALLEL - len(keys)
    assert StockItem.objects.filter(order__isnull=True).count() == 0
    assert len(set(StockItem.objects.values_list("order_id", flat=True))) == len(keys)


def test_eight_racing_confirmations_release_escrow_once(race, api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=8800)
    fund(buyer, 8800)
    order = buy(buyer, listing)

    results = race([race.post(f"/orders/{order['id']}/confirm", buyer.token) for _ in range(PARALLEL)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (PARALLEL - 1), results
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "invalid_state"
    assert api.get("/wallet", token=merchant.token).data["balance"] == 8800
    assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "completed"


def test_confirmations_racing_the_release_timer_still_release_once(race, api, buyer, merchant, make_listing, fund, buy):
    from kameng.clock.services import advance
    from kameng.timers.services import sweep

    listing = make_listing(merchant, price=4200, verification_minutes=10)
    fund(buyer, 4200)
    order = buy(buyer, listing)
    advance(11 * 60)  # the release timer is due

    def sweeper():
        return ("swept", sweep())

    calls = [race.post(f"/orders/{order['id']}/confirm", buyer.token) for _ in range(PARALLEL - 2)]
    results = race(calls + [sweeper, sweeper])

    confirms = [r for r in results if r[0] != "swept"]
    assert [s for s, _ in confirms].count(200) <= 1
    assert all(s in (200, 409) for s, _ in confirms)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 4200
    assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1


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


def _staged_orders_and_cases(api, buyer, merchant, make_listing, fund, buy, delivered_short, count=1):
    """`count` staged-payment orders delivered while the buyer was short, as the rules before v1.1
    allowed (each balance 尾款 still due, now covered), and as many other orders between the same
    two, each with a refund case the merchant can accept."""
    staged = make_listing(merchant, kind="service", price=20000, deposit_percent=30, stock=None)
    card = make_listing(merchant, price=9900, stock=[f"RACE-{i}" for i in range(count)])
    fund(buyer, count * (6000 + 9900))
    orders = [buy(buyer, staged) for _ in range(count)]
    others = [buy(buyer, card) for _ in range(count)]
    for order in orders:
        assert delivered_short(int(order["id"])).balance_due == 14000
    fund(buyer, count * 14000)
    cases = []
    for other in others:
        body = {"order": other["id"], "reason": "defective", "description": "无法激活", "amount": 9900}
        case = api.post("/refunds", body, token=buyer.token)
        assert case.status_code == 201, case.data
        cases.append(case.data)
    return list(zip(orders, cases, strict=True))


def test_confirming_a_staged_order_never_deadlocks_with_a_refund_between_the_same_parties(
    race, api, buyer, merchant, make_listing, fund, buy, delivered_short
):
    """Confirming takes the balance (buyer wallet → escrow), then releases escrow net of the merchant's
    debt; a refund of another order between the same two locks the debt, its escrow and both wallets.
    Before the transition locked every account of its row at its start, the confirmation held the
    buyer's wallet and then asked for the debt, which sorts first: with the refund holding the debt and
    waiting for the buyer's wallet, PostgreSQL aborted one of them. Here that interleaving is forced: a
    third session holds the balance entry's idempotency key, so the confirmation stops right after it
    took its accounts; the refund starts and queues; then the third session rolls back."""
    ((order, case),) = _staged_orders_and_cases(api, buyer, merchant, make_listing, fund, buy, delivered_short)
    key_taken, let_go = threading.Event(), threading.Event()

    def hold_the_balance_key():
        with transaction.atomic():
            JournalEntry.objects.create(
                idempotency_key=f"balance:{order['id']}", kind="purchase_balance", created_at=clock_now()
            )
            key_taken.set()
            let_go.wait(30)
            transaction.set_rollback(True)
        return "rolled back"

    blocker = _start(hold_the_balance_key)
    assert key_taken.wait(10)
    confirming = _start(race.post(f"/orders/{order['id']}/confirm", buyer.token))
    _wait_for_lock_waiters(1)  # the confirmation, on the blocker's key
    refunding = _start(race.post(f"/refunds/{case['id']}/accept", merchant.token))
    _wait_for_lock_waiters(2)  # and the refund, on an account the confirmation holds
    let_go.set()
    for thread in (blocker, confirming, refunding):
        thread.join(60)
        assert not thread.is_alive(), "a session hung"

    assert blocker.result == "rolled back"
    assert confirming.result[0] == 200, confirming.result
    assert refunding.result[0] == 200, refunding.result
    assert confirming.result[1]["status"] == "completed" and confirming.result[1]["balance_due"] == 0
    assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1
    assert JournalEntry.objects.filter(kind="refund", case_id=int(case["id"])).count() == 1


def test_staged_confirmations_racing_refunds_of_the_same_parties_all_succeed(
    race, api, buyer, merchant, make_listing, fund, buy, delivered_short
):
    pairs = _staged_orders_and_cases(
        api, buyer, merchant, make_listing, fund, buy, delivered_short, count=PARALLEL // 2
    )

    calls = []
    for order, case in pairs:
        calls += [race.post(f"/orders/{order['id']}/confirm", buyer.token)]
        calls += [race.post(f"/refunds/{case['id']}/accept", merchant.token)]
    results = race(calls)

    assert [status for status, _ in results] == [200] * PARALLEL, results
    for order, case in pairs:
        assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1
        assert JournalEntry.objects.filter(kind="refund", case_id=int(case["id"])).count() == 1
