"""Orders: buying with escrow, delivery, confirmation, automatic release, staged payment, secrecy of card keys."""

import pytest


def wallet(api, user):
    return api.get("/wallet", token=user.token).data["balance"]


def error(res):
    return res.data["error"]


def test_order_shape_and_a_readable_number(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant)
    fund(buyer, 20000)
    order = buy(buyer, listing)
    for field in (
        "id",
        "number",
        "buyer",
        "shop",
        "listing",
        "listing_version",
        "snapshot",
        "quantity",
        "amount",
        "currency",
        "status",
        "escrow",
        "delivery",
        "delivered_at",
        "after_sale_until",
        "created_at",
    ):
        assert field in order
    assert order["number"].startswith("KM") and order["number"][2:].isdigit()
    assert order["buyer"] == str(buyer.pk)
    assert order["shop"] == merchant.shop_id
    assert order["listing"] == listing["id"]
    assert order["currency"] == "CNY"
    assert order["quantity"] == 1 and order["amount"] == 9900
    for field in ("title", "description", "promises", "price", "no_reason_refund", "special_terms", "sha256"):
        assert field in order["snapshot"]
    assert order["escrow"]["release_at"] is not None
    assert "+" in order["created_at"] or order["created_at"].endswith("Z")  # ISO 8601 with an offset


def test_insufficient_funds_is_402_and_nothing_happens(api, buyer, merchant, make_listing, fund):
    listing = make_listing(merchant, price=9900)
    fund(buyer, 9899)
    res = api.post("/orders", {"listing": listing["id"]}, token=buyer.token)
    assert res.status_code == 402
    assert error(res)["type"] == "insufficient_funds"
    assert wallet(api, buyer) == 9899
    assert api.get("/orders", token=buyer.token).data["data"] == []
    assert api.get(f"/listings/{listing['id']}").data["stock_available"] == 5


def test_out_of_stock_is_409_and_money_stays(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, stock=["ONLY-ONE"])
    fund(buyer, 50000)
    buy(buyer, listing)
    res = api.post("/orders", {"listing": listing["id"]}, token=buyer.token)
    assert res.status_code == 409
    assert error(res)["type"] == "conflict"
    assert error(res)["code"] == "out_of_stock"
    assert wallet(api, buyer) == 50000 - 9900
    many = api.post("/orders", {"listing": listing["id"], "quantity": 3}, token=buyer.token)
    assert error(many)["code"] == "out_of_stock"


def test_quantity_takes_that_many_distinct_keys(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=1000)
    fund(buyer, 10000)
    order = buy(buyer, listing, quantity=3)
    assert order["amount"] == 3000
    assert len(set(order["delivery"]["items"])) == 3
    assert api.get(f"/listings/{listing['id']}").data["stock_available"] == 2


def test_customized_goods_need_the_special_terms_accepted(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(
        merchant,
        title="王者荣耀 V8 账号 全皮肤",
        category="game_account",
        kind="account",
        price=50000,
        verification_minutes=60,
    )
    fund(buyer, 60000)
    res = api.post("/orders", {"listing": listing["id"]}, token=buyer.token)
    assert res.status_code == 400
    assert error(res)["type"] == "invalid_request"
    assert error(res)["code"] == "special_terms_not_accepted"
    assert wallet(api, buyer) == 60000
    order = buy(buyer, listing, accept_special_terms=True)
    assert order["status"] == "paid"
    assert order["snapshot"]["special_terms"] == listing["special_terms"]


def test_merchant_delivers_non_card_key_goods(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(
        merchant,
        title="原神 648 创世结晶直充",
        category="game_currency",
        kind="direct_topup",
        price=60000,
        verification_minutes=120,
    )
    fund(buyer, 60000)
    order = buy(buyer, listing, topup_target="UID 100234567")
    assert order["status"] == "paid"
    assert order["escrow"] == {"status": "held", "amount": 60000, "release_at": None, "warranty_until": None}
    assert order["delivery"] is None

    assert api.post(f"/orders/{order['id']}/deliver", {"content": "x"}, token=buyer.token).status_code == 403
    done = api.post(
        f"/orders/{order['id']}/deliver", {"content": "已充值到 UID 100234567，订单号 GS-88"}, token=merchant.token
    )
    assert done.status_code == 200, done.data
    assert done.data["status"] == "delivered"
    assert done.data["delivery"] == {"items": [], "content": "已充值到 UID 100234567，订单号 GS-88"}
    assert done.data["delivered_at"] and done.data["after_sale_until"] and done.data["escrow"]["release_at"]
    seen = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert seen["delivery"]["content"] == "已充值到 UID 100234567，订单号 GS-88"
    again = api.post(f"/orders/{order['id']}/deliver", {"content": "再发一次"}, token=merchant.token)
    assert again.status_code == 409
    assert error(again)["code"] == "invalid_state"


def test_card_keys_are_never_delivered_by_hand(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant)
    fund(buyer, 10000)
    order = buy(buyer, listing)
    res = api.post(f"/orders/{order['id']}/deliver", {"content": "手动"}, token=merchant.token)
    assert res.status_code == 409


def test_direct_topup_needs_a_target(api, buyer, merchant, make_listing, fund):
    listing = make_listing(merchant, category="mobile_topup", kind="direct_topup", price=10000)
    fund(buyer, 10000)
    res = api.post("/orders", {"listing": listing["id"]}, token=buyer.token)
    assert res.status_code == 400
    assert error(res)["param"] == "topup_target"


def test_confirm_releases_escrow_to_the_merchant(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant)
    fund(buyer, 9900)
    order = buy(buyer, listing)
    assert wallet(api, buyer) == 0
    assert wallet(api, merchant) == 0
    assert api.post(f"/orders/{order['id']}/confirm", token=merchant.token).status_code == 403
    res = api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert res.status_code == 200, res.data
    assert res.data["status"] == "completed"
    assert res.data["escrow"]["status"] == "released"
    assert res.data["escrow"]["amount"] == 0
    assert wallet(api, merchant) == 9900
    again = api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert again.status_code == 409
    assert error(again)["code"] == "invalid_state"
    assert wallet(api, merchant) == 9900


def test_confirm_before_delivery_is_a_conflict(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, category="game_boosting", kind="service", price=3000)
    fund(buyer, 3000)
    order = buy(buyer, listing, accept_special_terms=True)
    res = api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert res.status_code == 409
    assert wallet(api, merchant) == 0


def test_escrow_releases_itself_when_the_verification_window_ends(
    api, buyer, merchant, make_listing, fund, buy, advance
):
    listing = make_listing(merchant, verification_minutes=60)
    fund(buyer, 9900)
    order = buy(buyer, listing)
    advance(59 * 60)
    held = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert held["status"] == "delivered"
    assert held["escrow"]["status"] == "held"
    assert wallet(api, merchant) == 0

    advance(60 + 1)
    done = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert done["status"] == "completed"
    assert done["escrow"]["status"] == "released"
    assert wallet(api, merchant) == 9900
    advance(86400)  # nothing runs twice
    assert wallet(api, merchant) == 9900
    assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 409


def test_release_at_is_delivery_plus_the_verification_window(api, buyer, merchant, make_listing, fund, buy):
    from datetime import datetime, timedelta

    listing = make_listing(merchant, category="online_course", kind="account", price=100, verification_minutes=90)
    fund(buyer, 100)
    order = buy(buyer, listing)
    delivered = api.post(f"/orders/{order['id']}/deliver", {"content": "账号 a / 密码 b"}, token=merchant.token).data
    at = datetime.fromisoformat(delivered["delivered_at"])
    assert datetime.fromisoformat(delivered["escrow"]["release_at"]) == at + timedelta(minutes=90)
    assert datetime.fromisoformat(delivered["after_sale_until"]) == at + timedelta(days=7)


def test_staged_payment_takes_the_deposit_then_the_balance_on_delivery(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(
        merchant,
        title="企业 LOGO 定制设计（三稿）",
        category="custom_design",
        kind="service",
        price=100000,
        deposit_percent=30,
    )
    assert listing["deposit_percent"] == 30
    fund(buyer, 150000)
    order = buy(buyer, listing, accept_special_terms=True)
    assert order["amount"] == 100000
    assert order["status"] == "paid"
    assert order["escrow"]["amount"] == 30000
    assert wallet(api, buyer) == 120000

    delivered = api.post(
        f"/orders/{order['id']}/deliver", {"content": "终稿源文件：https://pan.example/logo"}, token=merchant.token
    ).data
    assert delivered["status"] == "delivered"
    assert delivered["escrow"]["amount"] == 100000
    assert wallet(api, buyer) == 50000
    assert wallet(api, merchant) == 0

    done = api.post(f"/orders/{order['id']}/confirm", token=buyer.token).data
    assert done["status"] == "completed"
    assert done["escrow"] == {
        "status": "released",
        "amount": 0,
        "release_at": delivered["escrow"]["release_at"],
        "warranty_until": None,
    }
    assert wallet(api, merchant) == 100000
    assert wallet(api, buyer) == 50000


def test_buyers_and_merchants_see_only_their_own_orders(api, buyer, merchant, make_user, make_listing, fund, buy):
    listing = make_listing(merchant)
    other_buyer = make_user("buyer")
    other_merchant = make_user("merchant")
    fund(buyer, 10000)
    fund(other_buyer, 10000)
    mine = buy(buyer, listing)
    theirs = buy(other_buyer, listing)
    assert [o["id"] for o in api.get("/orders", token=buyer.token).data["data"]] == [mine["id"]]
    assert {o["id"] for o in api.get("/orders", token=merchant.token).data["data"]} == {mine["id"], theirs["id"]}
    assert api.get("/orders", token=other_merchant.token).data["data"] == []
    res = api.get(f"/orders/{theirs['id']}", token=buyer.token)
    assert res.status_code == 404
    assert error(res)["type"] == "not_found"
    assert api.get(f"/orders/{mine['id']}", token=other_merchant.token).status_code == 404


def test_merchants_cannot_buy(api, merchant, make_user, make_listing):
    listing = make_listing(merchant)
    other = make_user("merchant")
    assert api.post("/orders", {"listing": listing["id"]}, token=other.token).status_code == 403
    assert api.post("/orders", {"listing": "999999"}, token=make_user("buyer").token).status_code == 404


# ---- card-key secrecy -------------------------------------------------------------------------


def test_stock_bulk_add_counts_duplicates_and_does_not_add_them(api, merchant, make_listing):
    listing = make_listing(merchant, stock=[])
    url = f"/listings/{listing['id']}/stock"
    first = api.post(url, {"items": ["AAAA-1111", "BBBB-2222", "AAAA-1111", "  ", "CCCC-3333"]}, token=merchant.token)
    assert first.data == {"added": 3, "duplicates": 1, "available": 3}
    second = api.post(url, {"items": ["BBBB-2222", "DDDD-4444", " CCCC-3333 "]}, token=merchant.token)
    assert second.data == {"added": 1, "duplicates": 2, "available": 4}
    assert api.get(f"/listings/{listing['id']}").data["stock_available"] == 4


def test_only_the_owner_adds_stock_and_only_to_card_key_listings(api, merchant, make_user, make_listing):
    listing = make_listing(merchant, stock=[])
    rival = make_user("merchant")
    api.post("/shops", {"name": "对手", "description": ""}, token=rival.token)
    assert api.post(f"/listings/{listing['id']}/stock", {"items": ["X"]}, token=rival.token).status_code == 403
    service = make_listing(merchant, category="game_boosting", kind="service")
    res = api.post(f"/listings/{service['id']}/stock", {"items": ["X"]}, token=merchant.token)
    assert res.status_code == 409


@pytest.mark.parametrize("delivered_to_other", [False, True])
def test_card_key_secrets_reach_only_their_buyer_and_merchant(
    api, buyer, merchant, make_user, make_listing, fund, buy, delivered_to_other
):
    secrets = ["SECRET-ALPHA-0001", "SECRET-BRAVO-0002"]
    listing = make_listing(merchant, title="Steam 50元 充值卡", category="gift_card", stock=secrets)
    fund(buyer, 50000)
    order = buy(buyer, listing)
    (mine,) = order["delivery"]["items"]
    assert mine in secrets
    other = make_user("buyer")
    if delivered_to_other:
        fund(other, 50000)
        buy(other, listing)

    def leaked(res, secret):
        return secret.encode() in res.content

    # The buyer and the merchant see the delivered key.
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["delivery"]["items"] == [mine]
    assert api.get(f"/orders/{order['id']}", token=merchant.token).data["delivery"]["items"] == [mine]
    # Nobody else, anywhere.
    public = [
        api.get(f"/listings/{listing['id']}"),
        api.get("/listings"),
        api.get("/listings?q=Steam"),
        api.get(f"/shops/{merchant.shop_id}"),
        api.get("/openapi.json"),
    ]
    as_other = [
        api.get(f"/orders/{order['id']}", token=other.token),
        api.get("/orders", token=other.token),
        api.get(f"/listings/{listing['id']}", token=other.token),
        api.get("/orders/export?format=csv", token=other.token),
    ]
    for res in public + as_other:
        assert not leaked(res, mine), res.request["PATH_INFO"]
    if not delivered_to_other:
        for res in public + as_other:
            assert not any(leaked(res, s) for s in secrets)
    # Listing the buyer's own orders shows only their key.
    own = api.get("/orders", token=buyer.token)
    assert leaked(own, mine)
    assert not any(leaked(own, s) for s in secrets if s != mine)
