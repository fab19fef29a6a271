"""Every case timer through HTTP and the test clock: merchant silence, buyer silence, compromise
answers, the appeal window, and the arbitration deadline (overdue flag, fast track)."""

from datetime import datetime

from .conftest import RATIONALE

H = 3600
DAY = 24 * H


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def last_event(case):
    return (case["events"][-1]["type"], case["events"][-1]["actor_role"])


# ---- merchant silence (48 h) ---------------------------------------------------------------


def test_merchant_silence_on_small_case_refunds_in_full(
    api, buyer, merchant, new_order, open_case, advance, get_case, wallet
):
    order = new_order()
    case = open_case(order, amount=19999)  # under ¥200 on a standardized listing
    assert case["fast_track"] is True
    before = wallet(buyer)["balance"]
    advance(48 * H - 60)
    assert get_case(case, buyer)["status"] == "awaiting_merchant"
    advance(61)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "refund_full"
    assert case["merchant_timed_out"] is True and case["refunded_amount"] == 19999
    assert ("merchant_timeout", "system") in [(e["type"], e["actor_role"]) for e in case["events"]]
    assert all(v is None for v in case["deadlines"].values())
    assert wallet(buyer)["balance"] == before + 19999


def test_merchant_silence_on_a_larger_case_goes_to_arbitration(
    api, buyer, merchant, arbitrator, new_order, open_case, advance, get_case, wallet
):
    order = new_order()
    case = open_case(order, amount=20000)  # ¥200 is not under ¥200
    assert case["fast_track"] is False
    advance(48 * H + 1)
    case = get_case(case, buyer)
    assert case["status"] == "in_arbitration" and case["merchant_timed_out"] is True
    assert case["resolution"] is None and case["refunded_amount"] == 0
    assert case["deadlines"]["decide_by"] is not None and case["deadlines"]["merchant_respond_by"] is None
    assert last_event(case) == ("merchant_timeout", "system")
    queue = api.get("/arbitration/queue", token=arbitrator.token).data["data"]
    assert [c["id"] for c in queue] == [case["id"]] and queue[0]["merchant_timed_out"] is True
    assert wallet(buyer)["balance"] == 0  # nothing moves before a decision


def test_a_merchant_answer_in_time_stops_the_timer(api, merchant, buyer, new_order, open_case, act, advance, get_case):
    case = open_case(new_order(), amount=100)
    advance(47 * H)
    act(case, "offer", merchant, {"amount": 50})
    advance(2 * H)
    case = get_case(case, buyer)
    assert case["status"] == "awaiting_buyer" and case["merchant_timed_out"] is False


# ---- buyer silence (7 days after an offer or a rejection) ---------------------------------


def test_buyer_silence_after_an_offer_closes_the_case_withdrawn(
    api, buyer, merchant, new_order, open_case, act, advance, get_case, wallet
):
    order = new_order()
    case = act(open_case(order), "offer", merchant, {"amount": 10000})
    assert case["deadlines"]["buyer_respond_by"] is not None
    assert case["deadlines"]["merchant_respond_by"] is None
    advance(7 * DAY - 60)
    assert get_case(case, buyer)["status"] == "awaiting_buyer"
    advance(61)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "withdrawn" and case["refunded_amount"] == 0
    assert last_event(case) == ("buyer_timeout", "system")
    # the escrow was unfrozen; release time had long passed, so the merchant is paid at close
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "released" and got["status"] == "completed"
    assert wallet(merchant)["balance"] == order["amount"]


def test_buyer_silence_after_a_rejection_closes_the_case_withdrawn(
    api, buyer, merchant, new_order, open_case, act, advance, get_case
):
    case = act(open_case(new_order()), "reject", merchant, {"reason": "已成功激活"})
    advance(7 * DAY + 1)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["resolution"] == "withdrawn"


def test_buyer_answer_in_time_stops_the_timer(api, buyer, merchant, new_order, open_case, act, advance, get_case):
    case = act(open_case(new_order()), "reject", merchant, {"reason": "已成功激活"})
    advance(7 * DAY - H)
    act(case, "escalate", buyer)
    advance(2 * H)
    assert get_case(case, buyer)["status"] == "in_arbitration"


# ---- compromise (48 h, both must accept) ---------------------------------------------------


def test_compromise_accepted_by_both_is_final_at_that_amount(api, buyer, merchant, arbitrator, case_in, act, wallet):
    case = case_in("compromise")
    assert case["status"] == "decided" and case["decision"]["outcome"] == "compromise"
    assert case["decision"]["final"] is False and case["deadlines"]["appeal_by"] is None
    assert case["deadlines"]["compromise_respond_by"] is not None
    before = wallet(buyer)["balance"]
    case = act(case, "respond_compromise", merchant, {"accept": True})
    assert case["status"] == "decided" and wallet(buyer)["balance"] == before
    res = api.post(f"/refunds/{case['id']}/respond_compromise", {"accept": True}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "already_answered"
    case = act(case, "respond_compromise", buyer, {"accept": True})
    assert case["status"] == "closed" and case["resolution"] == "refund_partial"
    assert case["decision"]["final"] is True and case["refunded_amount"] == 15000
    assert wallet(buyer)["balance"] == before + 15000


def test_a_refused_compromise_goes_back_for_a_binding_decision(
    api, buyer, merchant, arbitrator, second_arbitrator, case_in, act, wallet
):
    case = case_in("compromise")
    case = act(case, "respond_compromise", buyer, {"accept": False})
    assert case["status"] == "in_arbitration" and case["decision"] is None
    assert case["deadlines"]["decide_by"] is not None and case["deadlines"]["compromise_respond_by"] is None
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "compromise", "amount": 1000, "rationale": RATIONALE},
        token=arbitrator.token,
    )
    assert res.status_code == 400 and res.data["error"]["code"] == "binding_decision_required"
    # the arbitrator who proposed it keeps the case
    res = api.post(
        f"/refunds/{case['id']}/decide", {"outcome": "no_refund", "rationale": RATIONALE}, token=second_arbitrator.token
    )
    assert res.status_code == 409 and res.data["error"]["code"] == "already_claimed"
    case = act(case, "decide", arbitrator, {"outcome": "no_refund", "rationale": RATIONALE})
    assert case["status"] == "decided" and case["deadlines"]["appeal_by"] is not None
    assert case["decision"]["outcome"] == "no_refund" and case["decision"]["final"] is False


def test_compromise_silence_sends_it_back_to_the_arbitrator(
    api, buyer, merchant, arbitrator, case_in, act, advance, get_case
):
    case = case_in("compromise")
    act(case, "respond_compromise", merchant, {"accept": True})  # one yes is not enough
    advance(48 * H - 60)
    assert get_case(case, buyer)["status"] == "decided"
    advance(61)
    case = get_case(case, buyer)
    assert case["status"] == "in_arbitration" and last_event(case) == ("compromise_timeout", "system")
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "compromise", "amount": 1000, "rationale": RATIONALE},
        token=arbitrator.token,
    )
    assert res.status_code == 400 and res.data["error"]["code"] == "binding_decision_required"


# ---- finality: appeal window, accept_decision ----------------------------------------------


def test_the_appeal_window_passing_makes_the_decision_final(
    api, buyer, merchant, arbitrator, case_in, act, advance, get_case, wallet
):
    case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    assert case["deadlines"]["appeal_by"] is not None and case["deadlines"]["decide_by"] is None
    before = wallet(buyer)["balance"]
    advance(7 * DAY - 60)
    case = get_case(case, buyer)
    assert case["status"] == "decided" and case["decision"]["final"] is False
    assert wallet(buyer)["balance"] == before  # money moves only when the decision is final
    advance(61)
    case = get_case(case, buyer)
    assert case["status"] == "closed" and case["decision"]["final"] is True
    assert case["resolution"] == "refund_full" and last_event(case) == ("appeal_timeout", "system")
    assert wallet(buyer)["balance"] == before + case["requested_amount"]


def test_the_merchant_accepting_a_full_refund_makes_it_final_at_once(
    api, buyer, merchant, arbitrator, case_in, act, wallet
):
    case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    before = wallet(buyer)["balance"]
    case = act(case, "accept_decision", merchant)
    assert case["status"] == "closed" and case["decision"]["final"] is True
    assert wallet(buyer)["balance"] == before + case["requested_amount"]


def test_the_buyer_accepting_no_refund_makes_it_final_at_once(
    api, buyer, merchant, arbitrator, case_in, act, advance, wallet
):
    case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "no_refund", "rationale": RATIONALE})
    res = api.post(f"/refunds/{case['id']}/accept_decision", token=merchant.token)
    assert res.status_code == 403 and res.data["error"]["code"] == "not_losing_party"
    case = act(case, "accept_decision", buyer)
    assert case["status"] == "closed" and case["resolution"] == "no_refund" and case["decision"]["final"] is True
    advance(DAY)
    assert wallet(merchant)["balance"] == 30000  # released at close (release time was long past)


def test_a_partial_refund_is_final_only_when_both_parties_accept(
    api, buyer, merchant, arbitrator, case_in, act, wallet
):
    """A partial refund goes against both parties; either could still appeal, so one
    acceptance cannot make it final — both must accept (or the window pass)."""
    case = case_in("decided")
    before = wallet(buyer)["balance"]
    case = act(case, "accept_decision", buyer)
    assert case["status"] == "decided" and case["decision"]["final"] is False
    assert case["available_actions"] == ["appeal"]
    res = api.post(f"/refunds/{case['id']}/accept_decision", token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "already_accepted"
    assert wallet(buyer)["balance"] == before
    case = act(case, "accept_decision", merchant)
    assert case["status"] == "closed" and case["resolution"] == "refund_partial"
    assert case["refunded_amount"] == 10000 and wallet(buyer)["balance"] == before + 10000


# ---- appeal ----------------------------------------------------------------------------------


def test_an_appeal_needs_evidence_that_party_added_after_the_decision(
    api, buyer, merchant, arbitrator, case_in, act, add_evidence
):
    case = case_in("in_arbitration")
    add_evidence(case, merchant, "决定之前的证据")
    case = act(case, "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": "买家已使用"}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "new_evidence_required"
    add_evidence(case, buyer, "买家的证据不算商家的新证据")
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": "买家已使用"}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "new_evidence_required"
    add_evidence(case, merchant, "激活日志")
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": ""}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "reason"
    case = act(case, "appeal", merchant, {"reason": "买家已使用"})
    assert case["status"] == "in_appeal" and case["appeal"]["by"] == "merchant"
    assert case["appeal"]["reason"] == "买家已使用" and case["appeal"]["decision"] is None
    assert case["deadlines"]["appeal_by"] is None and case["deadlines"]["decide_by"] is not None


def test_the_appeal_is_decided_by_another_arbitrator_and_is_final(
    api, buyer, merchant, arbitrator, second_arbitrator, case_in, act, wallet
):
    case = case_in("in_appeal")
    assert case["appeal"]["by"] == "buyer" and case["decision"]["final"] is False
    queue = api.get("/arbitration/queue", token=second_arbitrator.token).data["data"]
    assert [c["id"] for c in queue] == [case["id"]] and queue[0]["status"] == "in_appeal"
    for action, body in (("claim", {}), ("decide", {"outcome": "refund_full", "rationale": RATIONALE})):
        res = api.post(f"/refunds/{case['id']}/{action}", body, token=arbitrator.token)
        assert res.status_code == 403 and res.data["error"]["code"] == "conflict_of_interest"
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "compromise", "amount": 100, "rationale": RATIONALE},
        token=second_arbitrator.token,
    )
    assert res.status_code == 400 and res.data["error"]["code"] == "binding_decision_required"
    before = wallet(buyer)["balance"]
    case = act(case, "decide", second_arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    assert case["status"] == "closed" and case["resolution"] == "refund_full"
    assert case["decision"]["final"] is True and case["decision"]["arbitrator"] == str(second_arbitrator.pk)
    assert case["appeal"]["decision"]["outcome"] == "refund_full" and case["appeal"]["decision"]["final"] is True
    assert wallet(buyer)["balance"] == before + 30000
    # once per case: nothing more to appeal
    res = api.post(f"/refunds/{case['id']}/appeal", {"reason": "再申诉"}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "invalid_state"


def test_the_appeal_deadline_passing_flags_it_overdue(api, second_arbitrator, case_in, advance):
    case = case_in("in_appeal")
    advance(15 * DAY)  # past three working days even across the longest holiday
    queue = api.get("/arbitration/queue", token=second_arbitrator.token).data["data"]
    assert queue[0]["id"] == case["id"] and queue[0]["overdue"] is True and queue[0]["status"] == "in_appeal"


# ---- arbitration: queue, claim, deadline -----------------------------------------------------


def test_queue_is_ordered_by_decide_by_with_overdue_flagged(
    api, buyer, merchant, arbitrator, second_arbitrator, case_in, advance, act, make_user
):
    slow = case_in("in_arbitration")  # 3 working days
    advance(H)
    fast = case_in("in_arbitration", amount=9900)  # fast track: 24 h, so due first
    assert fast["fast_track"] is True
    escalated = [e for e in fast["events"] if e["type"] == "escalate"][0]
    assert (at(fast["deadlines"]["decide_by"]) - at(escalated["at"])).total_seconds() == 24 * H
    queue = api.get("/arbitration/queue", token=arbitrator.token).data["data"]
    assert [c["id"] for c in queue] == [fast["id"], slow["id"]]
    assert [c["overdue"] for c in queue] == [False, False]
    advance(24 * H)
    queue = api.get("/arbitration/queue", token=arbitrator.token).data["data"]
    assert [c["id"] for c in queue] == [fast["id"], slow["id"]] and [c["overdue"] for c in queue] == [True, False]
    events = api.get(f"/refunds/{fast['id']}", token=arbitrator.token).data["events"]
    assert ("decision_overdue", "system") in [(e["type"], e["actor_role"]) for e in events]
    # the queue is for arbitrators (and admins)
    assert api.get("/arbitration/queue", token=buyer.token).status_code == 403
    assert api.get("/arbitration/queue", token=merchant.token).status_code == 403


def test_one_arbitrator_at_a_time(api, arbitrator, second_arbitrator, case_in, act):
    case = act(case_in("in_arbitration"), "claim", arbitrator)
    assert case["claimed_by"] == str(arbitrator.pk) and case["status"] == "in_arbitration"
    assert act(case, "claim", arbitrator)["claimed_by"] == str(arbitrator.pk)  # claiming again is harmless
    for action, body in (("claim", {}), ("decide", {"outcome": "no_refund", "rationale": RATIONALE})):
        res = api.post(f"/refunds/{case['id']}/{action}", body, token=second_arbitrator.token)
        assert res.status_code == 409 and res.data["error"]["code"] == "already_claimed"
    case = act(case, "decide", arbitrator, {"outcome": "no_refund", "rationale": RATIONALE})
    assert case["decision"]["arbitrator"] == str(arbitrator.pk)
    assert case["decision"]["rationale"] == RATIONALE and case["decision"]["decided_at"]


def test_fast_track_cases_are_decided_within_24_hours(case_in):
    case = case_in("in_arbitration", amount=15000)
    escalated = [e for e in case["events"] if e["type"] == "escalate"][0]
    assert case["fast_track"] is True
    assert (at(case["deadlines"]["decide_by"]) - at(escalated["at"])).total_seconds() == 24 * H


def test_a_new_case_arms_the_timers_that_schedule_would_arm(new_order, open_case):
    """The opening inserts its deadline and reminder timers at once (the case is new: nothing to cancel);
    re-arming them through timers.schedule, the path of every later phase, gives the same rows."""
    from django.db import transaction

    from kameng.aftersales import lifecycle
    from kameng.aftersales.models import Phase, RefundCase
    from kameng.aftersales.services import _arm
    from kameng.policy.services import get_policy
    from kameng.timers.models import Timer

    case = open_case(new_order())
    columns = ("kind", "target", "due_at", "status", "attempts", "last_error", "created_at", "ran_at")
    pending = lambda: list(  # noqa: E731
        Timer.objects.filter(target=f"case:{case['id']}", status="pending").order_by("kind").values(*columns)
    )
    armed = pending()
    assert [t["kind"] for t in armed] == sorted([lifecycle.MERCHANT_TIMER, lifecycle.REMINDER_TIMER])
    row = RefundCase.objects.get(pk=case["id"])
    with transaction.atomic():
        _arm(row, lifecycle.PHASES[Phase.AWAITING_MERCHANT], armed[0]["created_at"], get_policy())
    assert pending() == armed
    assert Timer.objects.filter(target=f"case:{case['id']}", status="cancelled").count() == 2  # schedule replaced both


def test_a_sweep_batch_of_merchant_deadlines_reads_the_policy_once(merchant, buyer, make_listing, fund, buy, open_case):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from kameng.aftersales.models import RefundCase
    from kameng.clock.services import advance
    from kameng.clock.services import now as clock_now
    from kameng.timers import services as timers

    listing = make_listing(merchant, stock=["K-1", "K-2"])
    fund(buyer, 2 * listing["price"])
    cases = [int(open_case(buy(buyer, listing))["id"]) for _ in range(2)]
    advance(49 * 3600)  # past both merchant deadlines
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert timers.run_due_batch(clock_now(), 100)
    assert len([q for q in queries.captured_queries if 'FROM "policy_policysetting"' in q["sql"]]) == 1
    assert set(RefundCase.objects.filter(pk__in=cases).values_list("status", flat=True)) == {"closed"}
