"""Sanctions: grade D restricts (限制流量), grade E or repeated overturned refusals suspend (清退),
operators override with a reason, and every change is in the audit log the merchant sees."""

from kameng.catalog.models import Shop
from kameng.trust.models import SanctionEvent


def _search_ids(api, q="激活码"):
    res = api.get(f"/listings?q={q}")
    assert res.status_code == 200, res.data
    return [item["id"] for item in res.data["data"]]


def test_grade_d_restricts_the_shop_and_demotes_its_listings_in_search(
    api, restricted_merchant, merchant, stocked, admin
):
    first = restricted_merchant.listing
    active = stocked(merchant, tag="active")
    newest = stocked(restricted_merchant, tag="new")
    assert _search_ids(api) == [active["id"], newest["id"], first["id"]]  # the restricted shop's go last
    log = api.get(f"/shops/{restricted_merchant.shop_id}/sanctions", token=restricted_merchant.token).data["data"]
    assert [(e["from_status"], e["to_status"], e["source"]) for e in log] == [("active", "restricted", "auto")]
    assert "信用等级 D（55 分）" in log[0]["reason"] and log[0]["grade"] == "D"
    # Lifted (here by an operator), newest first again.
    res = api.post(
        f"/shops/{restricted_merchant.shop_id}/sanction",
        {"status": "active", "reason": "已核实为误判"},
        token=admin.token,
    )
    assert res.status_code == 200 and res.data["status"] == "active"
    assert _search_ids(api) == [newest["id"], active["id"], first["id"]]


def test_restriction_lifts_itself_when_the_bad_record_leaves_the_window(api, restricted_merchant, advance):
    advance(91 * 86400)  # the daily timer refreshes the credit without anyone reading it
    assert Shop.objects.get(pk=restricted_merchant.shop_id).status == "active"
    event = SanctionEvent.objects.filter(shop_id=restricted_merchant.shop_id).order_by("-pk").first()
    assert (event.from_status, event.to_status, event.source) == ("restricted", "active", "auto")
    assert "解除限制流量" in event.reason


def test_grade_e_suspends_hides_listings_and_refuses_orders_while_open_orders_and_cases_go_on(
    api, merchant, make_user, stocked, make_listing, sale, fund, buy, open_refund, act, advance, shop
):
    card = stocked(merchant)
    service = make_listing(merchant, title="王者荣耀代练上分", category="game_boosting", kind="service", price=5000)
    service_buyer, service_order = sale(service, accept_special_terms=True)  # paid, not yet delivered
    card_buyer, card_order = sale(card)  # delivered, inside its after-sale window
    for _ in range(3):  # three fast-track cases the merchant lets time out: refunded automatically
        buyer, order = sale(card)
        open_refund(buyer, order)
    advance(48 * 3600 + 1)
    data = shop(merchant)
    # 80 + 0.5 − 15 (3 cases / 20) − 30 (3 faults / 3) − 15 (3 timeouts) = 20.5
    assert (data["credit"]["grade"], data["credit"]["score"], data["status"]) == ("E", 21, "suspended")
    # Credit is pushed on each timeout, so the shop may pass through D (restricted) on the way to E.
    events = list(SanctionEvent.objects.filter(shop_id=merchant.shop_id).order_by("pk"))
    assert [e.to_status for e in events] in (["suspended"], ["restricted", "suspended"])
    assert "信用等级 E" in events[-1].reason

    # Listings hidden from buyers and search; no new orders.
    assert _search_ids(api) == []
    assert api.get(f"/listings/{card['id']}").status_code == 404
    assert api.get(f"/listings/{card['id']}", token=merchant.token).status_code == 200  # the owner still sees it
    newcomer = make_user("buyer")
    fund(newcomer, 20000)
    refused = api.post("/orders", {"listing": card["id"]}, token=newcomer.token)
    assert refused.status_code == 404

    # Open orders and cases continue.
    res = api.post(f"/orders/{service_order['id']}/deliver", {"content": "已代练至王者段位"}, token=merchant.token)
    assert res.status_code == 200 and res.data["status"] == "delivered"
    assert (
        api.post(f"/orders/{service_order['id']}/messages", {"body": "请验收"}, token=merchant.token).status_code == 201
    )
    assert api.post(f"/orders/{service_order['id']}/confirm", token=service_buyer.token).data["status"] == "completed"
    case = open_refund(card_buyer, card_order)
    assert act(merchant, case, "accept")["resolution"] == "refund_full"

    # A suspension is not lifted by time alone: an operator must review it.
    advance(91 * 86400)
    assert shop(merchant)["status"] == "suspended"


def test_three_refusals_later_overturned_suspend_even_without_grade_e(
    api, merchant, make_user, stocked, fund, buy, open_refund, act, advance, shop
):
    advance(180 * 86400)  # an established shop: +10 for tenure
    listing = stocked(merchant, n=20)
    buyer = make_user("buyer")
    fund(buyer, 20 * 9900)
    orders = [buy(buyer, listing) for _ in range(20)]
    for order in orders[:17]:
        assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200
        assert (
            api.post(f"/orders/{order['id']}/review", {"stars": 5, "text": "好评"}, token=buyer.token).status_code
            == 201
        )
    assert shop(merchant)["credit"]["grade"] == "A"
    for order in orders[17:]:  # rejected, then refunded after all: 驳回后又同意退款
        case = open_refund(buyer, order)
        act(merchant, case, "reject", {"reason": "激活码没问题"})
        act(merchant, case, "accept")
    data = shop(merchant)
    # 80 + 10 + 2 + 10 − 15 − 30 − 15 = 42: grade D, yet three overturned refusals mean 清退.
    assert (data["credit"]["grade"], data["credit"]["overturned_refusals_90d"], data["status"]) == ("D", 3, "suspended")
    event = SanctionEvent.objects.filter(shop_id=merchant.shop_id).order_by("-pk").first()
    assert event.to_status == "suspended" and "3 次拒绝退款后被推翻" in event.reason


def test_operator_override_needs_a_reason_is_logged_and_holds_until_the_record_gets_worse(
    api, restricted_merchant, merchant, buyer, admin, arbitrator, sale, open_refund, advance, shop
):
    url = f"/shops/{restricted_merchant.shop_id}/sanction"
    assert api.post(url, {"status": "active", "reason": "申诉"}, token=restricted_merchant.token).status_code == 403
    assert api.post(url, {"status": "active", "reason": "申诉"}, token=buyer.token).status_code == 403
    assert api.post(url, {"status": "active", "reason": "申诉"}, token=arbitrator.token).status_code == 403
    assert api.post(url, {"status": "active", "reason": "申诉"}).status_code == 401
    missing = api.post(url, {"status": "active", "reason": "  "}, token=admin.token)
    assert missing.status_code == 400 and missing.data["error"]["param"] == "reason"
    wrong = api.post(url, {"status": "closed", "reason": "x"}, token=admin.token)
    assert wrong.status_code == 400 and wrong.data["error"]["param"] == "status"
    assert api.post("/shops/999999/sanction", {"status": "active", "reason": "x"}, token=admin.token).status_code == 404

    res = api.post(url, {"status": "active", "reason": "商家已整改并承诺不再站外交易"}, token=admin.token)
    assert res.status_code == 200 and res.data["event"]["source"] == "admin"
    assert res.data["event"]["actor"] == str(admin.pk)
    assert shop(restricted_merchant)["status"] == "active"  # the override holds though the grade is still D

    # Shown to the merchant, and to staff; not to other merchants or the public.
    log = api.get(f"/shops/{restricted_merchant.shop_id}/sanctions", token=restricted_merchant.token)
    assert [(e["to_status"], e["source"], e["reason"]) for e in log.data["data"]][:1] == [
        ("active", "admin", "商家已整改并承诺不再站外交易")
    ]
    assert api.get(f"/shops/{restricted_merchant.shop_id}/sanctions", token=admin.token).status_code == 200
    assert api.get(f"/shops/{restricted_merchant.shop_id}/sanctions", token=merchant.token).status_code == 403
    assert api.get(f"/shops/{restricted_merchant.shop_id}/sanctions").status_code == 401
    assert api.get("/sanctions", token=admin.token).data["data"][0]["reason"] == "商家已整改并承诺不再站外交易"
    assert api.get("/sanctions", token=merchant.token).status_code == 403

    # New evidence, worse than when the operator decided: three cases left to time out → grade E → 清退.
    for _ in range(3):
        b, order = sale(restricted_merchant.listing)
        open_refund(b, order)
    advance(48 * 3600 + 1)
    assert shop(restricted_merchant)["status"] == "suspended"
    log = api.get(f"/shops/{restricted_merchant.shop_id}/sanctions", token=restricted_merchant.token).data["data"]
    assert [(e["from_status"], e["to_status"], e["source"]) for e in log] == [
        ("active", "suspended", "auto"),
        ("restricted", "active", "admin"),
        ("active", "restricted", "auto"),
    ]


def test_demoted_last_holds_across_pages_with_the_usual_cursor(api, restricted_merchant, merchant, stocked):
    mixed = []
    for i in range(3):  # interleave: active, restricted, active, restricted …
        mixed.append(("active", stocked(merchant, tag=f"a{i}")["id"]))
        mixed.append(("restricted", stocked(restricted_merchant, tag=f"r{i}")["id"]))
    restricted_ids = [restricted_merchant.listing["id"]] + [i for s, i in mixed if s == "restricted"]
    expected = [i for s, i in reversed(mixed) if s == "active"] + sorted(restricted_ids, key=int, reverse=True)
    seen, cursor = [], None
    while True:
        query = "/listings?q=激活码&limit=2" + (f"&starting_after={cursor}" if cursor else "")
        page = api.get(query).data
        seen += [listing["id"] for listing in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert seen == expected
