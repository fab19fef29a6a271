"""Settlements are final (issue 15.2): a case closed by the merchant's accept or the buyer's
accept_offer settles the order; a withdrawn request may be made once more. And the fast track's
appeal window is 24 h (issue 15.4)."""

from datetime import datetime, timedelta

from .conftest import RATIONALE

H = 3600


def reopen(api, order, user, amount, status):
    res = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "激活码仍然无效", "amount": amount},
        token=user.token,
    )
    assert res.status_code == status, res.data
    return res.data


def test_after_accepting_an_offer_the_rest_cannot_be_claimed_again(
    api, buyer, merchant, make_listing, fund, buy, open_case, act, advance, wallet
):
    """The issue's story: 3,000 of 10,000 agreed, then a fast-track case for the other 7,000."""
    fund(buyer, 10000)
    order = buy(buyer, make_listing(merchant, price=10000))
    case = open_case(order, amount=10000)
    act(act(case, "offer", merchant, {"amount": 3000}), "accept_offer", buyer)
    before = wallet(buyer)["balance"]
    res = reopen(api, order, buyer, 7000, 409)
    assert res["error"]["code"] == "case_already_settled"
    advance(3 * 24 * H)  # no silent merchant can be made to pay again
    assert wallet(buyer)["balance"] == before


def test_a_merchant_accept_settles_the_order(api, buyer, merchant, new_order, open_case, act):
    order = new_order()
    act(open_case(order, amount=1000), "accept", merchant)
    assert reopen(api, order, buyer, 1000, 409)["error"]["code"] == "case_already_settled"


def test_a_withdrawn_request_may_be_made_once_more(api, buyer, new_order, open_case, act):
    order = new_order()
    act(open_case(order), "withdraw", buyer)
    second = reopen(api, order, buyer, 1000, 201)
    act(second, "withdraw", buyer)
    assert reopen(api, order, buyer, 1000, 409)["error"]["code"] == "reopen_limit_reached"


def test_buyer_silence_counts_as_a_withdrawal(api, buyer, merchant, make_listing, new_order, open_case, act, advance):
    order = new_order(make_listing(merchant, price=30000, after_sale_days=30))
    act(open_case(order), "offer", merchant, {"amount": 100})
    advance(8 * 24 * H)
    again = reopen(api, order, buyer, 1000, 201)
    act(again, "withdraw", buyer)
    assert reopen(api, order, buyer, 1000, 409)["error"]["code"] == "reopen_limit_reached"


def test_the_refusals_speak_english_too(api, buyer, merchant, new_order, open_case, act):
    order = new_order()
    act(open_case(order, amount=1000), "accept", merchant)
    res = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "again", "amount": 100},
        token=buyer.token,
        headers={"Accept-Language": "en"},
    )
    assert res.status_code == 409 and "settled" in res.data["error"]["message"]


def _fast_track_decided(case_in, act, arbitrator):
    case = case_in("in_arbitration", amount=9900)
    assert case["fast_track"] is True
    return act(case, "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})


def test_the_fast_track_appeal_window_is_24_hours(api, buyer, arbitrator, case_in, act, advance, get_case, wallet):
    case = _fast_track_decided(case_in, act, arbitrator)
    decided = datetime.fromisoformat(case["decision"]["decided_at"])
    assert datetime.fromisoformat(case["deadlines"]["appeal_by"]) == decided + timedelta(hours=24)
    before = wallet(buyer)["balance"]
    advance(24 * H + 1)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["decision"]["final"] is True
    assert wallet(buyer)["balance"] == before + 9900


def test_the_fast_track_appeal_window_is_a_policy_setting(api, admin, arbitrator, case_in, act):
    from kameng.clock.services import now
    from kameng.policy.services import set_policy

    set_policy("fast_track_appeal_hours", 12, acting_user=admin, now=now())
    case = _fast_track_decided(case_in, act, arbitrator)
    decided = datetime.fromisoformat(case["decision"]["decided_at"])
    assert datetime.fromisoformat(case["deadlines"]["appeal_by"]) == decided + timedelta(hours=12)


def test_other_cases_keep_the_seven_day_window(arbitrator, case_in, act):
    case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    decided = datetime.fromisoformat(case["decision"]["decided_at"])
    assert datetime.fromisoformat(case["deadlines"]["appeal_by"]) == decided + timedelta(days=7)
