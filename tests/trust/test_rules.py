"""The pure trust rules: the published credit formula on constructed histories, grades, sanctions,
and which facts each refund-case event produces."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kameng.trust import rules
from kameng.trust.rules import CreditInputs, credit_score

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "history,score,grade",
    [
        (CreditInputs(), 80, "B"),  # a new shop: no record either way
        (CreditInputs(orders=2, cases=3), 80, "B"),  # three open, undecided claims: no fault proven, no points lost
        (
            CreditInputs(
                tenure_days=365, orders=150, rating_average=4.8, rating_count=40, cases=3, median_response_seconds=1800
            ),
            100,
            "A",
        ),  # 80 + 10 + 10 + 9 − 2 − 0.1, capped
        (
            CreditInputs(
                tenure_days=90,
                orders=30,
                cases=3,
                resolved=3,
                refunds=3,
                merchant_faults=1,
                median_response_seconds=4 * 3600,
                rating_average=4.0,
                rating_count=10,
            ),
            72,
            "C",
        ),  # 80 + 5 + 3 + 5 − 10 − 10 − 0.8
        (CreditInputs(orders=2, cases=2, resolved=2, refunds=2, off_platform=3), 55, "D"),
        (CreditInputs(orders=5, cases=3, resolved=3, refunds=3, merchant_faults=3, timeouts=3), 20, "E"),
        (
            CreditInputs(
                orders=10,
                cases=20,
                resolved=20,
                refunds=20,
                merchant_faults=20,
                timeouts=9,
                off_platform=9,
                overturned_refusals=9,
                median_response_seconds=10 * 86400,
                rating_average=1.0,
                rating_count=5,
            ),
            0,
            "E",
        ),
    ],
)
def test_credit_formula_on_constructed_histories(history, score, grade):
    result = credit_score(history)
    assert (result.score, result.grade) == (score, grade), result.parts


def test_rates_are_plain_ratios_and_parts_explain_the_score():
    result = credit_score(CreditInputs(orders=40, cases=4, resolved=4, merchant_faults=1, refunds=4, timeouts=1))
    assert (result.dispute_rate, result.merchant_fault_rate, result.refund_rate) == (0.1, 0.25, 0.1)
    assert [p["code"] for p in result.parts] == ["base", "volume", "disputes", "faults", "timeouts"]
    assert round(sum(p["points"] for p in result.parts)) == result.score == 80 + 4 - 10 - 7.5 - 5 + 0.5
    assert credit_score(CreditInputs(cases=1)).dispute_rate == 1.0  # cases on orders older than the window


@pytest.mark.parametrize(
    "score,grade",
    [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"), (59, "D"), (40, "D"), (39, "E"), (0, "E")],
)
def test_grade_bands(score, grade):
    assert rules.grade_for(score) == grade


counts = st.integers(min_value=0, max_value=200)


@given(orders=counts, cases=counts, faults=counts, timeouts=counts, extra=st.integers(min_value=1, max_value=5))
def test_score_stays_in_range_and_more_faults_never_help(orders, cases, faults, timeouts, extra):
    faults = min(faults, cases)
    base = CreditInputs(orders=orders, cases=cases + extra, merchant_faults=faults, timeouts=timeouts)
    worse = CreditInputs(orders=orders, cases=cases + extra, merchant_faults=faults + extra, timeouts=timeouts + 1)
    a, b = credit_score(base), credit_score(worse)
    assert 0 <= b.score <= a.score <= 100


@pytest.mark.parametrize(
    "grade,overturned,target",
    [
        ("A", 0, "active"),
        ("C", 2, "active"),
        ("D", 0, "restricted"),
        ("E", 0, "suspended"),
        ("B", 3, "suspended"),
    ],
)
def test_sanction_target(grade, overturned, target):
    assert rules.sanction_target(grade, overturned) == target


@pytest.mark.parametrize(
    "current,target,baseline,expected",
    [
        ("active", "restricted", None, ("restricted", False)),
        ("active", "suspended", None, ("suspended", False)),
        ("restricted", "suspended", None, ("suspended", False)),
        ("restricted", "active", None, ("active", False)),  # a restriction lifts itself
        ("suspended", "active", None, ("suspended", False)),  # 清退 is lifted only by an operator
        ("suspended", "restricted", None, ("suspended", False)),
        ("active", "restricted", "restricted", ("active", False)),  # the operator's decision holds
        ("active", "suspended", "restricted", ("suspended", True)),  # … until the record gets worse
        ("suspended", "active", "active", ("suspended", False)),  # an operator's suspension holds too
    ],
)
def test_next_status(current, target, baseline, expected):
    assert rules.next_status(current, target, override_baseline=baseline) == expected


def _event(type_, *, at=0, role="merchant", frm="", to="", **data):
    return rules.EventView(
        id=1, type=type_, actor_role=role, from_status=frm, to_status=to, data=data, at=T0 + timedelta(seconds=at)
    )


CASE = rules.CaseView(id=7, created_at=T0, rejected=False, category="software_license")
REJECTED = rules.CaseView(id=7, created_at=T0, rejected=True, category="software_license")


@pytest.mark.parametrize(
    "event,case,kinds",
    [
        (_event("opened", role="buyer", to="awaiting_merchant"), CASE, ["case"]),
        (_event("offer", at=60, frm="awaiting_merchant", to="awaiting_buyer"), CASE, ["response"]),
        (_event("reject", at=60, frm="awaiting_merchant", to="awaiting_buyer"), CASE, ["response"]),
        (
            _event("accept", at=60, frm="awaiting_merchant", to="closed", refund=100, resolution="refund_full"),
            CASE,
            ["response", "resolved", "refund"],
        ),
        (
            _event(
                "accept", frm="awaiting_buyer", to="closed", refund=100, resolution="refund_full", after_rejection=True
            ),
            REJECTED,
            ["resolved", "refund", "fault", "overturned"],
        ),
        (
            _event("accept", frm="awaiting_buyer", to="closed", refund=100, resolution="refund_full"),
            CASE,
            ["resolved", "refund"],
        ),  # after an offer the merchant gives the full amount: not a fault
        (
            _event(
                "accept", frm="in_arbitration", to="closed", refund=100, resolution="refund_full", after_escalation=True
            ),
            CASE,
            ["resolved", "refund", "fault"],
        ),
        (
            _event(
                "merchant_timeout",
                role="system",
                frm="awaiting_merchant",
                to="closed",
                refund=100,
                resolution="refund_full",
            ),
            CASE,
            ["timeout", "resolved", "refund", "fault"],
        ),
        (_event("merchant_timeout", role="system", frm="awaiting_merchant", to="in_arbitration"), CASE, ["timeout"]),
        (
            _event("accept_decision", frm="decided", to="closed", refund=100, resolution="refund_full"),
            REJECTED,
            ["resolved", "refund", "fault", "overturned"],
        ),
        (
            _event("appeal_timeout", role="system", frm="decided", to="closed", refund=0, resolution="no_refund"),
            REJECTED,
            ["resolved"],
        ),  # the merchant won: no fault
        (
            _event(
                "respond_compromise",
                role="buyer",
                frm="decided",
                to="closed",
                refund=50,
                resolution="refund_partial",
                accept=True,
            ),
            REJECTED,
            ["resolved", "refund"],
        ),  # an agreed compromise is not a fault
        (
            _event("withdraw", role="buyer", frm="awaiting_buyer", to="closed", refund=0, resolution="withdrawn"),
            CASE,
            ["resolved"],
        ),
        (_event("evidence_added", role="buyer", frm="awaiting_merchant", to="awaiting_merchant"), CASE, []),
    ],
)
def test_case_event_facts(event, case, kinds):
    assert [f["kind"] for f in rules.case_event_facts(event, case)] == kinds


def test_decision_facts_say_whether_the_sla_was_kept():
    decide = _event("decide", at=3600, role="arbitrator", frm="in_arbitration", to="decided", outcome="no_refund")
    inside = rules.case_event_facts(decide, CASE, decide_by=T0 + timedelta(hours=24))
    late = rules.case_event_facts(decide, CASE, decide_by=T0 + timedelta(minutes=30))
    assert [(f["kind"], f["value"], f["outcome"]) for f in inside] == [("decision", 1.0, "no_refund")]
    assert late[0]["value"] == 0.0
    assert rules.case_event_facts(decide, CASE)[0]["value"] is None  # deadline unknown: not counted


def test_facts_are_keyed_per_case_so_rereading_adds_nothing():
    event = _event("accept", at=60, frm="awaiting_merchant", to="closed", refund=100, resolution="refund_full")
    keys = [f["key"] for f in rules.case_event_facts(event, CASE)]
    assert keys == ["response:7", "resolved:7", "refund:7"]


def test_published_formula_is_generated_from_the_weights_in_force():
    published = rules.published_formula({"base": 70, "timeout_each": 10})
    assert published["terms"][0]["zh"] == "基础分 70"
    assert "每次 −10" in next(t["zh"] for t in published["terms"] if t["code"] == "timeouts")
    assert credit_score(CreditInputs(timeouts=1), {"base": 70, "timeout_each": 10}).score == 60
