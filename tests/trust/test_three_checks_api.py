"""The buyer's three checks (三查) on GET /listings/{id}, and unfair-clause warnings that follow
the listing into the order snapshot the arbitrator reads."""


def test_listing_detail_carries_the_three_checks(api, merchant, make_user, stocked, sale, open_refund, act):
    listing = stocked(merchant, verification_minutes=120, after_sale_days=5)
    buyer, order = sale(listing)
    act(merchant, open_refund(buyer, order), "accept")
    checks = api.get(f"/listings/{listing['id']}").data["three_checks"]

    platform = checks["platform"]
    assert platform["rules_url"] == "/rules/" and platform["policies_url"] == "/api/v1/policies"
    assert platform["dispute_rate"] == 1.0 and platform["window_days"] == 90
    assert any("48 小时" in line for line in platform["protections"])

    shop = checks["merchant"]
    assert shop["shop"] == merchant.shop_id and shop["status"] == "active" and shop["tenure_days"] == 0
    assert shop["refund_rate"] == 1.0 and shop["credit"]["grade"] in "ABCDE"
    assert shop["reviews"] == {"count": 0, "average": None, "latest": []}
    assert shop["profile_url"] == f"/merchants/{merchant.shop_id}/"

    terms = checks["listing"]
    assert terms["category_class"] == "standardized" and terms["refund_rule"].startswith("激活码无效")
    assert terms["trial_window_minutes"] == 120 and terms["after_sale_days"] == 5
    assert terms["no_reason_refund"] is False and terms["special_terms"] == []
    assert terms["refund_standards"][0]["ratio"] == "100%"
    contact = terms["after_sale_contact"]
    assert contact["channel"] == "order_chat" and contact["response_promise_hours"] == 1
    assert contact["refund_promise_hours"] == 24


def test_unfair_clauses_warn_the_merchant_tell_the_buyer_and_reach_the_arbitrator(
    api, merchant, arbitrator, stocked, sale, open_refund
):
    listing = stocked(
        merchant, description="虛擬商品，一經售出，概不退換！最终解释权归本店所有", promises=["账号被封概不负责"]
    )
    assert [w["text"] for w in listing["warnings"]] == ["一经售出概不退换", "最终解释权归本店所有", "概不负责"]
    for warning in listing["warnings"]:
        assert (
            warning["code"] == "unfair_clause"
            and "第二十六条" in warning["law"]
            and "不具有约束力" in warning["notice"]
        )
    detail = api.get(f"/listings/{listing['id']}").data
    assert detail["warnings"] == listing["warnings"] == detail["three_checks"]["listing"]["unfair_clauses"]

    buyer, order = sale(listing)
    assert order["snapshot"]["warnings"] == listing["warnings"]
    # The merchant edits the clause away: the listing is clean, the order keeps what was bought.
    edited = api.patch(
        f"/listings/{listing['id']}", {"description": "激活失败全额退款", "promises": ["7天包换"]}, token=merchant.token
    )
    assert edited.status_code == 200 and edited.data["warnings"] == []
    case = open_refund(buyer, order)
    seen = api.get(f"/orders/{order['id']}", token=arbitrator.token)
    assert seen.status_code == 200 and [w["text"] for w in seen.data["snapshot"]["warnings"]] == [
        "一经售出概不退换",
        "最终解释权归本店所有",
        "概不负责",
    ]
    assert api.get(f"/refunds/{case['id']}", token=arbitrator.token).status_code == 200


def test_normal_listing_text_has_no_warnings(api, merchant, stocked):
    listing = stocked(
        merchant,
        description="正版授权，激活失败全额退款；虚拟商品不支持七天无理由退货",
        promises=["100%稳定激活", "7×12小时售后"],
    )
    assert listing["warnings"] == []
