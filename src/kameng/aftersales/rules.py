"""Pure money rules of a refund case: the fast track, what a decision refunds and whom it goes
against, the resolution a refund means. No ORM, no I/O. (The lifecycle is kameng.aftersales.lifecycle.)"""

from .models import Actor, Outcome, Reason, Resolution

# Claims that the goods fail their quality promise: 消法第二十四条's 7-day floor applies to them
# (kameng.orders.services.claim_window_end), a no-reason return keeps the listing's own window.
QUALITY_REASONS = (Reason.NOT_AS_DESCRIBED, Reason.DEFECTIVE, Reason.SERVICE_MISSING)


def refund_amount_for(outcome: str, requested: int, amount: int | None) -> int:
    if outcome == Outcome.REFUND_FULL:
        return requested
    if outcome == Outcome.NO_REFUND:
        return 0
    return int(amount or 0)


def parties_against(outcome: str) -> set[str]:
    """Who the decision went against: they may end the appeal window early with accept_decision."""
    if outcome == Outcome.REFUND_FULL:
        return {Actor.MERCHANT}
    if outcome == Outcome.NO_REFUND:
        return {Actor.BUYER}
    return {Actor.BUYER, Actor.MERCHANT}  # a partial refund goes partly against both


def resolution_for(refund: int, requested: int) -> str:
    if refund <= 0:
        return Resolution.NO_REFUND
    return Resolution.REFUND_FULL if refund >= requested else Resolution.REFUND_PARTIAL


def is_fast_track(amount: int, category_class: str, threshold: int) -> bool:
    """小额快速通道: under the threshold (¥200) on a standardized listing."""
    return amount < threshold and category_class == "standardized"
