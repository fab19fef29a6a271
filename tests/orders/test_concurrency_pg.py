"""Races on a real PostgreSQL: parallel buyers for the last card key, parallel confirmations of one order.

Each thread is its own HTTP client with its own database connection, started together by a barrier.
"""

import pytest

from kameng.catalog.models import StockItem
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
