"""Races on a real PostgreSQL: parallel buyers for the last card key, parallel confirmations of one order.

Each thread is its own HTTP client with its own database connection, started together by a barrier.
"""
import json
import threading

import pytest
from django.db import connection
from django.test import Client

from kameng.catalog.models import StockItem
from kameng.ledger.models import JournalEntry

pytestmark = pytest.mark.postgres
PARALLEL = 8


def race(calls):
    """Run the callables at the same moment, each on its own thread and connection; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def http_post(path, token, body=None):
    def call():
        res = Client(raise_request_exception=False).post(
            f"/api/v1{path}", data=json.dumps(body or {}), content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        return res.status_code, res.json()

    return call


def test_last_card_key_goes_to_exactly_one_of_eight_parallel_buyers(postgres, api, merchant, make_user,
                                                                     make_listing, fund):
    listing = make_listing(merchant, title="最后一张 Steam 卡", stock=["LAST-KEY-0001"], price=5000)
    buyers = [make_user("buyer") for _ in range(PARALLEL)]
    for b in buyers:
        fund(b, 5000)

    results = race([http_post("/orders", b.token, {"listing": listing["id"]}) for b in buyers])

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


def test_parallel_buyers_never_share_a_card_key(postgres, api, merchant, make_user, make_listing, fund):
    keys = [f"KEY-{i}" for i in range(5)]
    listing = make_listing(merchant, stock=keys, price=1000)
    buyers = [make_user("buyer") for _ in range(PARALLEL)]
    for b in buyers:
        fund(b, 1000)

    results = race([http_post("/orders", b.token, {"listing": listing["id"]}) for b in buyers])

    delivered = [body["delivery"]["items"][0] for status, body in results if status == 201]
    assert sorted(delivered) == sorted(keys)  # each key once, all sold
    assert sorted(s for s, _ in results).count(409) == PARALLEL - len(keys)
    assert StockItem.objects.filter(order__isnull=True).count() == 0
    assert len(set(StockItem.objects.values_list("order_id", flat=True))) == len(keys)


def test_eight_racing_confirmations_release_escrow_once(postgres, api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=8800)
    fund(buyer, 8800)
    order = buy(buyer, listing)

    results = race([http_post(f"/orders/{order['id']}/confirm", buyer.token) for _ in range(PARALLEL)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (PARALLEL - 1), results
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "invalid_state"
    assert api.get("/wallet", token=merchant.token).data["balance"] == 8800
    assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "completed"


def test_confirmations_racing_the_release_timer_still_release_once(postgres, api, buyer, merchant, make_listing,
                                                                   fund, buy):
    from kameng.clock.services import advance
    from kameng.timers.services import sweep

    listing = make_listing(merchant, price=4200, verification_minutes=10)
    fund(buyer, 4200)
    order = buy(buyer, listing)
    advance(11 * 60)  # the release timer is due

    def sweeper():
        return ("swept", sweep())

    calls = [http_post(f"/orders/{order['id']}/confirm", buyer.token) for _ in range(PARALLEL - 2)]
    results = race(calls + [sweeper, sweeper])

    confirms = [r for r in results if r[0] != "swept"]
    assert [s for s, _ in confirms].count(200) <= 1
    assert all(s in (200, 409) for s, _ in confirms)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 4200
    assert JournalEntry.objects.filter(kind="release", order_id=int(order["id"])).count() == 1
