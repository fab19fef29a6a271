"""List endpoints answer in a fixed number of queries, however many rows the page holds (no N+1).

Each list is read with few rows, then with a full page of 20+; the query count must not move.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

MANY = 22


@pytest.fixture(autouse=True)
def _no_rate_counter_purge(monkeypatch):
    """The rate limiter deletes ended windows once every 500 counted requests of the process (one more
    statement in whichever request it falls on): not a cost of any page, and it made a count of the
    same page differ by one (10 vs 9) depending on how many requests the worker had served before."""
    from kameng.security import ratelimit

    monkeypatch.setattr(ratelimit, "PURGE_EVERY", 10**9)


def _queries(api, path, token=None) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        res = api.get(path, token=token)
    assert res.status_code == 200, res.data
    return len(ctx.captured_queries), res.data


@pytest.fixture
def market(api, make_user, merchant, make_listing, fund):
    """A merchant with card-key listings and a buyer who can afford many orders."""
    buyer = make_user("buyer")
    fund(buyer, 10_000_000)
    return {"buyer": buyer, "merchant": merchant}


def _orders_with_cases(api, market, make_listing, buy, count):
    """`count` ¥300 orders (not fast track), each with an open refund case."""
    listing = make_listing(market["merchant"], price=30000, stock=[f"K-{i}" for i in range(count)])
    cases = []
    for _ in range(count):
        order = buy(market["buyer"], listing)
        res = api.post(
            "/refunds",
            {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": order["amount"]},
            token=market["buyer"].token,
        )
        assert res.status_code == 201, res.data
        cases.append(res.data)
    return cases


def test_orders_list_queries_do_not_grow_with_the_page(api, market, make_listing, buy):
    _orders_with_cases(api, market, make_listing, buy, 2)
    few_buyer, page = _queries(api, "/orders", market["buyer"].token)
    assert len(page["data"]) == 2
    few_merchant, _ = _queries(api, "/orders", market["merchant"].token)
    _orders_with_cases(api, market, make_listing, buy, MANY)
    many_buyer, page = _queries(api, "/orders", market["buyer"].token)
    assert len(page["data"]) == 20 and page["has_more"]
    assert page["data"][0]["delivery"]["items"]  # the buyer still sees the delivered keys
    many_merchant, _ = _queries(api, "/orders", market["merchant"].token)
    assert many_buyer == few_buyer, (few_buyer, many_buyer)
    assert many_merchant == few_merchant, (few_merchant, many_merchant)
    assert many_buyer <= 8


def test_refunds_list_and_arbitration_queue_queries_do_not_grow(api, market, make_listing, buy, make_user, advance):
    arbitrator = make_user("arbitrator")
    _orders_with_cases(api, market, make_listing, buy, 2)
    advance(49 * 3600)  # merchant silence: the cases go to arbitration
    few = {who: _queries(api, "/refunds", market[who].token)[0] for who in ("buyer", "merchant")}
    few_queue, page = _queries(api, "/arbitration/queue", arbitrator.token)
    assert len(page["data"]) == 2
    _orders_with_cases(api, market, make_listing, buy, MANY)
    advance(49 * 3600)
    for who in ("buyer", "merchant"):
        count, page = _queries(api, "/refunds", market[who].token)
        assert len(page["data"]) == 20
        assert count == few[who], (who, few[who], count)
    many_queue, page = _queries(api, "/arbitration/queue?limit=50", arbitrator.token)
    assert len(page["data"]) == MANY + 2
    assert many_queue == few_queue, (few_queue, many_queue)
    assert many_queue <= 8


def test_listing_search_queries_do_not_grow_with_the_page(api, market, make_listing, make_user):
    make_listing(market["merchant"], title="Office 2021 激活码 0")
    few, page = _queries(api, "/listings")
    assert len(page["data"]) == 1
    other = make_user("merchant")
    api.post("/shops", {"name": "第二家店", "description": ""}, token=other.token)
    for i in range(MANY):
        make_listing(
            market["merchant"] if i % 2 else other,
            title=f"Office 2021 激活码 {i + 1}",
            stock=[f"S-{i}-{j}" for j in range(i % 3)],
        )
    many, page = _queries(api, "/listings")
    assert len(page["data"]) == 20
    assert {item["stock_available"] for item in page["data"]} == {0, 1, 2}
    assert many == few, (few, many)
    assert many <= 6
