"""The 7-day floor of 消费者权益保护法 第二十四条 (issue 18.3): a quality claim within 7 days of
delivery is accepted whatever the listing's after_sale_days; a no-reason return keeps the listing's
window; every window starts when the goods can be retrieved (电子商务法 第五十一条)."""

from datetime import datetime, timedelta

import pytest

DAY = 86400


def claim(api, buyer, order, reason):
    return api.post(
        "/refunds",
        {"order": order["id"], "reason": reason, "description": "激活码无效，提示已被使用", "amount": 100},
        token=buyer.token,
    )


@pytest.fixture
def short_window_order(api, buyer, merchant, make_listing, fund, buy):
    """A course account with a 1-day after-sale window and no-reason returns offered."""
    listing = make_listing(
        merchant,
        title="Python 入门课程",
        category="online_course",
        kind="account",
        price=4900,
        after_sale_days=1,
        no_reason_refund=True,
    )
    fund(buyer, 4900)
    order = buy(buyer, listing)
    return api.post(f"/orders/{order['id']}/deliver", {"content": "账号 c1 密码 p1"}, token=merchant.token).data


@pytest.mark.parametrize("reason", ["not_as_described", "defective", "service_missing"])
def test_a_quality_claim_on_day_six_is_accepted_though_the_listing_says_one_day(
    api, buyer, short_window_order, advance, reason
):
    delivered = datetime.fromisoformat(short_window_order["delivered_at"])
    assert datetime.fromisoformat(short_window_order["after_sale_until"]) == delivered + timedelta(days=7)
    advance(6 * DAY)
    assert claim(api, buyer, short_window_order, reason).status_code == 201


def test_a_no_reason_return_keeps_the_listings_own_window(api, buyer, short_window_order, advance):
    advance(2 * DAY)
    res = claim(api, buyer, short_window_order, "no_reason")
    assert res.status_code == 409 and res.data["error"]["code"] == "refund_window_closed"
    assert claim(api, buyer, short_window_order, "defective").status_code == 201


def test_after_seven_days_the_short_window_is_closed_for_quality_claims_too(api, buyer, short_window_order, advance):
    advance(7 * DAY + 60)
    res = claim(api, buyer, short_window_order, "defective")
    assert res.status_code == 409 and res.data["error"]["code"] == "refund_window_closed"


def test_a_longer_listing_window_still_counts(api, buyer, merchant, make_listing, fund, buy, advance):
    fund(buyer, 9900)
    order = buy(buyer, make_listing(merchant, after_sale_days=30))
    delivered = datetime.fromisoformat(order["delivered_at"])
    assert datetime.fromisoformat(order["after_sale_until"]) == delivered + timedelta(days=30)
    advance(20 * DAY)
    assert claim(api, buyer, order, "defective").status_code == 201


def test_the_window_starts_when_the_goods_can_be_retrieved_not_at_payment(
    api, buyer, merchant, make_listing, fund, buy, advance
):
    listing = make_listing(merchant, title="代充 100 元", category="mobile_topup", kind="direct_topup", price=9850)
    fund(buyer, 9850)
    order = buy(buyer, listing, topup_target="13800000000")
    assert order["delivered_at"] is None and order["after_sale_until"] is None
    advance(10 * DAY)  # the merchant takes ten days to deliver
    delivered = api.post(f"/orders/{order['id']}/deliver", {"content": "已充值"}, token=merchant.token).data
    at = datetime.fromisoformat(delivered["delivered_at"])
    assert at >= datetime.fromisoformat(order["created_at"]) + timedelta(days=10)
    assert datetime.fromisoformat(delivered["after_sale_until"]) == at + timedelta(days=7)
    assert datetime.fromisoformat(delivered["escrow"]["release_at"]) > at  # verification starts there too
    advance(6 * DAY)
    assert claim(api, buyer, delivered, "not_as_described").status_code == 201


def test_card_keys_are_retrievable_at_payment_and_their_window_starts_then(
    api, buyer, merchant, make_listing, fund, buy
):
    fund(buyer, 9900)
    order = buy(buyer, make_listing(merchant, after_sale_days=3))
    assert order["delivery"]["items"] and order["delivered_at"] is not None
    assert datetime.fromisoformat(order["after_sale_until"]) == datetime.fromisoformat(
        order["delivered_at"]
    ) + timedelta(days=7)
