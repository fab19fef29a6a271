"""Game-account warranty 找回包赔 (issue 17.3): warranty_days (default 7 for game_account) and
warranty_amount on listings; that share stays in escrow until escrow.warranty_until, then a timer
releases it; a `reclaimed` case only inside the warranty, fast-tracked, paid from the kept share."""

from datetime import datetime, timedelta

H = 3600
DAY = 24 * H


def account_listing(make_listing, merchant, **extra):
    body = {
        "title": "王者荣耀 V8 账号",
        "category": "game_account",
        "kind": "account",
        "price": 50000,
        "description": "全英雄，已实名换绑",
        "promises": ["绑定可换"],
        "after_sale_days": 3,
        "verification_minutes": 60,
    }
    return make_listing(merchant, **{**body, **extra})


def delivered_order(api, buyer, merchant, listing, fund):
    fund(buyer, listing["price"])
    order = api.post("/orders", {"listing": listing["id"], "accept_special_terms": True}, token=buyer.token).data
    res = api.post(f"/orders/{order['id']}/deliver", {"content": "账号 abc / 密码 xyz"}, token=merchant.token)
    assert res.status_code == 200, res.data
    return res.data


def wallet(api, user):
    return api.get("/wallet", token=user.token).data["balance"]


def test_defaults_seven_days_for_game_accounts_zero_elsewhere(api, merchant, make_listing):
    game = account_listing(make_listing, merchant)
    assert game["warranty_days"] == 7 and game["warranty_amount"] == 50000  # the whole price by default
    key = make_listing(merchant)
    assert key["warranty_days"] == 0
    res = api.patch(f"/listings/{game['id']}", {"warranty_days": 14, "warranty_amount": 20000}, token=merchant.token)
    assert (res.data["warranty_days"], res.data["warranty_amount"]) == (14, 20000)
    for bad in ({"warranty_days": 91}, {"warranty_days": -1}, {"warranty_amount": 50001}, {"warranty_amount": 0}):
        res = api.patch(f"/listings/{game['id']}", bad, token=merchant.token)
        assert res.status_code == 400 and res.data["error"]["param"] in bad, bad
    three = api.get(f"/listings/{game['id']}").data
    assert three["warranty_days"] == 14


def test_the_share_stays_held_until_the_warranty_ends(api, buyer, merchant, make_listing, fund, advance):
    listing = account_listing(make_listing, merchant, warranty_amount=20000)
    order = delivered_order(api, buyer, merchant, listing, fund)
    until = datetime.fromisoformat(order["escrow"]["warranty_until"])
    assert until - datetime.fromisoformat(order["delivered_at"]) == timedelta(days=7)
    confirmed = api.post(f"/orders/{order['id']}/confirm", token=buyer.token).data
    assert confirmed["status"] == "completed"
    assert confirmed["escrow"]["amount"] == 20000  # the warranty share
    assert wallet(api, merchant) == 30000
    advance(7 * DAY - 60)
    assert wallet(api, merchant) == 30000
    advance(120)
    assert wallet(api, merchant) == 50000
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["escrow"]["amount"] == 0


def test_a_reclaim_inside_the_warranty_is_fast_tracked_and_paid_from_the_share(
    api, buyer, merchant, make_listing, fund, advance
):
    listing = account_listing(make_listing, merchant)  # the whole price held
    order = delivered_order(api, buyer, merchant, listing, fund)
    advance(2 * H)  # verification over: released, but everything kept for the warranty
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "completed"
    assert wallet(api, merchant) == 0
    advance(4 * DAY)  # past after_sale_days (3): a quality claim is no longer the way, a reclaim is
    res = api.post(
        "/refunds",
        {"order": order["id"], "reason": "reclaimed", "description": "账号被原主找回，无法登录", "amount": 50000},
        token=buyer.token,
    )
    assert res.status_code == 201, res.data
    case = res.data
    assert case["fast_track"] is True and case["reason"] == "reclaimed"
    advance(2 * DAY)  # the warranty ends while the case holds the order: nothing is released
    assert wallet(api, merchant) == 0
    advance(7 * DAY)  # a silent merchant on the fast track: refunded in full, from the kept share
    closed = api.get(f"/refunds/{case['id']}", token=buyer.token).data
    assert closed["status"] == "closed" and closed["merchant_timed_out"] is True
    assert wallet(api, buyer) == 50000 and wallet(api, merchant) == 0
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "refunded"


def test_a_reclaim_outside_the_warranty_is_refused(api, buyer, merchant, make_listing, fund, advance):
    key_order_listing = make_listing(merchant, price=500)
    fund(buyer, 500)
    key_order = api.post("/orders", {"listing": key_order_listing["id"]}, token=buyer.token).data
    body = {"order": key_order["id"], "reason": "reclaimed", "description": "被找回", "amount": 500}
    res = api.post("/refunds", body, token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "warranty_not_active"  # no warranty at all
    order = delivered_order(api, buyer, merchant, account_listing(make_listing, merchant), fund)
    advance(7 * DAY + 60)
    res = api.post("/refunds", {**body, "order": order["id"], "amount": 50000}, token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "warranty_not_active"


def test_orders_keep_the_warranty_they_bought(api, buyer, merchant, make_listing, fund, advance):
    listing = account_listing(make_listing, merchant, warranty_amount=10000)
    order = delivered_order(api, buyer, merchant, listing, fund)
    api.patch(f"/listings/{listing['id']}", {"warranty_days": 0}, token=merchant.token)
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert wallet(api, merchant) == 40000  # the order's own terms: 10000 kept for 7 days
    advance(7 * DAY + 60)
    assert wallet(api, merchant) == 50000


def test_a_case_open_when_the_warranty_ends_releases_the_share_when_it_closes(
    api, buyer, merchant, make_listing, fund, advance
):
    order = delivered_order(api, buyer, merchant, account_listing(make_listing, merchant), fund)
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    advance(6 * DAY)
    case = api.post(
        "/refunds",
        {"order": order["id"], "reason": "reclaimed", "description": "疑似被找回", "amount": 50000},
        token=buyer.token,
    ).data
    advance(DAY + 60)  # the warranty ended: the case holds the share
    assert wallet(api, merchant) == 0
    assert api.post(f"/refunds/{case['id']}/withdraw", {}, token=buyer.token).status_code == 200
    assert wallet(api, merchant) == 50000


def test_listing_and_order_pages_show_the_warranty(client, api, buyer, merchant, make_listing, fund):
    listing = account_listing(make_listing, merchant, warranty_amount=20000)
    page = client.get(f"/listings/{listing['id']}").content.decode()
    assert "找回包赔" in page and "7 天内账号被找回" in page and "¥200.00" in page
    order = delivered_order(api, buyer, merchant, listing, fund)
    client.force_login(buyer)
    html = client.get(f"/orders/{order['id']}").content.decode()
    assert 'data-testid="warranty"' in html
    seconds = int(
        html.split('data-expired-text="包赔期已结束"')[0].rsplit('data-countdown-seconds="', 1)[1].split('"')[0]
    )
    assert 7 * DAY - 60 <= seconds <= 7 * DAY  # the countdown to the warranty's end
