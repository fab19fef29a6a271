"""The pure decisions behind the case table, table-driven (no database)."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from kameng.aftersales import lifecycle, rules


@pytest.mark.parametrize(
    "amount, category_class, fast",
    [
        (19999, "standardized", True),
        (20000, "standardized", False),
        (1, "customized", False),
    ],
)
def test_fast_track_is_under_200_yuan_on_a_standardized_listing(amount, category_class, fast):
    assert rules.is_fast_track(amount, category_class, 20000) is fast


@pytest.mark.parametrize(
    "outcome, against",
    [
        ("refund_full", {"merchant"}),
        ("no_refund", {"buyer"}),
        ("refund_partial", {"buyer", "merchant"}),
    ],
)
def test_who_a_decision_goes_against(outcome, against):
    assert rules.parties_against(outcome) == against


@pytest.mark.parametrize(
    "refund, requested, resolution",
    [
        (0, 100, "no_refund"),
        (50, 100, "refund_partial"),
        (100, 100, "refund_full"),
    ],
)
def test_resolution_follows_the_amount_refunded(refund, requested, resolution):
    assert rules.resolution_for(refund, requested) == resolution


PARTIAL = {"outcome": "refund_partial", "amount": 50}
COMPROMISE = {"outcome": "compromise", "amount": 50}


@pytest.mark.parametrize(
    "phase, role, decision, offer, answers, accepted, actions",
    [
        ("awaiting_merchant", "merchant", None, None, {}, [], ["accept", "offer", "reject", "replace"]),
        ("awaiting_buyer_replacement", "buyer", None, None, {}, [], ["accept_replacement", "escalate", "withdraw"]),
        ("awaiting_buyer_rejected", "buyer", None, None, {}, [], ["escalate", "withdraw"]),
        ("awaiting_buyer_offer", "buyer", None, 50, {}, [], ["accept_offer", "escalate", "withdraw"]),
        ("in_arbitration", "arbitrator", None, None, {}, [], ["claim", "decide"]),
        ("appeal_window", "buyer", PARTIAL, None, {}, [], ["appeal", "accept_decision"]),
        ("appeal_window", "buyer", PARTIAL, None, {}, ["buyer"], ["appeal"]),
        ("appeal_window", "buyer", {"outcome": "refund_full", "amount": 100}, None, {}, [], ["appeal"]),
        ("compromise_proposed", "merchant", COMPROMISE, None, {}, [], ["respond_compromise"]),
        ("compromise_proposed", "merchant", COMPROMISE, None, {"merchant": True}, [], []),
        ("in_appeal", "buyer", PARTIAL, None, {}, [], []),
        ("closed", "buyer", PARTIAL, None, {}, [], []),
    ],
)
def test_available_actions(phase, role, decision, offer, answers, accepted, actions):
    case = SimpleNamespace(
        phase=phase, decision=decision, offer_amount=offer, compromise_answers=answers, decision_acceptances=accepted
    )
    assert lifecycle.offered(case, role, datetime(2031, 1, 1, tzinfo=UTC)) == actions
