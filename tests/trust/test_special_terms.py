"""Special terms as 实施条例第十九条 and 合同编通则司法解释第十条 require (issue 18.2): shown on the
listing and at checkout with a plain explanation, an unticked per-order confirmation, the exact text
and its hash stored on the order; without a confirmation a no-reason return cannot be refused."""

import hashlib
import re

import pytest

from kameng.orders.models import Order

BOOSTING = {
    "title": "王者荣耀 星耀 → 王者 代练",
    "category": "game_boosting",
    "kind": "service",
    "price": 30000,
    "description": "5 天内打到王者",
    "promises": ["5天内完成"],
}


@pytest.fixture
def boosting(make_listing, merchant):
    return make_listing(merchant, **BOOSTING)


def test_an_order_stores_exactly_the_terms_confirmed_with_their_hash(api, buyer, fund, boosting, buy):
    assert boosting["special_terms"], boosting
    fund(buyer, 60000)
    refused = api.post("/orders", {"listing": boosting["id"]}, token=buyer.token)
    assert refused.status_code == 400 and refused.data["error"]["code"] == "special_terms_not_accepted"
    assert not Order.objects.exists()

    order = buy(buyer, boosting, accept_special_terms=True)
    confirmation = order["special_terms_confirmation"]
    assert confirmation["terms"] == boosting["special_terms"]
    assert confirmation["sha256"] == hashlib.sha256("\n".join(boosting["special_terms"]).encode()).hexdigest()
    assert confirmation["confirmed_at"] == order["created_at"]
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["special_terms_confirmation"] == confirmation


def test_goods_without_special_terms_record_no_confirmation(buyer, fund, make_listing, merchant, buy):
    listing = make_listing(merchant)
    fund(buyer, 20000)
    order = buy(buyer, listing, accept_special_terms=True)
    assert listing["special_terms"] == [] and order["special_terms_confirmation"] is None


def test_a_confirmed_exclusion_refuses_a_no_reason_return_an_unconfirmed_one_does_not(
    api, buyer, fund, boosting, buy, merchant
):
    fund(buyer, 120000)
    confirmed = buy(buyer, boosting, accept_special_terms=True)
    api.post(f"/orders/{confirmed['id']}/deliver", {"content": "已代练到王者"}, token=merchant.token)
    body = {"order": confirmed["id"], "reason": "no_reason", "description": "不想要了", "amount": 30000}
    refused = api.post("/refunds", body, token=buyer.token)
    assert refused.status_code == 409 and refused.data["error"]["code"] == "no_reason_not_allowed"

    # An order whose exclusion was never confirmed (bought before confirmations were recorded, or by
    # a checkout that did not ask): the special terms do not bind the buyer.
    unconfirmed = buy(buyer, boosting, accept_special_terms=True)
    api.post(f"/orders/{unconfirmed['id']}/deliver", {"content": "已代练到王者"}, token=merchant.token)
    Order.objects.filter(pk=unconfirmed["id"]).update(special_terms_accepted=False, special_terms_confirmation=None)
    opened = api.post("/refunds", {**body, "order": unconfirmed["id"]}, token=buyer.token)
    assert opened.status_code == 201, opened.data
    assert opened.data["reason"] == "no_reason"


def test_the_listing_page_explains_the_terms_and_the_seven_day_rule_and_never_pre_ticks(login_as, buyer, boosting):
    html = login_as(buyer).get(f"/listings/{boosting['id']}").content.decode()
    box = re.search(r'id="special-terms-confirm".*?</div>', html, re.S).group(0)
    for term in boosting["special_terms"]:
        assert term in box
    assert "《消费者权益保护法实施条例》第十九条" in box and "不会替你默认勾选" in box
    checkbox = re.search(r'<input[^>]*name="accept_special_terms"[^>]*>', html).group(0)
    assert "checked" not in checkbox
    rule = re.search(r'id="no-reason-rule".*?</details>', html, re.S).group(0)
    assert "七日内可以不说明理由退货" in rule and "《消费者权益保护法》第二十五条" in rule
    assert "数字化商品" in rule and "《消费者权益保护法》第二十四条" in rule
    assert "通俗地说" in html


def test_the_explanations_are_in_english_too(login_as, buyer, boosting):
    client = login_as(buyer)
    client.post("/language/", {"language": "en", "next": "/"})
    html = client.get(f"/listings/{boosting['id']}").content.decode()
    assert "What is the seven-day no-reason return?" in html
    assert "Regulation on the Implementation of the Consumer Rights Protection Law of the PRC, Article 19" in html
    assert "never ticks it for you" in html
