"""Escrow money policy: where an order's money goes when its escrow is released or refunded,
and freezing it while a refund case is open.

- Release pays the merchant what escrow holds, net of merchant debt: 先行赔付 recovery (what
  the merchant owes the platform) comes out of new income first.
- A refund takes from escrow first; once escrow was released, from the merchant's wallet; where
  that is short the platform advances the rest (先行赔付) and books it as the merchant's debt.

The split decisions are the pure functions first; the posting code beside them runs inside the
caller's transaction, under the order's row lock, and locks the balances it splits by.
"""

from dataclasses import dataclass

from kameng.accounts.models import User
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind
from kameng.timers import services as timers

from .events import append_event as _event
from .models import EscrowStatus, Order, OrderStatus

RELEASE_TIMER = "order.release_escrow"


# ---- decisions (pure) ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSplit:
    to_merchant: int  # into the merchant's wallet
    to_debt: int  # 先行赔付 recovery: paid back against the merchant's debt


def release_split(held: int, debt_balance: int) -> ReleaseSplit:
    """Escrow holding `held` first repays what the merchant owes (a negative `debt_balance`)."""
    owed = max(0, -debt_balance)
    settle = min(owed, held)
    return ReleaseSplit(to_merchant=held - settle, to_debt=settle)


@dataclass(frozen=True)
class RefundSplit:
    from_escrow: int
    from_merchant: int  # the merchant's wallet: the escrow was released already
    advanced: int  # 先行赔付: the platform advances the rest, booked as the merchant's debt


def refund_split(amount: int, escrow_balance: int, merchant_wallet_balance: int) -> RefundSplit:
    """Refund `amount` from escrow first, then from the merchant's wallet, the platform's advance the rest."""
    from_escrow = min(amount, escrow_balance)
    rest = amount - from_escrow
    from_merchant = min(rest, max(0, merchant_wallet_balance))
    return RefundSplit(from_escrow=from_escrow, from_merchant=from_merchant, advanced=rest - from_merchant)


# ---- moving the money ----------------------------------------------------------------------


def release_escrow(order: Order, now, *, actor: User | None = None) -> None:
    """Pay what escrow still holds to the merchant (net of any merchant debt) and close the order.

    Caller holds the order's row lock inside a transaction.
    """
    escrow = ledger.escrow_code(order.pk)
    held = ledger.balance(escrow)  # every escrow movement holds the order's row lock, as the caller does
    if held:
        wallet = ledger.wallet_code(order.shop.owner_id)
        debt = ledger.debt_code(order.shop.owner_id)
        # The debt is read under its lock: a refund of another order may book more, a release recover it.
        locked = ledger.lock_accounts([escrow, wallet, debt])
        split = release_split(locked[escrow].balance, locked[debt].balance)
        ledger.post(
            f"release:{order.pk}",
            EntryKind.RELEASE,
            [ledger.Transfer(escrow, wallet, split.to_merchant), ledger.Transfer(escrow, debt, split.to_debt)],
            order_id=order.pk,
            actor=actor.username if actor else "system",
            memo=f"订单 {order.number} 放款",
        )
    order.escrow_status = EscrowStatus.RELEASED
    if order.refunded_amount == 0:
        order.status = OrderStatus.COMPLETED
    elif order.refunded_amount >= order.amount:
        order.status = OrderStatus.REFUNDED
        order.escrow_status = EscrowStatus.REFUNDED
    else:
        order.status = OrderStatus.PARTIALLY_REFUNDED
    order.completed_at = now
    order.save()
    timers.cancel(RELEASE_TIMER, f"order:{order.pk}")
    _event(order, "escrow_released", actor, now, amount=held)


def refund(order: Order, amount: int, *, key: str, case_id=None, actor: str = "system") -> RefundSplit | None:
    """Move `amount` into the buyer's wallet as `refund_split` says, once per key (None: posted before).

    Caller holds the order's row lock inside a transaction.
    """
    buyer = ledger.wallet_code(order.buyer_id)
    escrow = ledger.escrow_code(order.pk)
    merchant_wallet = ledger.wallet_code(order.shop.owner_id)
    debt = ledger.debt_code(order.shop.owner_id)
    # Lock the balances we split the refund by, so a concurrent withdrawal or release cannot
    # change them between reading and posting.
    locked = ledger.lock_accounts([buyer, escrow, merchant_wallet, debt])
    split = refund_split(amount, locked[escrow].balance, locked[merchant_wallet].balance)
    transfers = [
        ledger.Transfer(escrow, buyer, split.from_escrow),
        ledger.Transfer(merchant_wallet, buyer, split.from_merchant),
        ledger.Transfer(debt, buyer, split.advanced),
    ]
    entry = ledger.post(
        key,
        EntryKind.REFUND,
        transfers,
        order_id=order.pk,
        case_id=case_id,
        actor=actor,
        memo=f"订单 {order.number} 退款",
    )
    return split if entry is not None else None


# ---- freezing ------------------------------------------------------------------------------


def freeze_escrow(order: Order, now) -> None:
    """A refund case opened: nothing leaves escrow until it closes. Caller holds the lock."""
    if order.escrow_status == EscrowStatus.HELD:
        order.escrow_status = EscrowStatus.FROZEN
        order.save(update_fields=["escrow_status"])
        timers.cancel(RELEASE_TIMER, f"order:{order.pk}")
        _event(order, "escrow_frozen", None, now)


def unfreeze_escrow(order: Order, now) -> None:
    """The case closed: release now if the window is over (or the case settled everything), else wait for it."""
    if order.escrow_status != EscrowStatus.FROZEN:
        return
    held = ledger.balance(ledger.escrow_code(order.pk))
    if held == 0:
        # Everything was refunded (or nothing was ever held beyond the refund).
        order.escrow_status = (
            EscrowStatus.REFUNDED if order.refunded_amount >= order.paid_amount else EscrowStatus.RELEASED
        )
        order.status = (
            OrderStatus.REFUNDED if order.refunded_amount >= order.paid_amount else OrderStatus.PARTIALLY_REFUNDED
        )
        order.completed_at = now
        order.save()
        _event(order, "escrow_closed", None, now)
        return
    order.escrow_status = EscrowStatus.HELD
    order.save(update_fields=["escrow_status"])
    _event(order, "escrow_unfrozen", None, now)
    if order.status == OrderStatus.DELIVERED and order.release_at and order.release_at <= now:
        release_escrow(order, now)
    elif order.status == OrderStatus.DELIVERED and order.release_at:
        timers.schedule(RELEASE_TIMER, f"order:{order.pk}", order.release_at, now=now)
