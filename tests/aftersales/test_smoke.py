def test_merchant_accept_refunds_at_once(api, buyer, merchant, delivered_order, open_case):
    case = open_case(delivered_order)
    assert case["status"] == "awaiting_merchant"
    assert case["fast_track"] is True
    assert [e["source"] for e in case["evidence"]] == ["system"] * 3
    order = api.get(f"/orders/{delivered_order['id']}", token=buyer.token).data
    assert order["escrow"]["status"] == "frozen"
    res = api.post(f"/refunds/{case['id']}/accept", token=merchant.token)
    assert res.status_code == 200, res.data
    assert res.data["status"] == "closed" and res.data["resolution"] == "refund_full"
    assert api.get("/wallet", token=buyer.token).data["balance"] == 50000


def test_full_arbitration_with_appeal(api, buyer, merchant, make_user, make_listing, fund, buy, open_case, advance):
    listing = make_listing(merchant, price=50000, title="游戏账号 王者荣耀 V8", category="game_account", kind="account")
    fund(buyer, 60000)
    order = buy(buyer, listing, accept_special_terms=True)
    api.post(f"/orders/{order['id']}/deliver", {"content": "账号 abc 密码 123"}, token=merchant.token)
    case = open_case(order, reason="not_as_described", description="账号等级与描述不符")
    assert case["fast_track"] is False
    assert api.post(f"/refunds/{case['id']}/accept_offer", token=buyer.token).status_code == 409
    assert (
        api.post(
            f"/refunds/{case['id']}/decide", {"outcome": "no_refund", "rationale": "x"}, token=buyer.token
        ).status_code
        == 403
    )
    res = api.post(f"/refunds/{case['id']}/reject", {"reason": "账号与描述一致"}, token=merchant.token)
    assert res.data["status"] == "awaiting_buyer"
    res = api.post(f"/refunds/{case['id']}/escalate", token=buyer.token)
    assert res.data["status"] == "in_arbitration" and res.data["deadlines"]["decide_by"]
    a1, a2 = make_user("arbitrator"), make_user("arbitrator")
    q = api.get("/arbitration/queue", token=a1.token).data["data"]
    assert [c["id"] for c in q] == [case["id"]]
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "refund_full", "rationale": "截图显示账号等级为V3，与宣传V8不符，依据类目规则全额退款"},
        token=a1.token,
    )
    assert res.status_code == 200, res.data
    assert res.data["status"] == "decided" and res.data["decision"]["final"] is False
    # merchant appeals: needs new evidence first
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": "买家已登录使用"}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "new_evidence_required"
    from django.core.files.uploadedfile import SimpleUploadedFile

    up = api.client.post(
        f"/api/v1/refunds/{case['id']}/evidence",
        {"file": SimpleUploadedFile("log.txt", "登录日志：买家于昨日登录".encode()), "category": "problem"},
        headers={"Authorization": f"Bearer {merchant.token}"},
    )
    assert up.status_code == 201, up.content
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": "买家已登录使用"}, token=merchant.token)
    assert res.data["status"] == "in_appeal"
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "no_refund", "rationale": "同一仲裁员不能复核自己的裁决"},
        token=a1.token,
    )
    assert res.status_code == 403 and res.data["error"]["code"] == "conflict_of_interest"
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {
            "outcome": "refund_partial",
            "amount": 25000,
            "rationale": "账号已被登录使用，但等级不符影响主要功能，部分退款",
        },
        token=a2.token,
    )
    assert res.data["status"] == "closed" and res.data["resolution"] == "refund_partial"
    assert api.get("/wallet", token=buyer.token).data["balance"] == 60000 - 50000 + 25000
    # The rest of the escrow goes to the merchant at release time (delivery + 24 h), not before;
    # a game account's 找回包赔 (7 days from delivery) keeps it in escrow until the warranty ends.
    assert api.get("/wallet", token=merchant.token).data["balance"] == 0
    advance(24 * 3600 + 1)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 0
    advance(7 * 24 * 3600)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 25000
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "partially_refunded"
