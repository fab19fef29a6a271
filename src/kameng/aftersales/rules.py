"""The refund-case lifecycle as data, and pure money rules. No ORM, no I/O.

TRANSITIONS maps (from status, action, actor role) → the statuses the action may lead to.
The service layer is the only caller; the API, the pages and the timers all go through it.
"""

from .models import CaseStatus as S
from .models import Outcome

BUYER, MERCHANT, ARBITRATOR, SYSTEM = "buyer", "merchant", "arbitrator", "system"

TRANSITIONS: dict[tuple[str, str, str], frozenset[str]] = {
    # negotiation (协商)
    (S.AWAITING_MERCHANT, "accept", MERCHANT): frozenset({S.CLOSED}),
    (S.AWAITING_MERCHANT, "offer", MERCHANT): frozenset({S.AWAITING_BUYER}),
    (S.AWAITING_MERCHANT, "reject", MERCHANT): frozenset({S.AWAITING_BUYER}),
    (S.AWAITING_MERCHANT, "withdraw", BUYER): frozenset({S.CLOSED}),
    (S.AWAITING_MERCHANT, "merchant_timeout", SYSTEM): frozenset({S.CLOSED, S.IN_ARBITRATION}),
    (S.AWAITING_BUYER, "accept_offer", BUYER): frozenset({S.CLOSED}),
    (S.AWAITING_BUYER, "escalate", BUYER): frozenset({S.IN_ARBITRATION}),
    (S.AWAITING_BUYER, "withdraw", BUYER): frozenset({S.CLOSED}),
    (S.AWAITING_BUYER, "accept", MERCHANT): frozenset({S.CLOSED}),  # the merchant gives in after all
    (S.AWAITING_BUYER, "buyer_timeout", SYSTEM): frozenset({S.CLOSED}),
    # arbitration (平台介入)
    (S.IN_ARBITRATION, "claim", ARBITRATOR): frozenset({S.IN_ARBITRATION}),
    (S.IN_ARBITRATION, "decide", ARBITRATOR): frozenset({S.DECIDED}),
    (S.IN_ARBITRATION, "withdraw", BUYER): frozenset({S.CLOSED}),
    (S.IN_ARBITRATION, "accept", MERCHANT): frozenset({S.CLOSED}),
    # after a decision: compromise answers, acceptance, appeal window
    (S.DECIDED, "respond_compromise", BUYER): frozenset({S.DECIDED, S.CLOSED, S.IN_ARBITRATION}),
    (S.DECIDED, "respond_compromise", MERCHANT): frozenset({S.DECIDED, S.CLOSED, S.IN_ARBITRATION}),
    (S.DECIDED, "compromise_timeout", SYSTEM): frozenset({S.IN_ARBITRATION}),
    (S.DECIDED, "accept_decision", BUYER): frozenset({S.DECIDED, S.CLOSED}),
    (S.DECIDED, "accept_decision", MERCHANT): frozenset({S.DECIDED, S.CLOSED}),
    (S.DECIDED, "appeal", BUYER): frozenset({S.IN_APPEAL}),
    (S.DECIDED, "appeal", MERCHANT): frozenset({S.IN_APPEAL}),
    (S.DECIDED, "appeal_timeout", SYSTEM): frozenset({S.CLOSED}),
    # appeal (二次申诉): decided once more, finally, by another arbitrator
    (S.IN_APPEAL, "claim", ARBITRATOR): frozenset({S.IN_APPEAL}),
    (S.IN_APPEAL, "decide", ARBITRATOR): frozenset({S.CLOSED}),
}

ACTION_ROLES: dict[str, frozenset[str]] = {}
for _status, _action, _role in TRANSITIONS:
    ACTION_ROLES[_action] = ACTION_ROLES.get(_action, frozenset()) | {_role}

PUBLIC_ACTIONS = (
    "accept",
    "offer",
    "reject",
    "accept_offer",
    "escalate",
    "withdraw",
    "claim",
    "decide",
    "respond_compromise",
    "appeal",
    "accept_decision",
)


def is_compromise_pending(decision: dict | None) -> bool:
    return bool(decision) and decision["outcome"] == Outcome.COMPROMISE and not decision.get("final")


def guard(status: str, action: str, decision: dict | None, offer_amount: int | None) -> bool:
    """Conditions beyond the table: which sub-phase of `decided` the case is in."""
    if action == "respond_compromise" or action == "compromise_timeout":
        return is_compromise_pending(decision)
    if action in ("appeal", "accept_decision", "appeal_timeout"):
        return bool(decision) and decision["outcome"] != Outcome.COMPROMISE
    if action == "accept_offer":
        return offer_amount is not None
    return True


def allowed(status: str, action: str, role: str, decision=None, offer_amount=None) -> frozenset[str] | None:
    targets = TRANSITIONS.get((status, action, role))
    if targets is None or not guard(status, action, decision, offer_amount):
        return None
    return targets


def party_may(
    action: str, role: str, decision: dict | None, compromise_answers: dict | None = None, decision_acceptances=()
) -> bool:
    """Per-party conditions inside an allowed status: only the losing side accepts a decision,
    and each side answers a compromise or accepts a decision once."""
    if action == "accept_decision":
        return bool(decision) and role in parties_against(decision["outcome"]) and role not in decision_acceptances
    if action == "respond_compromise":
        return role not in (compromise_answers or {})
    return True


def available_actions(
    status: str, role: str, decision=None, offer_amount=None, compromise_answers=None, decision_acceptances=()
) -> list[str]:
    """The public actions `role` may take now (for pages: show only these buttons)."""
    return [
        a
        for a in PUBLIC_ACTIONS
        if allowed(status, a, role, decision, offer_amount) is not None
        and party_may(a, role, decision, compromise_answers, decision_acceptances)
    ]


def refund_amount_for(outcome: str, requested: int, amount: int | None) -> int:
    if outcome == Outcome.REFUND_FULL:
        return requested
    if outcome == Outcome.NO_REFUND:
        return 0
    return int(amount or 0)


def parties_against(outcome: str) -> set[str]:
    """Who the decision went against: they may end the appeal window early with accept_decision."""
    if outcome == Outcome.REFUND_FULL:
        return {MERCHANT}
    if outcome == Outcome.NO_REFUND:
        return {BUYER}
    return {BUYER, MERCHANT}  # a partial refund goes partly against both


def resolution_for(refund: int, requested: int) -> str:
    if refund <= 0:
        return "no_refund"
    return "refund_full" if refund >= requested else "refund_partial"


def is_fast_track(amount: int, category_class: str, threshold: int) -> bool:
    """小额快速通道: under the threshold (¥200) on a standardized listing."""
    return amount < threshold and category_class == "standardized"
