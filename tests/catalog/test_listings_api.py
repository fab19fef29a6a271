"""Listings: categories and their class, special terms, versions, snapshots, search, unfair-clause warnings."""

import hashlib

import pytest

CATEGORIES = [
    ("software_license", "standardized", "card_key"),
    ("game_currency", "standardized", "direct_topup"),
    ("mobile_topup", "standardized", "direct_topup"),
    ("gift_card", "standardized", "card_key"),
    ("online_course", "standardized", "account"),
    ("game_account", "customized", "account"),
    ("game_boosting", "customized", "service"),
    ("custom_design", "customized", "service"),
]


@pytest.mark.parametrize("category,category_class,kind", CATEGORIES)
def test_each_category_has_its_class_and_customized_ones_get_special_terms(
    api, merchant, make_listing, category, category_class, kind
):
    listing = make_listing(
        merchant, title=f"测试商品 {category}", category=category, kind=kind, no_reason_refund=True, stock=[]
    )
    assert listing["category"] == category
    assert listing["category_class"] == category_class
    assert listing["kind"] == kind
    assert listing["version"] == 1
    assert listing["shop"] == merchant.shop_id
    assert listing["status"] == "active"
    if category_class == "customized":
        assert listing["special_terms"], "special goods must carry terms the buyer confirms"
        assert any("第二十五条" in term for term in listing["special_terms"])
        assert listing["no_reason_refund"] is False  # special goods are never no-reason
    else:
        assert listing["special_terms"] == []
        assert listing["no_reason_refund"] is True


def test_listing_shape_matches_the_contract(api, merchant, make_listing):
    listing = make_listing(merchant, deposit_percent=None)
    for field in (
        "id",
        "shop",
        "version",
        "title",
        "category",
        "category_class",
        "kind",
        "price",
        "description",
        "promises",
        "after_sale_days",
        "verification_minutes",
        "no_reason_refund",
        "special_terms",
        "warnings",
        "status",
    ):
        assert field in listing
    assert listing["price"] == 9900
    assert listing["promises"] == ["100%稳定激活", "24小时内激活"]
    detail = api.get(f"/listings/{listing['id']}").data
    assert detail.pop("three_checks")["merchant"]["shop"] == merchant.shop_id  # 三查: added on the detail endpoint
    assert detail == listing | {"stock_available": 5, "restocking": False}  # created before its stock


@pytest.mark.parametrize(
    "field,value",
    [
        ("category", "weapons"),
        ("kind", "teleport"),
        ("price", 0),
        ("price", -5),
        ("title", ""),
        ("after_sale_days", 400),
        ("deposit_percent", 100),
    ],
)
def test_invalid_listing_fields_are_400_with_the_field_named(api, merchant, field, value):
    body = {"title": "合法标题", "category": "game_boosting", "kind": "service", "price": 5000, field: value}
    res = api.post("/listings", body, token=merchant.token)
    assert res.status_code == 400, res.data
    assert res.data["error"]["type"] == "invalid_request"
    assert res.data["error"]["param"] == field


def test_only_merchants_create_listings(api, buyer):
    res = api.post(
        "/listings", {"title": "x", "category": "gift_card", "kind": "card_key", "price": 100}, token=buyer.token
    )
    assert res.status_code == 403


def test_every_edit_makes_a_new_version_and_orders_keep_what_they_bought(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, title="Office 2021 激活码", price=5000)
    fund(buyer, 100000)
    first = buy(buyer, listing)

    patched = api.patch(
        f"/listings/{listing['id']}", {"title": "Office 2021 专业增强版激活码", "price": 6000}, token=merchant.token
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["version"] == 2
    assert patched.data["title"] == "Office 2021 专业增强版激活码"
    again = api.patch(f"/listings/{listing['id']}", {"promises": ["终身有效"]}, token=merchant.token)
    assert again.data["version"] == 3
    assert again.data["price"] == 6000  # fields not sent are kept

    second = buy(buyer, listing)
    old = api.get(f"/orders/{first['id']}", token=buyer.token).data
    assert old["listing_version"] == 1
    assert old["snapshot"]["title"] == "Office 2021 激活码"
    assert old["snapshot"]["price"] == 5000
    assert old["amount"] == 5000
    assert old["snapshot"]["promises"] == ["100%稳定激活", "24小时内激活"]
    assert old["snapshot"]["sha256"] == first["snapshot"]["sha256"]
    assert second["listing_version"] == 3
    assert second["snapshot"]["title"] == "Office 2021 专业增强版激活码"
    assert second["snapshot"]["promises"] == ["终身有效"]
    assert second["amount"] == 6000
    assert second["snapshot"]["sha256"] != first["snapshot"]["sha256"]


def test_snapshot_hash_is_the_sha256_of_the_stored_version(api, buyer, merchant, make_listing, fund, buy):
    from kameng.catalog.models import ListingVersion
    from kameng.catalog.rules import snapshot_sha256

    listing = make_listing(merchant)
    fund(buyer, 10000)
    order = buy(buyer, listing)
    version = ListingVersion.objects.get(listing_id=int(listing["id"]), version=order["listing_version"])
    assert order["snapshot"]["sha256"] == version.sha256 == snapshot_sha256(version.data)
    assert len(order["snapshot"]["sha256"]) == 64
    int(order["snapshot"]["sha256"], 16)
    # Editing the listing never rewrites the versions orders point at.
    api.patch(f"/listings/{listing['id']}", {"description": "改过的描述"}, token=merchant.token)
    version.refresh_from_db()
    assert version.data["description"] == "正版授权，24小时内激活"
    assert snapshot_sha256(version.data) == order["snapshot"]["sha256"]
    assert hashlib.sha256(b"").hexdigest() != order["snapshot"]["sha256"]


def test_only_the_owner_may_edit(api, merchant, make_user, make_listing):
    listing = make_listing(merchant)
    rival = make_user("merchant")
    api.post("/shops", {"name": "对手店", "description": ""}, token=rival.token)
    res = api.patch(f"/listings/{listing['id']}", {"price": 1}, token=rival.token)
    assert res.status_code == 403
    assert api.get(f"/listings/{listing['id']}").data["price"] == 9900


def test_public_search_by_text_and_category(api, merchant, make_listing):
    make_listing(merchant, title="王者荣耀 点券 1000", category="game_currency", kind="direct_topup")
    make_listing(
        merchant,
        title="原神 创世结晶 6480",
        category="game_currency",
        kind="direct_topup",
        description="官服直充，王者不适用",
    )
    make_listing(merchant, title="王者荣耀 钻石段位代练", category="game_boosting", kind="service")
    make_listing(merchant, title="Steam 100元 礼品卡", category="gift_card", kind="card_key")

    def titles(query):
        res = api.get(f"/listings{query}")
        assert res.status_code == 200
        assert res.data["has_more"] is False
        return sorted(item["title"] for item in res.data["data"])

    assert titles("?q=王者荣耀") == ["王者荣耀 点券 1000", "王者荣耀 钻石段位代练"]
    assert titles("?q=王者") == ["原神 创世结晶 6480", "王者荣耀 点券 1000", "王者荣耀 钻石段位代练"]  # description
    assert titles("?category=game_currency") == ["原神 创世结晶 6480", "王者荣耀 点券 1000"]
    assert titles("?q=王者荣耀&category=game_boosting") == ["王者荣耀 钻石段位代练"]
    assert titles("?q=steam") == ["Steam 100元 礼品卡"]
    assert titles("?q=不存在的东西") == []
    assert len(titles("")) == 4


def test_inactive_listings_leave_search_and_their_public_page(api, merchant, make_listing):
    listing = make_listing(merchant, title="下架测试")
    api.patch(f"/listings/{listing['id']}", {"status": "inactive"}, token=merchant.token)
    assert api.get("/listings?q=下架测试").data["data"] == []
    assert api.get(f"/listings/{listing['id']}").status_code == 404
    assert api.get(f"/listings/{listing['id']}", token=merchant.token).status_code == 200  # the owner still sees it


@pytest.mark.parametrize("where", ["title", "description", "promises"])
def test_unfair_clauses_are_flagged_wherever_they_appear(api, merchant, make_listing, where):
    clause = "虚拟商品，一经售出，概不退换！"
    body = {"title": "腾讯视频会员月卡", "description": "自动发货", "promises": ["秒发"]}
    body[where] = [clause] if where == "promises" else body[where] + clause
    listing = make_listing(merchant, category="gift_card", kind="card_key", **body)
    warnings = listing["warnings"]
    assert warnings, "the clause must be flagged"
    assert all(w["code"] == "unfair_clause" for w in warnings)
    assert any(w["text"] == "一经售出概不退换" for w in warnings)
    assert any("第二十六条" in w["law"] for w in warnings)
    assert api.get(f"/listings/{listing['id']}").data["warnings"] == warnings


def test_fair_listing_has_no_warnings_and_editing_the_clause_out_clears_them(api, merchant, make_listing):
    listing = make_listing(merchant, description="最终解释权归本店所有")
    assert [w["text"] for w in listing["warnings"]] == ["最终解释权归本店所有"]
    cleaned = api.patch(f"/listings/{listing['id']}", {"description": "激活失败全额退款"}, token=merchant.token)
    assert cleaned.data["warnings"] == []
    assert make_listing(merchant, title="正常商品")["warnings"] == []
