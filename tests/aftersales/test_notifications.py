"""Each party hears when a case needs them, 24 h before their deadline, and when it passed —
in the app (GET /notifications) and by email through Django's mail backend."""

import pytest
from django.core import mail

from .conftest import RATIONALE

H = 3600
DAY = 24 * H


@pytest.fixture
def inbox(api):
    def kinds(user, case=None):
        data = api.get("/notifications?limit=100", token=user.token).data["data"]
        return [n["kind"] for n in reversed(data) if case is None or n["case"] == case["id"]]

    return kinds


@pytest.fixture
def with_email(buyer, merchant, arbitrator):
    for user in (buyer, merchant, arbitrator):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])


def test_merchant_is_told_of_a_new_case_reminded_and_told_the_deadline_passed(
    api, buyer, merchant, new_order, open_case, advance, inbox, with_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(new_order())  # ¥300: not fast track
    assert inbox(merchant, case) == ["case_opened"]
    assert [m.to for m in mail.outbox] == [[f"{merchant.username}@example.com"]]
    assert case["id"] in mail.outbox[0].subject
    advance(24 * H - 60)
    assert inbox(merchant, case) == ["case_opened"]
    with django_capture_on_commit_callbacks(execute=True):
        advance(61)
    assert inbox(merchant, case) == ["case_opened", "deadline_near"]
    assert mail.outbox[-1].to == [f"{merchant.username}@example.com"]
    advance(24 * H)
    assert inbox(merchant, case) == ["case_opened", "deadline_near", "deadline_passed", "in_arbitration"]
    assert inbox(buyer, case) == ["in_arbitration"]


def test_buyer_is_told_of_an_offer_reminded_and_told_the_deadline_passed(
    api, buyer, merchant, new_order, open_case, act, advance, inbox
):
    case = act(open_case(new_order()), "offer", merchant, {"amount": 10000})
    assert inbox(buyer, case) == ["merchant_offer"]
    advance(6 * DAY + 1)
    assert inbox(buyer, case) == ["merchant_offer", "deadline_near"]
    advance(DAY)
    assert inbox(buyer, case) == ["merchant_offer", "deadline_near", "deadline_passed", "case_closed"]
    assert inbox(merchant, case)[-1] == "case_closed"


def test_a_rejection_is_news_for_the_buyer(buyer, merchant, new_order, open_case, act, inbox):
    case = act(open_case(new_order()), "reject", merchant, {"reason": "已激活"})
    assert inbox(buyer, case) == ["merchant_reject"]


def test_compromise_reminders_go_to_whoever_has_not_answered(buyer, merchant, case_in, act, advance, inbox):
    case = case_in("compromise")
    act(case, "respond_compromise", buyer, {"accept": True})
    advance(24 * H + 1)
    assert inbox(merchant, case)[-1] == "deadline_near"
    assert inbox(buyer, case)[-1] == "compromise_proposed"
    advance(24 * H)
    assert inbox(merchant, case)[-2:] == ["deadline_passed", "in_arbitration"]
    assert "deadline_passed" not in inbox(buyer, case)


def test_the_arbitrator_hears_of_a_failed_compromise_a_near_deadline_and_an_overdue_one(
    api, buyer, arbitrator, case_in, act, advance, inbox
):
    case = case_in("compromise")
    act(case, "respond_compromise", buyer, {"accept": False})
    assert inbox(arbitrator, case) == ["binding_decision_required"]
    decide_by = api.get(f"/refunds/{case['id']}", token=arbitrator.token).data["deadlines"]["decide_by"]
    assert decide_by
    advance(15 * DAY)
    assert inbox(arbitrator, case) == ["binding_decision_required", "deadline_near", "decision_overdue"]


def test_the_appeal_window_is_announced_reminded_and_closed(
    api, buyer, merchant, arbitrator, case_in, act, advance, inbox
):
    case = act(case_in("in_arbitration"), "decide", arbitrator, {"outcome": "no_refund", "rationale": RATIONALE})
    for user in (buyer, merchant):
        assert inbox(user, case)[-1] == "decided"
    advance(6 * DAY + 1)
    for user in (buyer, merchant):
        assert inbox(user, case)[-1] == "deadline_near"
    advance(DAY)
    for user in (buyer, merchant):
        assert inbox(user, case)[-2:] == ["deadline_passed", "case_closed"]


def test_notifications_are_private_and_paginated(api, buyer, merchant, make_user, new_order, open_case):
    for _ in range(3):
        open_case(new_order(), amount=100)
    # the merchant heard of 3 new orders (kameng.notify) and 3 cases
    page = api.get("/notifications?limit=4", token=merchant.token).data
    assert len(page["data"]) == 4 and page["has_more"] is True
    rest = api.get(f"/notifications?limit=4&starting_after={page['data'][-1]['id']}", token=merchant.token).data
    assert len(rest["data"]) == 2 and rest["has_more"] is False
    assert api.get("/notifications", token=make_user("buyer").token).data["data"] == []
    assert {"id", "kind", "text", "case", "created_at", "read"} <= set(page["data"][0])


def test_deadlines_in_notices_are_in_beijing_time(api, merchant, new_order, open_case):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    case = open_case(new_order())
    due = datetime.fromisoformat(case["deadlines"]["merchant_respond_by"]).astimezone(ZoneInfo("Asia/Shanghai"))
    [notice] = [n for n in api.get("/notifications", token=merchant.token).data["data"] if n["case"] == case["id"]]
    assert f"{due:%Y-%m-%d %H:%M}" in notice["text"]
