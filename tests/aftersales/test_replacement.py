"""Replacement (补发/换货, issue 15.3): the merchant sends a new key from stock (or new content)
instead of money; the buyer accepts it (closed `replaced`, no money moves, the escrow runs again)
or escalates. The new key is secret like any stock item: the parties see it, staff do not."""

import json
from datetime import datetime, timedelta

from django.test import Client

from kameng.orders.models import OrderEvent

from .conftest import RATIONALE

DAY = 86400


def order_of(api, case, user):
    res = api.get(f"/orders/{case['order']}", token=user.token)
    assert res.status_code == 200, res.data
    return res.data


def test_a_dead_key_is_replaced_by_the_next_one_from_stock(
    api, buyer, merchant, arbitrator, make_listing, fund, buy, open_case, act, get_case, wallet
):
    listing = make_listing(merchant, price=30000, stock=["KEY-DEAD-0001", "KEY-GOOD-0002", "KEY-SPARE-0003"])
    fund(buyer, 30000)
    order = buy(buyer, listing)
    assert order["delivery"]["items"] == ["KEY-DEAD-0001"]
    case = open_case(order)
    balances = (wallet(buyer)["balance"], wallet(merchant))

    case = act(case, "replace", merchant)
    assert case["status"] == "awaiting_buyer" and case["phase"] == "awaiting_buyer_replacement"
    assert case["replacement"]["items"] == ["KEY-GOOD-0002"] and case["replacement"]["at"]
    assert case["deadlines"]["buyer_respond_by"] and case["deadlines"]["merchant_respond_by"] is None
    assert order_of(api, case, buyer)["delivery"]["items"] == ["KEY-DEAD-0001", "KEY-GOOD-0002"]
    assert set(get_case(case, buyer)["available_actions"]) >= {"accept_replacement", "escalate", "withdraw"}

    staff_view = get_case(case, arbitrator)
    assert staff_view["replacement"]["items"] == ["******"]
    assert "KEY-GOOD-0002" not in json.dumps(staff_view)  # nor in the events anyone sees
    replace_event = next(e for e in staff_view["events"] if e["type"] == "replace")
    assert replace_event["data"] == {"items": 1, "content": False}

    case = act(case, "accept_replacement", buyer)
    assert case["status"] == "closed" and case["resolution"] == "replaced" and case["refunded_amount"] == 0
    assert (wallet(buyer)["balance"], wallet(merchant)) == balances  # no money moved
    assert order_of(api, case, buyer)["escrow"]["status"] != "frozen"  # the escrow runs again
    types = [e["type"] for e in case["events"]]
    assert types.index("replace") < types.index("accept_replacement") and "refunded" not in types
    # A replacement is not a settlement: a key that dies again may be claimed again.
    again = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "补发的码也失效了", "amount": 30000},
        token=buyer.token,
    )
    assert again.status_code == 201, again.data


def test_no_key_left_is_409_out_of_stock_and_changes_nothing(
    api, buyer, merchant, make_listing, fund, buy, open_case, get_case
):
    listing = make_listing(merchant, price=30000, stock=["ONLY-KEY-0001"])
    fund(buyer, 30000)
    case = open_case(buy(buyer, listing))
    res = api.post(f"/refunds/{case['id']}/replace", {}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "out_of_stock", res.data
    after = get_case(case, buyer)
    assert after["status"] == "awaiting_merchant" and after["replacement"] is None


def _delivered_account(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, title="Python 课程账号", category="online_course", kind="account", price=19900)
    fund(buyer, 19900)
    order = buy(buyer, listing)
    res = api.post(f"/orders/{order['id']}/deliver", {"content": "账号 py-1 密码 old"}, token=merchant.token)
    assert res.status_code == 200, res.data
    return res.data


def test_other_kinds_are_replaced_with_new_content(api, buyer, merchant, make_listing, fund, buy, open_case, act):
    order = _delivered_account(api, buyer, merchant, make_listing, fund, buy)
    case = act(open_case(order, reason="not_as_described"), "offer", merchant, {"amount": 5000})
    res = api.post(f"/refunds/{case['id']}/replace", {}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "content"
    case = act(case, "replace", merchant, {"content": "新账号 py-2 密码 new-2024"})
    assert case["replacement"] == {"items": [], "content": "新账号 py-2 密码 new-2024", "at": case["replacement"]["at"]}
    assert case["offer"] is None  # the replacement takes the offer's place
    delivery = order_of(api, case, buyer)["delivery"]["content"]
    assert delivery.startswith("账号 py-1 密码 old") and "【补发】\n新账号 py-2 密码 new-2024" in delivery
    case = act(case, "escalate", buyer)  # it does not work either: the platform decides
    assert case["status"] == "in_arbitration"


def test_only_the_merchant_replaces_and_only_before_arbitration(api, buyer, merchant, case_in, act):
    case = case_in("awaiting_merchant")
    assert api.post(f"/refunds/{case['id']}/replace", {}, token=buyer.token).status_code == 403
    case = case_in("in_arbitration")
    res = api.post(f"/refunds/{case['id']}/replace", {}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "invalid_state"


def test_an_unanswered_replacement_stands(api, buyer, merchant, case_in, act, advance, get_case):
    case = act(case_in("awaiting_buyer_rejected"), "replace", merchant)
    advance(7 * DAY + 60)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "replaced" and case["refunded_amount"] == 0
    assert ("replacement_timeout", "system") in [(e["type"], e["actor_role"]) for e in case["events"]]


def test_a_replacement_escalated_is_decided_like_any_case(api, buyer, merchant, arbitrator, case_in, act, wallet):
    case = act(case_in("awaiting_merchant"), "replace", merchant)
    case = act(case, "escalate", buyer)
    case = act(case, "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    assert case["status"] == "decided"


def login_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_case_page_offers_the_replacement_and_shows_the_new_key(buyer, merchant, case_in, get_case):
    case = case_in("awaiting_merchant")
    page = login_as(merchant).get(f"/refunds/{case['id']}").content.decode()
    assert "补发商品" in page
    done = login_as(merchant).post(f"/refunds/{case['id']}/replace", {"replace-content": ""}, follow=True)
    assert "已补发商品" in done.content.decode()
    key = get_case(case, buyer)["replacement"]["items"][0]
    buyer_page = login_as(buyer).get(f"/refunds/{case['id']}").content.decode()
    assert key in buyer_page and "接受补发" in buyer_page and "商家补发商品" in buyer_page


def test_an_accepted_replacement_gets_a_full_confirmation_window_from_its_delivery(
    api, buyer, merchant, make_listing, fund, buy, open_case, act, advance
):
    """补发 late in the verification window: the escrow must not release at the old release_at a
    minute after the buyer accepted the new key, but a whole window after the replacement came."""
    listing = make_listing(merchant, price=30000, verification_minutes=1440, stock=["KEY-DEAD-0001", "KEY-NEW-0002"])
    fund(buyer, 30000)
    order = buy(buyer, listing)
    first_release = order["escrow"]["release_at"]
    case = open_case(order)
    advance(1440 * 60 - 120)  # two minutes before the first window ends
    case = act(case, "replace", merchant)
    replaced_at = case["replacement"]["at"]
    case = act(case, "accept_replacement", buyer)
    assert case["resolution"] == "replaced"
    after = order_of(api, case, buyer)
    assert after["escrow"]["status"] == "held" and after["escrow"]["release_at"] > first_release
    window = datetime.fromisoformat(after["escrow"]["release_at"]) - datetime.fromisoformat(replaced_at)
    assert window == timedelta(minutes=1440)

    advance(300)  # the old release_at has passed: still held, the buyer is checking the new key
    assert order_of(api, case, buyer)["escrow"]["status"] == "held"
    advance(1440 * 60)  # the new window ended: released by the timer
    done = order_of(api, case, buyer)
    assert done["escrow"]["status"] == "released" and done["status"] == "completed"
    events = OrderEvent.objects.filter(order_id=int(order["id"])).order_by("id").values_list("type", flat=True)
    assert "window_restarted" in list(events)
