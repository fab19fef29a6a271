"""Opening a case: the contract's checks in order, the case's shape, and the escrow freeze."""

CASE_KEYS = {
    "id",
    "order",
    "status",
    "reason",
    "description",
    "requested_amount",
    "refunded_amount",
    "fast_track",
    "merchant_timed_out",
    "offer",
    "decision",
    "appeal",
    "resolution",
    "deadlines",
    "evidence",
    "events",
    "created_at",
}


def open_(api, user, order, amount, reason="defective"):
    return api.post(
        "/refunds",
        {"order": order["id"], "reason": reason, "description": "无法激活", "amount": amount},
        token=user.token,
    )


def test_a_new_case_has_the_contract_shape_and_freezes_the_escrow(api, buyer, merchant, new_order, open_case):
    order = new_order()
    case = open_case(order, amount=12000)
    assert set(case) >= CASE_KEYS
    assert case["status"] == "awaiting_merchant" and case["order"] == order["id"]
    assert case["requested_amount"] == 12000 and case["refunded_amount"] == 0
    assert case["fast_track"] is True  # ¥120 on a standardized listing
    assert case["offer"] is None and case["decision"] is None and case["appeal"] is None
    assert case["resolution"] is None and case["merchant_timed_out"] is False
    deadlines = case["deadlines"]
    assert deadlines["merchant_respond_by"] is not None
    assert [deadlines[k] for k in ("buyer_respond_by", "decide_by", "appeal_by")] == [None, None, None]
    assert [(e["type"], e["actor_role"]) for e in case["events"]] == [("opened", "buyer")]
    assert {"type", "actor_role", "at"} <= set(case["events"][0])
    assert sorted(e["category"] for e in case["evidence"]) == ["communication", "listing", "transaction"]
    assert {e["source"] for e in case["evidence"]} == {"system"}
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "frozen"
    assert api.get("/refunds", token=merchant.token).data["data"][0]["id"] == case["id"]


def test_a_full_refund_over_200_yuan_is_not_fast_track(new_order, open_case):
    assert open_case(new_order())["fast_track"] is False  # ¥300


def test_a_customized_listing_is_never_fast_track(api, buyer, merchant, make_listing, fund, buy, open_case):
    listing = make_listing(
        merchant, price=5000, title="代练 王者荣耀 钻石到星耀", category="game_boosting", kind="service"
    )
    fund(buyer, 5000)
    order = buy(buyer, listing, accept_special_terms=True)
    assert open_case(order, reason="service_missing")["fast_track"] is False


def test_checks_run_in_the_contracts_order(api, buyer, merchant, new_order, open_case, advance):
    order = new_order()
    # amount is checked before no_reason
    res = open_(api, buyer, order, order["amount"] + 1, reason="no_reason")
    assert res.status_code == 400 and res.data["error"]["code"] == "amount_exceeds_refundable"
    assert res.data["error"]["param"] == "amount"
    res = open_(api, buyer, order, 100, reason="no_reason")
    assert res.status_code == 409 and res.data["error"]["code"] == "no_reason_not_allowed"
    open_case(order, amount=100)
    # one open case is checked before the amount
    res = open_(api, buyer, order, order["amount"] + 1)
    assert res.status_code == 409 and res.data["error"]["code"] == "case_already_open"
    # the window is checked first of all
    advance(7 * 86400 + 60)
    res = open_(api, buyer, order, order["amount"] + 1)
    assert res.status_code == 409 and res.data["error"]["code"] == "refund_window_closed"


def test_refund_window_closes_at_after_sale_until(api, buyer, new_order, advance):
    order = new_order()
    advance(7 * 86400 - 60)
    assert open_(api, buyer, order, 100).status_code == 201
    api.post(f"/refunds/{api.get('/refunds', token=buyer.token).data['data'][0]['id']}/withdraw", token=buyer.token)
    advance(120)
    res = open_(api, buyer, order, 100)
    assert res.status_code == 409 and res.data["error"] | {"request_id": None} == {
        "request_id": None,
        "type": "conflict",
        "code": "refund_window_closed",
        "message": res.data["error"]["message"],
        "param": None,
    }


def test_refundable_is_the_price_and_a_settled_refund_leaves_no_second_claim(
    api, buyer, merchant, new_order, open_case, act
):
    order = new_order()
    res = open_(api, buyer, order, order["amount"] + 1)
    assert res.status_code == 400 and res.data["error"]["code"] == "amount_exceeds_refundable"
    act(open_case(order, amount=10000), "accept", merchant)
    res = open_(api, buyer, order, order["amount"] - 10000)  # the rest: settled is settled (issue 15.2)
    assert res.status_code == 409 and res.data["error"]["code"] == "case_already_settled"


def test_no_reason_is_allowed_where_the_listing_offers_it(api, buyer, merchant, make_listing, fund, buy, open_case):
    listing = make_listing(
        merchant, title="在线课程 Python 入门", category="online_course", price=4900, no_reason_refund=True
    )
    assert listing["no_reason_refund"] is True
    fund(buyer, 4900)
    case = open_case(buy(buyer, listing), reason="no_reason", description="不想学了")
    assert case["reason"] == "no_reason"


def test_who_may_open_a_case(api, buyer, merchant, make_user, new_order):
    order = new_order()
    assert open_(api, merchant, order, 100).status_code == 403
    assert open_(api, make_user("buyer"), order, 100).status_code == 404
    for body in ({"reason": "bored"}, {"amount": 0}, {"amount": -1}, {"description": " "}):
        full = {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": 100, **body}
        res = api.post("/refunds", full, token=buyer.token)
        assert res.status_code == 400, (body, res.data)


def test_escrow_stays_frozen_past_release_time_while_a_case_is_open(
    api, buyer, merchant, new_order, open_case, advance, wallet
):
    order = new_order()
    open_case(order, amount=5000)
    advance(30 * 3600)  # past release_at (24 h)
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "frozen" and got["status"] == "delivered"
    assert wallet(merchant)["balance"] == 0
    advance(18 * 3600 + 1)  # past the merchant's 48 h: a fast-track case refunds in full
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    # the case closed at the merchant's deadline, after release_at: the remainder goes at close
    assert got["escrow"]["status"] == "released" and got["status"] == "partially_refunded"
    assert wallet(merchant)["balance"] == order["amount"] - 5000


def test_a_case_closed_before_release_time_waits_for_it(
    api, buyer, merchant, new_order, open_case, act, advance, wallet
):
    order = new_order()
    act(open_case(order, amount=5000), "accept", merchant)
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "held" and got["escrow"]["amount"] == order["amount"] - 5000
    assert wallet(merchant)["balance"] == 0
    advance(86400 + 1)
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "released" and got["status"] == "partially_refunded"
    assert wallet(merchant)["balance"] == order["amount"] - 5000


def test_withdrawing_unfreezes_the_escrow(api, buyer, merchant, new_order, open_case, act, advance, wallet):
    order = new_order()
    case = open_case(order)
    advance(30 * 3600)  # past release_at, still inside the merchant's 48 h
    assert wallet(merchant)["balance"] == 0
    case = act(case, "withdraw", buyer)
    assert case["resolution"] == "withdrawn" and case["refunded_amount"] == 0
    assert wallet(merchant)["balance"] == order["amount"]
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["status"] == "completed" and got["escrow"]["status"] == "released"


def test_no_second_case_after_a_final_platform_decision(
    api, buyer, merchant, arbitrator, delivered_order, open_case, act
):
    case = open_case(delivered_order, amount=5000)
    act(case, "reject", merchant, {"reason": "激活码已被使用"})
    act(case, "escalate", buyer)
    act(case, "decide", arbitrator, {"outcome": "no_refund", "rationale": "录屏显示激活码首次使用即成功，问题不成立"})
    closed = act(case, "accept_decision", buyer)
    assert closed["status"] == "closed" and closed["resolution"] == "no_refund"
    res = api.post(
        "/refunds",
        {"order": delivered_order["id"], "reason": "defective", "description": "再试一次", "amount": 5000},
        token=buyer.token,
    )
    assert res.status_code == 409 and res.data["error"]["code"] == "case_already_decided"


def test_a_withdrawn_case_can_be_opened_again(api, buyer, delivered_order, open_case, act):
    act(open_case(delivered_order, amount=5000), "withdraw", buyer)
    again = open_case(delivered_order, amount=5000)
    assert again["status"] == "awaiting_merchant"
