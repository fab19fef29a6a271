"""Builders for trust tests: sales to fresh buyers, refund cases, and the shop's credit as the API shows it."""

import pytest


@pytest.fixture
def stocked(make_listing):
    """A ¥99 card-key listing (fast track: standardized, under ¥200) with `n` keys."""

    def make(merchant, n=10, **overrides):
        tag = overrides.pop("tag", "")
        return make_listing(merchant, stock=[f"KEY-{merchant.username}-{tag}-{i:04d}" for i in range(n)], **overrides)

    return make


@pytest.fixture
def sale(make_user, fund, buy):
    """A fresh buyer buys the listing once; returns (buyer, order)."""

    def make(listing, **extra):
        buyer = make_user("buyer")
        fund(buyer, listing["price"] + 1000)
        return buyer, buy(buyer, listing, **extra)

    return make


@pytest.fixture
def open_refund(open_case):
    """The shared open_case, with the buyer named first."""

    def open_(buyer, order, **kwargs):
        return open_case(order, user=buyer, **kwargs)

    return open_


@pytest.fixture
def act(act):
    """The shared act, with the acting user named first."""

    def run(user, case, action, body=None):
        return act(case, action, user, body)

    return run


@pytest.fixture
def shop(api):
    """GET /shops/{id} as the public sees it."""

    def get(merchant):
        res = api.get(f"/shops/{merchant.shop_id}")
        assert res.status_code == 200, res.data
        return res.data

    return get


@pytest.fixture
def login_as(db):
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def restricted_merchant(api, make_user, stocked, sale, open_refund, act, shop):
    """A new shop that lands on grade D: two quickly accepted cases (−10) and three chat messages
    pushing payment off the platform (−15): 80 + 0.2 − 10 − 15 = 55."""
    merchant = make_user("merchant")
    res = api.post("/shops", {"name": "小刘数码", "description": "正版激活码"}, token=merchant.token)
    merchant.shop_id = res.data["id"]
    listing = stocked(merchant, tag="d")
    for _ in range(2):
        buyer, order = sale(listing)
        act(merchant, open_refund(buyer, order), "accept")
    for body in ("加我微信 kameng888，下次便宜", "vx: kameng_888", "私下转账给你打九折"):
        res = api.post(f"/orders/{order['id']}/messages", {"body": body}, token=merchant.token)
        assert res.status_code == 201 and res.data["flags"] == ["off_platform_payment"]
    merchant.listing = listing
    data = shop(merchant)
    assert (data["credit"]["grade"], data["credit"]["score"], data["status"]) == ("D", 55, "restricted"), data
    return merchant
