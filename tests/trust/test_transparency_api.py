"""GET /policies and GET /stats: the published rules and the live dispute statistics."""

from datetime import UTC, datetime

import pytest

from kameng.trust import rules

RATIONALE = "截图与录屏显示问题属实，依据类目规则作出裁决"


def test_policies_publish_categories_deadlines_fast_track_and_the_credit_formula(api):
    res = api.get("/policies")
    assert res.status_code == 200
    p = res.data
    categories = {c["code"]: c for c in p["categories"]}
    assert len(categories) == 8
    assert categories["software_license"]["class"] == "standardized"
    assert categories["game_boosting"]["class"] == "customized" and categories["game_boosting"]["special_goods"]
    assert categories["game_currency"]["refund_ratios"][0]["scenario"] == "到账金额不足"
    assert all(c["refund_rule"] and c["refund_ratios"] for c in p["categories"])
    assert p["deadlines"]["merchant_respond_hours"] == 48 and p["deadlines"]["arbitration_working_days"] == 3
    assert p["deadlines"]["appeal_days"] == 7 and p["deadlines"]["buyer_respond_days"] == 7
    assert p["fast_track"] == {
        "threshold": 20000,
        "currency": "CNY",
        "category_class": "standardized",
        "decide_within_hours": 24,
        "appeal_within_hours": 24,
        "on_merchant_silence": "refund_full",
    }
    formula = p["credit_formula"]
    assert formula["weights"] == rules.DEFAULT_WEIGHTS and formula["window_days"] == 90
    assert [g["grade"] for g in formula["grades"]] == ["A", "B", "C", "D", "E"]
    assert formula["terms"][0]["zh"] == "基础分 80" and len(formula["terms"]) == 10
    assert {s["status"] for s in formula["sanctions"]} >= {"restricted", "suspended"}
    clauses = {c["text"]: c["law"] for c in p["unfair_clauses"]}
    assert (
        "《消费者权益保护法实施条例》第十七条" in clauses["一经售出概不退换"]
        and "第四十九条" not in clauses["一经售出概不退换"]
        and clauses["付款后订单不成立"] == "《电子商务法》第四十九条"
        and "第四百九十七条" in clauses["最终解释权归本店所有"]
    )
    assert p["off_platform_payment"]["flag"] == "off_platform_payment"
    assert any(law["law"] == "《消费者权益保护法》第二十六条" for law in p["laws"])


@pytest.fixture
def still_clock(monkeypatch):
    """Only the test clock's offset moves time: the real part stands still, so a loaded machine's
    seconds between two requests do not leak into the durations measured."""
    import kameng.clock.services as clock

    class Frozen:
        @staticmethod
        def now():
            return datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    monkeypatch.setattr(clock, "timezone", Frozen)


def test_stats_count_disputes_resolution_times_and_decisions_inside_the_sla(
    still_clock, api, merchant, make_user, make_listing, stocked, sale, open_refund, act, arbitrator, advance
):
    card = stocked(merchant)
    account = make_listing(merchant, title="王者荣耀 V8 账号", category="game_account", kind="account", price=50000)
    sales = [sale(card) for _ in range(4)]
    acct_buyer, acct_order = sale(account, accept_special_terms=True)
    api.post(f"/orders/{acct_order['id']}/deliver", {"content": "账号 abc 密码 123"}, token=merchant.token)

    (b1, o1), (b2, o2), (b3, o3), _ = sales
    c1, c2 = open_refund(b1, o1), open_refund(b2, o2)
    advance(3600)
    act(merchant, c1, "accept")  # resolved in 1 h: refund_full
    advance(3600)
    act(b2, c2, "withdraw")  # resolved in 2 h: withdrawn
    c4 = open_refund(acct_buyer, acct_order, reason="not_as_described", description="账号等级与描述不符")
    act(merchant, c4, "reject", {"reason": "账号与描述一致"})
    act(acct_buyer, c4, "escalate")
    act(arbitrator, c4, "decide", {"outcome": "refund_full", "rationale": RATIONALE})  # inside the SLA
    act(merchant, c4, "accept_decision")  # resolved at once: refund_full
    c3 = open_refund(b3, o3)
    act(merchant, c3, "reject", {"reason": "激活码没有问题"})
    act(b3, c3, "escalate")
    advance(25 * 3600)  # fast track: 24 h to decide — missed
    act(arbitrator, c3, "decide", {"outcome": "no_refund", "rationale": RATIONALE})
    advance(7 * 86400 + 1)  # appeal window passes: final, no refund

    res = api.get("/stats")
    assert res.status_code == 200
    s = res.data
    assert (s["orders"], s["cases"], s["dispute_rate"]) == (5, 4, 0.8)
    assert s["resolved"] == 4
    # of 0 s, 1 h, 2 h and 8 days, plus the real seconds the requests took on a loaded machine
    assert 5400 <= s["median_resolution_seconds"] < 5400 + 60
    assert (s["decided"], s["decided_within_sla"], s["decided_within_sla_share"]) == (2, 1, 0.5)
    assert s["by_outcome"] == {"refund_full": 2, "withdrawn": 1, "no_refund": 1}
    assert s["by_category"]["software_license"]["cases"] == 3 and s["by_category"]["game_account"]["cases"] == 1
    assert s["by_category"]["game_account"]["decided_within_sla_share"] == 1.0
    assert s["by_category"]["software_license"]["orders"] == 4
    assert len(s["weekly"]) == 12
    assert sum(w["cases"] for w in s["weekly"]) == 4 and sum(w["orders"] for w in s["weekly"]) == 5
    assert sum(w["decided"] for w in s["weekly"]) == 2
    assert api.get("/stats?days=0").status_code == 400


def test_stats_are_public_and_empty_when_nothing_happened(api):
    s = api.get("/stats").data
    assert (s["orders"], s["cases"], s["dispute_rate"], s["median_resolution_seconds"]) == (0, 0, None, None)
    assert s["decided_within_sla_share"] is None and s["by_outcome"] == {}
