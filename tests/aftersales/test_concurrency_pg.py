"""Races on one case, on a real PostgreSQL: money moves exactly once, the losers get 409.

Each racer runs on its own thread with its own HTTP client and database connection, started
together by a barrier; timer sweeps race the same way.
"""

import pytest

from kameng.clock import services as clock
from kameng.ledger.models import JournalEntry
from kameng.timers import services as timers
from kameng.timers.models import Timer

from .conftest import RATIONALE

pytestmark = pytest.mark.postgres
PARALLEL = 8


def sweep_at(moment):
    return lambda: ("sweep", timers.sweep(moment))


def refunds(case) -> int:
    return JournalEntry.objects.filter(kind="refund", case_id=int(case["id"])).count()


def test_eight_simultaneous_accepts_refund_once(race, api, buyer, merchant, new_order, open_case, wallet):
    order = new_order()
    case = open_case(order)
    before = wallet(buyer)["balance"]
    results = race([race.post(f"/refunds/{case['id']}/accept", merchant.token) for _ in range(PARALLEL)])
    assert sorted(status for status, _ in results) == [200] + [409] * (PARALLEL - 1), results
    for status, body in results:
        if status == 409:
            assert body["error"] == {
                "type": "conflict",
                "code": "invalid_state",
                "message": body["error"]["message"],
                "param": None,
                "request_id": body["error"]["request_id"],
            }
    assert refunds(case) == 1
    assert wallet(buyer)["balance"] == before + order["amount"]
    got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
    assert got["status"] == "closed" and got["refunded_amount"] == order["amount"]
    assert [e["type"] for e in got["events"]].count("refunded") == 1


def test_rival_actions_on_one_case_leave_one_winner(race, api, buyer, merchant, new_order, open_case):
    """The merchant gives in (twice) while the buyer withdraws (twice): exactly one closes the case.

    (escalate is left out: escalate then accept is a legal sequence, both may succeed.)"""
    case = open_case(new_order())
    api.post(f"/refunds/{case['id']}/reject", {"reason": "已激活"}, token=merchant.token)
    results = race(
        [
            race.post(f"/refunds/{case['id']}/{action}", user.token)
            for action, user in (("accept", merchant), ("withdraw", buyer), ("withdraw", buyer), ("accept", merchant))
        ]
    )
    assert sorted(status for status, _ in results).count(200) == 1, results
    assert all(status in (200, 409) for status, _ in results), results
    got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
    assert refunds(case) == (1 if got["resolution"] == "refund_full" else 0)


def test_the_appeal_window_closing_while_the_loser_accepts_refunds_once(
    race, api, buyer, merchant, arbitrator, case_in, act, wallet
):
    for _ in range(3):  # three rounds: either side may win each
        case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
        before = wallet(buyer)["balance"]
        moment = clock.advance(7 * 24 * 3600 + 1)  # past appeal_by; nobody has swept yet
        results = race([sweep_at(moment), race.post(f"/refunds/{case['id']}/accept_decision", merchant.token)])
        ((status, body),) = [r for r in results if r[0] != "sweep"]
        assert status in (200, 409), body
        got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
        assert got["status"] == "closed" and got["decision"]["final"] is True
        assert refunds(case) == 1 and wallet(buyer)["balance"] == before + case["requested_amount"]
    # no timer handler failed along the way (a deadlock would show up as a failed attempt)
    assert not Timer.objects.filter(attempts__gt=0).exists()


def test_merchant_silence_firing_while_the_merchant_accepts_refunds_once(
    race, api, buyer, merchant, new_order, open_case, wallet
):
    for _ in range(3):
        case = open_case(new_order(), amount=9900)  # fast track: silence refunds in full
        before = wallet(buyer)["balance"]
        moment = clock.advance(48 * 3600 + 1)
        results = race([sweep_at(moment), race.post(f"/refunds/{case['id']}/accept", merchant.token)])
        ((status, body),) = [r for r in results if r[0] != "sweep"]
        assert status in (200, 409), body
        got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
        assert got["status"] == "closed" and got["resolution"] == "refund_full"
        assert got["merchant_timed_out"] is (status == 409)
        assert refunds(case) == 1 and wallet(buyer)["balance"] == before + 9900
    assert not Timer.objects.filter(attempts__gt=0).exists()


def test_releases_at_once_recover_a_merchants_debt_once(race, api, buyer, merchant, new_order, open_case, act, wallet):
    """Eight orders confirmed at the same moment while the merchant owes ¥300 (先行赔付): the debt is
    read under its lock, so exactly ¥300 of the income repays it and the merchant gets the rest."""
    first = new_order()
    assert api.post(f"/orders/{first['id']}/confirm", token=buyer.token).status_code == 200
    assert api.post("/wallet/withdrawals", {"amount": 30000}, token=merchant.token).status_code == 201
    act(open_case(first), "accept", merchant)  # refunded after release, the merchant's wallet empty
    assert wallet(merchant) == {"balance": 0, "currency": "CNY", "debt": 30000}
    orders = [new_order() for _ in range(PARALLEL)]
    results = race([race.post(f"/orders/{o['id']}/confirm", buyer.token) for o in orders])
    assert [status for status, _ in results] == [200] * PARALLEL, results
    assert wallet(merchant) == {"balance": 30000 * (PARALLEL - 1), "currency": "CNY", "debt": 0}
