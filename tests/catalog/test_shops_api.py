"""Shops: one per merchant, public page with the credit block."""


def test_merchant_opens_one_shop_and_anyone_can_see_it(api, merchant):
    res = api.get(f"/shops/{merchant.shop_id}")
    assert res.status_code == 200
    shop = res.data
    assert shop["id"] == merchant.shop_id
    assert shop["name"] == f"{merchant.username}的小店"
    assert shop["status"] == "active"
    assert shop["created_at"]
    credit = shop["credit"]
    assert 0 <= credit["score"] <= 100
    assert credit["grade"] in "ABCDE"
    assert {
        "orders_90d",
        "cases_90d",
        "dispute_rate",
        "merchant_fault_rate",
        "timeouts_90d",
        "median_response_seconds",
        "tenure_days",
    } <= set(credit)


def test_a_second_shop_for_the_same_merchant_is_a_conflict(api, merchant):
    res = api.post("/shops", {"name": "第二家店", "description": ""}, token=merchant.token)
    assert res.status_code == 409
    assert res.data["error"]["type"] == "conflict"
    assert res.data["error"]["code"] == "shop_exists"


def test_buyers_cannot_open_shops(api, buyer):
    res = api.post("/shops", {"name": "买家的店", "description": ""}, token=buyer.token)
    assert res.status_code == 403
    assert res.data["error"]["type"] == "permission_denied"


def test_unknown_shop_is_404(api, db):
    for shop_id in ("999999", "abc"):
        res = api.get(f"/shops/{shop_id}")
        assert res.status_code == 404
        assert res.data["error"]["type"] == "not_found"


def test_listing_needs_a_shop_first(api, make_user):
    shopless = make_user("merchant")
    res = api.post(
        "/listings",
        {"title": "无店商品", "category": "gift_card", "kind": "card_key", "price": 100},
        token=shopless.token,
    )
    assert res.status_code == 409
    assert res.data["error"]["code"] == "shop_required"
