"""`next_step` on every case (api-v1.md v1.1): who must act, by when, and what the platform does if
nobody does — for every phase, and proved by letting the deadline pass and watching the sweeper do
exactly what `on_timeout` said."""

from datetime import datetime

import pytest

from kameng.aftersales import lifecycle
from kameng.aftersales.models import Phase

# state (case_in), requested amount → (actor, the deadline it runs on, on_timeout)
EXPECTED = {
    ("awaiting_merchant", None): ("merchant", "merchant_respond_by", "to_arbitration"),
    ("awaiting_merchant", 100): ("merchant", "merchant_respond_by", "refund_full"),  # fast track
    ("awaiting_buyer_offer", None): ("buyer", "buyer_respond_by", "withdrawn"),
    ("awaiting_buyer_rejected", None): ("buyer", "buyer_respond_by", "withdrawn"),
    ("in_arbitration", None): ("arbitrator", "decide_by", "overdue"),
    ("compromise", None): ("parties", "compromise_respond_by", "back_to_arbitrator"),
    ("decided", None): ("parties", "appeal_by", "final"),
    ("in_appeal", None): ("arbitrator", "decide_by", "overdue"),
}


def _what_happened(before: dict, after: dict) -> str:
    """The on_timeout code that names what the sweeper did to the case."""
    if after["status"] == "closed":
        return "final" if before["status"] == "decided" else after["resolution"]
    if after["phase"] == "in_arbitration_binding" and before["phase"] != after["phase"]:
        return "back_to_arbitrator"
    if after["status"] == "in_arbitration" and before["status"] != "in_arbitration":
        return "to_arbitration"
    assert after["phase"] == before["phase"] and after["overdue"], (before["phase"], after)
    return "overdue"


@pytest.mark.parametrize(("state", "amount"), list(EXPECTED))
def test_next_step_names_the_actor_the_deadline_and_what_the_timeout_does(
    state, amount, case_in, get_case, buyer, merchant, advance
):
    case = get_case(case_in(state, amount), buyer)
    actor, field, on_timeout = EXPECTED[(state, amount)]
    step = case["next_step"]
    assert step == {"actor": actor, "due_by": case["deadlines"][field], "on_timeout": on_timeout}
    assert get_case(case, merchant)["next_step"] == step  # the same for both parties

    now = datetime.fromisoformat(advance(0))
    advance((datetime.fromisoformat(step["due_by"]) - now).total_seconds() + 1)
    after = get_case(case, buyer)
    assert _what_happened(case, after) == on_timeout
    if on_timeout == "final":
        assert after["refunded_amount"] == case["decision"]["amount"]


def test_a_closed_case_has_no_next_step(case_in, get_case, buyer):
    case = get_case(case_in("closed"), buyer)
    assert case["next_step"] == {"actor": None, "due_by": None, "on_timeout": None}


def test_a_failed_compromise_waits_for_a_binding_decision(case_in, act, get_case, buyer, merchant):
    case = case_in("compromise")
    act(case, "respond_compromise", buyer, {"accept": False})
    case = get_case(case, merchant)
    assert case["phase"] == "in_arbitration_binding"
    assert case["next_step"] == {
        "actor": "arbitrator",
        "due_by": case["deadlines"]["decide_by"],
        "on_timeout": "overdue",
    }


def test_every_open_phase_has_a_next_step_read_from_its_deadline():
    """The table, not a per-phase dict: each open phase's deadline names who acts and its timeout row what follows."""
    for phase in lifecycle.OPEN_PHASES:
        spec = lifecycle.PHASES[phase]
        assert spec.deadline is not None, phase
        assert lifecycle.rows_for(phase, spec.deadline.fires, lifecycle.SYSTEM), phase
        assert spec.deadline.reminder.to in lifecycle.WHO_ACTS, phase
    assert lifecycle.PHASES[Phase.CLOSED].deadline is None


def test_a_replacement_waits_for_the_buyer_and_stands_if_unanswered(
    new_order, open_case, act, get_case, buyer, merchant, advance
):
    case = act(open_case(new_order()), "replace", merchant)
    assert case["phase"] == "awaiting_buyer_replacement"
    step = case["next_step"]
    assert step == {"actor": "buyer", "due_by": case["deadlines"]["buyer_respond_by"], "on_timeout": "replaced"}
    now = datetime.fromisoformat(advance(0))
    advance((datetime.fromisoformat(step["due_by"]) - now).total_seconds() + 1)
    after = get_case(case, buyer)
    assert after["status"] == "closed" and after["resolution"] == "replaced" and after["refunded_amount"] == 0
