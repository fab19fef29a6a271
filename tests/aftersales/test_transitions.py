"""Every public transition of the case table through HTTP: allowed where the contract allows it,
409 invalid_state where the status does not, 403 for a role that may never take the action."""

import pytest

from kameng.aftersales import lifecycle

from .conftest import RATIONALE

ROLES = ("buyer", "merchant", "arbitrator", "admin")

# Who may ever send each action (anyone else: 403 whatever the status).
ACTION_ROLES = {
    "accept": {"merchant"},
    "offer": {"merchant"},
    "reject": {"merchant"},
    "accept_offer": {"buyer"},
    "escalate": {"buyer"},
    "withdraw": {"buyer"},
    "claim": {"arbitrator"},
    "decide": {"arbitrator"},
    "respond_compromise": {"buyer", "merchant"},
    "appeal": {"buyer", "merchant"},
    "accept_decision": {"buyer", "merchant"},
    "replace": {"merchant"},
    "accept_replacement": {"buyer"},
}

# The contract's lifecycle, written out by hand: (state, action, role) → status afterwards.
# Everything not listed for a state answers 409 invalid_state to a role in ACTION_ROLES.
ALLOWED = {
    "awaiting_merchant": {
        ("accept", "merchant"): "closed",
        ("offer", "merchant"): "awaiting_buyer",
        ("reject", "merchant"): "awaiting_buyer",
        ("replace", "merchant"): "awaiting_buyer",
        ("withdraw", "buyer"): "closed",
    },
    "awaiting_buyer_offer": {
        ("accept_offer", "buyer"): "closed",
        ("escalate", "buyer"): "in_arbitration",
        ("withdraw", "buyer"): "closed",
        ("accept", "merchant"): "closed",
        ("replace", "merchant"): "awaiting_buyer",
    },
    # after a rejection there is no offer to accept
    "awaiting_buyer_rejected": {
        ("escalate", "buyer"): "in_arbitration",
        ("withdraw", "buyer"): "closed",
        ("accept", "merchant"): "closed",
        ("replace", "merchant"): "awaiting_buyer",
    },
    # 补发: the buyer keeps the new goods, or escalates, or withdraws; the merchant may still refund
    "awaiting_buyer_replacement": {
        ("accept_replacement", "buyer"): "closed",
        ("escalate", "buyer"): "in_arbitration",
        ("withdraw", "buyer"): "closed",
        ("accept", "merchant"): "closed",
    },
    "in_arbitration": {
        ("claim", "arbitrator"): "in_arbitration",
        ("decide", "arbitrator"): "decided",
        ("withdraw", "buyer"): "closed",
        ("accept", "merchant"): "closed",
    },
    # a refund_partial decision goes partly against both parties: either may accept it or appeal
    "decided": {
        ("accept_decision", "buyer"): "decided",
        ("accept_decision", "merchant"): "decided",
        ("appeal", "buyer"): "in_appeal",
        ("appeal", "merchant"): "in_appeal",
    },
    "compromise": {("respond_compromise", "buyer"): "decided", ("respond_compromise", "merchant"): "decided"},
    "in_appeal": {("claim", "arbitrator"): "in_appeal", ("decide", "arbitrator"): "closed"},
    "closed": {},
}

TABLE_STATUS = {
    "awaiting_buyer_offer": "awaiting_buyer",
    "awaiting_buyer_rejected": "awaiting_buyer",
    "awaiting_buyer_replacement": "awaiting_buyer",
    "compromise": "decided",
}
# The lifecycle's phases each state above stands for (after a refused compromise the arbitration
# takes the same actions, bindingly).
TABLE_PHASES = {
    "in_arbitration": ("in_arbitration", "in_arbitration_binding"),
    "decided": ("appeal_window",),
    "compromise": ("compromise_proposed",),
}


def body_for(action: str, case: dict) -> dict:
    return {
        "offer": {"amount": case["requested_amount"] // 2},
        "reject": {"reason": "商品与描述一致"},
        "decide": {"outcome": "refund_partial", "amount": case["requested_amount"] // 4, "rationale": RATIONALE},
        "respond_compromise": {"accept": True},
        "appeal": {"reason": "有新的证据"},
    }.get(action, {})


@pytest.fixture
def people(buyer, merchant, arbitrator, second_arbitrator, admin):
    return {
        "buyer": buyer,
        "merchant": merchant,
        "arbitrator": arbitrator,
        "arbitrator2": second_arbitrator,
        "admin": admin,
    }


def actor(people, state, role):
    # The appeal is for another arbitrator than the one who decided first.
    return people["arbitrator2" if (state == "in_appeal" and role == "arbitrator") else role]


def test_the_hand_written_lifecycle_covers_the_whole_transition_table():
    public = {(r.phase, r.action, r.actor) for r in lifecycle.ROWS if r.actor != "system"}
    written = {
        (phase, a, r)
        for state, moves in ALLOWED.items()
        for phase in TABLE_PHASES.get(state, (state,))
        for (a, r) in moves
    }
    assert written == public
    assert {p: lifecycle.PHASES[p].status for state in ALLOWED for p in TABLE_PHASES.get(state, (state,))} == {
        p: TABLE_STATUS.get(state, state) for state in ALLOWED for p in TABLE_PHASES.get(state, (state,))
    }
    assert {a: set(lifecycle.roles_for(a)) for a in lifecycle.ACTIONS if a in ACTION_ROLES} == ACTION_ROLES


@pytest.mark.parametrize("state", list(ALLOWED))
def test_each_action_in_each_status(state, api, case_in, people):
    case = case_in(state)
    assert case["status"] == TABLE_STATUS.get(state, state)
    for action, roles in ACTION_ROLES.items():
        for role in ROLES:
            if (action, role) in ALLOWED[state]:
                continue  # changes the case: checked on a fresh case below
            res = api.post(
                f"/refunds/{case['id']}/{action}", body_for(action, case), token=actor(people, state, role).token
            )
            if role not in roles:
                assert res.status_code == 403, (state, action, role, res.data)
                assert res.data["error"]["type"] == "permission_denied"
            else:
                assert res.status_code == 409, (state, action, role, res.data)
                assert res.data["error"] | {"request_id": None} == {
                    "request_id": None,
                    "type": "conflict",
                    "code": "invalid_state",
                    "message": res.data["error"]["message"],
                    "param": None,
                }
    after = api.get(f"/refunds/{case['id']}", token=people["buyer"].token).data
    assert after["status"] == case["status"] and after["events"] == case["events"]

    for (action, role), expected in ALLOWED[state].items():
        fresh = case_in(state)
        res = api.post(
            f"/refunds/{fresh['id']}/{action}", body_for(action, fresh), token=actor(people, state, role).token
        )
        assert res.status_code == 200, (state, action, role, res.data)
        assert res.data["status"] == expected, (state, action, role)
        assert res.data["events"][-1]["type"] in (action, "claimed")
        assert res.data["events"][-1]["actor_role"] == role


def test_outsiders_get_404_on_a_case(api, case_in, make_user, people):
    case = case_in("awaiting_merchant")
    stranger = make_user("buyer")
    other_merchant = make_user("merchant")
    api.post("/shops", {"name": "另一家店", "description": "x"}, token=other_merchant.token)
    for user in (stranger, other_merchant):
        res = api.get(f"/refunds/{case['id']}", token=user.token)
        assert res.status_code == 404 and res.data["error"]["type"] == "not_found"
        assert api.post(f"/refunds/{case['id']}/withdraw", token=user.token).status_code == 404
        assert api.get("/refunds", token=user.token).data["data"] == []
    for role in ("buyer", "merchant", "arbitrator", "admin"):
        assert api.get(f"/refunds/{case['id']}", token=people[role].token).status_code == 200
    assert api.get("/refunds/nope", token=people["buyer"].token).status_code == 404
    assert api.get(f"/refunds/{case['id']}").status_code == 401


def test_reject_needs_a_reason(api, case_in, merchant, act):
    case = case_in("awaiting_merchant")
    res = api.post(f"/refunds/{case['id']}/reject", {"reason": "   "}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "reason"
    res = api.post(f"/refunds/{case['id']}/reject", {}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "reason"
    case = act(case, "reject", merchant, {"reason": "买家已成功激活"})
    assert case["status"] == "awaiting_buyer" and case["rejection_reason"] == "买家已成功激活"
    assert case["offer"] is None


def test_an_offer_must_be_less_than_requested_and_more_than_nothing(api, case_in, merchant):
    case = case_in("awaiting_merchant")
    for amount in (0, -5, case["requested_amount"], case["requested_amount"] + 1):
        res = api.post(f"/refunds/{case['id']}/offer", {"amount": amount}, token=merchant.token)
        assert res.status_code == 400 and res.data["error"]["param"] == "amount", amount


def test_decide_needs_a_written_rationale_and_a_valid_amount(api, case_in, arbitrator):
    case = case_in("in_arbitration")
    bad = [
        {"outcome": "refund_full", "rationale": "太短"},
        {"outcome": "refund_full", "rationale": ""},
        {"outcome": "maybe", "rationale": RATIONALE},
        {"outcome": "refund_partial", "rationale": RATIONALE},
        {"outcome": "refund_partial", "amount": case["requested_amount"], "rationale": RATIONALE},
        {"outcome": "compromise", "amount": 0, "rationale": RATIONALE},
    ]
    for body in bad:
        res = api.post(f"/refunds/{case['id']}/decide", body, token=arbitrator.token)
        assert res.status_code == 400, (body, res.data)
    assert api.get(f"/refunds/{case['id']}", token=arbitrator.token).data["status"] == "in_arbitration"


def test_only_the_losing_party_accepts_a_decision(api, case_in, act, buyer, merchant, arbitrator):
    case = case_in("in_arbitration")
    case = act(case, "decide", arbitrator, {"outcome": "refund_full", "rationale": RATIONALE})
    assert case["available_actions"] == []  # as the arbitrator sees it: nothing left for them
    res = api.post(f"/refunds/{case['id']}/accept_decision", token=buyer.token)
    assert res.status_code == 403 and res.data["error"]["code"] == "not_losing_party"
    assert "accept_decision" not in api.get(f"/refunds/{case['id']}", token=buyer.token).data["available_actions"]
    assert "accept_decision" in api.get(f"/refunds/{case['id']}", token=merchant.token).data["available_actions"]


def test_available_actions_follow_the_table(case_in, get_case, buyer, merchant, arbitrator):
    case = case_in("awaiting_merchant")
    assert get_case(case, buyer)["available_actions"] == ["withdraw"]
    assert get_case(case, merchant)["available_actions"] == ["accept", "offer", "reject", "replace"]
    assert get_case(case, arbitrator)["available_actions"] == []
    case = case_in("awaiting_buyer_rejected")
    assert get_case(case, buyer)["available_actions"] == ["escalate", "withdraw"]
    case = case_in("awaiting_buyer_offer")
    assert get_case(case, buyer)["available_actions"] == ["accept_offer", "escalate", "withdraw"]
