"""Deadlines hold when no sweeper runs (issue 15.1): the test clock moves without running a timer,
and every late action finds the timeout's outcome applied first, then gets 409 deadline_passed.
`tests/ops/test_serve_supervision.py` tells the same story against a real `kameng serve`."""

from datetime import datetime, timedelta

import pytest

from kameng.clock import services as clock
from kameng.timers.services import sweep

from .conftest import RATIONALE

H = 3600
DAY = 24 * H


@pytest.fixture
def stopped_sweeper():
    """Move the clock as a dead timer worker would see it: time passes, no timer runs."""

    def move(seconds):
        return clock.advance(int(seconds))

    return move


def late(api, case, action, user, body=None):
    res = api.post(f"/refunds/{case['id']}/{action}", body or {}, token=user.token)
    assert res.status_code == 409, (action, res.status_code, res.data)
    assert res.data["error"]["code"] == "deadline_passed", res.data
    return res


def events(case):
    return [(e["type"], e["actor_role"]) for e in case["events"]]


def test_an_offer_nine_days_late_finds_the_case_in_arbitration(
    api, buyer, merchant, case_in, stopped_sweeper, get_case, wallet
):
    case = case_in("awaiting_merchant")  # ¥300: not fast track
    stopped_sweeper(9 * DAY)
    assert get_case(case, merchant)["status"] == "awaiting_merchant"  # nobody moved it yet
    late(api, case, "offer", merchant, {"amount": 100})
    case = get_case(case, merchant)
    assert case["status"] == "in_arbitration" and case["merchant_timed_out"] is True
    assert case["offer"] is None and ("merchant_timeout", "system") in events(case)
    assert "offer" not in [t for t, _ in events(case)]
    assert datetime.fromisoformat(case["deadlines"]["decide_by"]) > clock.now()  # arbitration has its full time


def test_a_late_accept_on_the_fast_track_finds_the_refund_already_made(
    api, buyer, merchant, new_order, open_case, stopped_sweeper, get_case, wallet
):
    case = open_case(new_order(), amount=9900)
    assert case["fast_track"] is True
    before = wallet(buyer)["balance"]
    stopped_sweeper(48 * H + 1)
    late(api, case, "accept", merchant)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "refund_full" and case["merchant_timed_out"]
    assert wallet(buyer)["balance"] == before + 9900
    assert [t for t, _ in events(case)].count("refunded") == 1
    sweep(clock.now())  # the timer the dead worker left behind: it finds nothing to do
    assert wallet(buyer)["balance"] == before + 9900
    assert events(get_case(case, buyer)) == events(case)


def test_accept_offer_after_seven_days_moves_no_money(api, buyer, merchant, case_in, stopped_sweeper, get_case, wallet):
    case = case_in("awaiting_buyer_offer")
    before = wallet(buyer)["balance"]
    stopped_sweeper(7 * DAY + 60)
    late(api, case, "accept_offer", buyer)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "withdrawn" and case["refunded_amount"] == 0
    assert events(case)[-1] == ("buyer_timeout", "system")
    assert wallet(buyer)["balance"] == before


def test_an_escalation_after_the_rejection_window_is_refused(api, buyer, case_in, stopped_sweeper, get_case):
    case = case_in("awaiting_buyer_rejected")
    stopped_sweeper(8 * DAY)
    late(api, case, "escalate", buyer)
    assert get_case(case, buyer)["resolution"] == "withdrawn"


def test_an_appeal_after_the_window_finds_the_decision_final_and_paid(
    api, buyer, merchant, case_in, stopped_sweeper, get_case, wallet
):
    case = case_in("decided")  # refund_partial ¥100, both parties added evidence since
    before = wallet(buyer)["balance"]
    stopped_sweeper(7 * DAY + 1)
    late(api, case, "appeal", buyer, {"reason": "仲裁未考虑激活失败录屏"})
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["decision"]["final"] is True and case["appeal"] is None
    assert ("appeal_timeout", "system") in events(case)
    assert wallet(buyer)["balance"] == before + case["decision"]["amount"]


def test_a_late_compromise_answer_sends_it_back_for_a_binding_decision(api, buyer, case_in, stopped_sweeper, get_case):
    case = case_in("compromise")
    stopped_sweeper(48 * H + 1)
    late(api, case, "respond_compromise", buyer, {"accept": True})
    case = get_case(case, buyer)
    assert case["status"] == "in_arbitration" and case["phase"] == "in_arbitration_binding"


def test_a_late_decision_is_still_taken_an_overdue_arbitration_decides_nothing_by_itself(
    api, arbitrator, case_in, stopped_sweeper, act
):
    case = case_in("in_arbitration")
    stopped_sweeper(10 * DAY)
    case = act(case, "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    assert case["status"] == "decided"


def test_the_role_is_checked_before_the_deadline_and_changes_nothing(api, buyer, case_in, stopped_sweeper, get_case):
    case = case_in("awaiting_merchant")
    stopped_sweeper(3 * DAY)
    res = api.post(f"/refunds/{case['id']}/offer", {"amount": 100}, token=buyer.token)
    assert res.status_code == 403
    assert get_case(case, buyer)["status"] == "awaiting_merchant"


def test_an_action_just_before_the_deadline_is_taken(api, merchant, case_in, stopped_sweeper, act):
    case = case_in("awaiting_merchant")
    due = datetime.fromisoformat(case["deadlines"]["merchant_respond_by"])
    stopped_sweeper((due - clock.now() - timedelta(seconds=30)).total_seconds())
    assert act(case, "offer", merchant, {"amount": 100})["status"] == "awaiting_buyer"


def test_the_pages_say_the_deadline_passed(client, merchant, case_in, stopped_sweeper, get_case):
    case = case_in("awaiting_merchant")
    stopped_sweeper(3 * DAY)
    client.force_login(merchant)
    page = client.post(f"/refunds/{case['id']}/reject", {"reject-reason": "激活码已被使用"}, follow=True)
    assert "已超过处理时限" in page.content.decode()
    assert get_case(case, merchant)["status"] == "in_arbitration"
