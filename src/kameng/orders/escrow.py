"""Escrow money policy: how an order's money comes into escrow and where it goes when the escrow
is released or refunded.

- Release pays the merchant what escrow holds, net of merchant debt: 先行赔付 recovery (what
  the merchant owes the platform) comes out of new income first.
- A refund takes from escrow first; once escrow was released, from the merchant's wallet; where
  that is short the platform advances the rest (先行赔付) and books it as the merchant's debt.

The split decisions are the pure functions first; the posting code beside them runs as the effects
of a lifecycle row (orders.services.transition), under the order's row lock, after the transition
locked every account the row may touch (`accounts_for`); each re-reads the balances it splits by.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from kameng.ledger import services as ledger
from kameng.ledger.models import Account, EntryKind
from kameng.policy.services import get_policy

from .lifecycle import TOUCHES, AccountRole, Effect, EscrowStatus
from .models import Order

# The accounts a transition locked already (ledger.lock_accounts), handed down to the posting code.
Held = dict[ledger.AccountCode, Account] | None

# ---- decisions (pure) ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseSplit:
    to_merchant: int  # into the merchant's wallet
    to_debt: int  # 先行赔付 recovery: paid back against the merchant's debt
    to_platform: int = 0  # 平台佣金: the category's commission


def commission(amount: int, bp: int) -> int:
    """The platform's commission on releasing `amount`: basis points, rounded down (the merchant's favour)."""
    return amount * bp // 10_000


def release_split(held: int, debt_balance: int, commission_bp: int = 0) -> ReleaseSplit:
    """Escrow releasing `held` pays the platform's commission, then repays what the merchant owes (a
    negative `debt_balance`), and the rest goes to the merchant's wallet."""
    fee = commission(held, commission_bp)
    owed = max(0, -debt_balance)
    settle = min(owed, held - fee)
    return ReleaseSplit(to_merchant=held - fee - settle, to_debt=settle, to_platform=fee)


def warranty_share(held: int, share: int, warranty_until, now) -> int:
    """找回包赔: what a release keeps in escrow until the warranty ends (the listing's share, at most `held`)."""
    return min(held, share) if warranty_until is not None and now < warranty_until else 0


def release_transfers(
    escrow: ledger.AccountCode, wallet: ledger.AccountCode, debt: ledger.AccountCode, split: ReleaseSplit
) -> list[ledger.Transfer]:
    """A release's movements out of escrow: the single and the batch path post these same three."""
    return [
        ledger.Transfer(escrow, wallet, split.to_merchant),
        ledger.Transfer(escrow, debt, split.to_debt),
        ledger.Transfer(escrow, ledger.PLATFORM_COMMISSION, split.to_platform),
    ]


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


# ---- the accounts a row touches --------------------------------------------------------------


def account_codes(order: Order) -> dict[AccountRole, ledger.AccountCode]:
    return {
        AccountRole.BUYER_WALLET: ledger.wallet_code(order.buyer_id),
        AccountRole.ESCROW: ledger.escrow_code(order.pk),
        AccountRole.MERCHANT_WALLET: ledger.wallet_code(order.shop.owner_id),
        AccountRole.MERCHANT_DEBT: ledger.debt_code(order.shop.owner_id),
    }


RELEASES = (Effect.RELEASE, Effect.RELEASE_WARRANTY)


def accounts_for(order: Order, effects: Iterable[Effect]) -> set[ledger.AccountCode]:
    """Every account these effects may touch (a balance only while one is due; the platform's
    commission account only for a release in a category that pays one — it is one row for all)."""
    codes = account_codes(order)
    effects = list(effects)
    touched = {
        codes[account]
        for effect in effects
        if effect is not Effect.REFUND and (effect is not Effect.COLLECT_BALANCE or order.balance_due)
        for account in TOUCHES.get(effect, ())
    }
    if Effect.REFUND in effects:
        touched.update(refund_locks(order))  # the one statement of which accounts a refund locks
    if any(e in RELEASES for e in effects) and _commission_bp(order):
        touched.add(ledger.PLATFORM_COMMISSION)
    return touched


def from_escrow(order: Order) -> bool:
    return order.escrow_status == EscrowStatus.FROZEN


def _commission_bp(order: Order) -> int:
    """Read once per order object: a transition asks for it to lock accounts, the release again to split."""
    bp = order.__dict__.get("_commission_bp")
    if bp is None:
        bp = know_category(order, order.snapshot["category"])
    return bp


def know_category(order: Order, category: str) -> int:
    """The commission of the order's snapshot category, kept on the order object (`_commission_bp`):
    for an order read without its snapshot (the batch release reads the category alone)."""
    return know_commission(order, get_policy().commission_bp(category))


def know_commission(order: Order, bp: int) -> int:
    """`know_category` with the category's commission read already (of another order of a batch)."""
    order.__dict__["_commission_bp"] = bp
    return bp


# ---- moving the money ----------------------------------------------------------------------


def take_payment(order: Order, *, actor: str, held: Held = None, now=None) -> int:
    """下单: the price, or the deposit (定金) of a staged payment, from the buyer's wallet into escrow."""
    ledger.transfer(
        f"purchase:{order.pk}",
        EntryKind.PURCHASE,
        ledger.wallet_code(order.buyer_id),
        ledger.escrow_code(order.pk),
        order.paid_amount,
        order_id=order.pk,
        actor=actor,
        memo=f"订单 {order.number}",
        held=held,
        now=now,
    )
    return order.paid_amount


def collect_balance(order: Order, *, held: Held = None, now=None) -> int:
    """Staged payment: take the balance (尾款) from the buyer's wallet into escrow; returns what moved.

    Short of money: raises insufficient funds and nothing moves (the whole transition rolls back).
    """
    if not order.balance_due:
        return 0
    ledger.transfer(
        f"balance:{order.pk}",
        EntryKind.PURCHASE_BALANCE,
        ledger.wallet_code(order.buyer_id),
        ledger.escrow_code(order.pk),
        order.balance_due,
        order_id=order.pk,
        actor=order.buyer.username,
        memo=f"订单 {order.number} 尾款",
        held=held,
        now=now,
    )
    return order.balance_due


def warranty_amount(order: Order) -> int:
    """The share of the price the listing keeps for its warranty (the whole price unless it says less)."""
    per_unit = order.snapshot.get("warranty_amount")
    return min(order.amount, per_unit * order.quantity) if per_unit else order.amount


def release(order: Order, *, actor: str, now, held: Held = None) -> tuple[int, int]:
    """Pay what escrow holds to the merchant, net of any merchant debt, keeping the warranty share
    while the warranty runs; returns (released, kept)."""
    escrow = ledger.escrow_code(order.pk)
    # The debt is read under its lock: a refund of another order may book more, a release recover it.
    amount = ledger.lock_accounts([escrow], held=held)[escrow].balance
    kept = warranty_share(amount, warranty_amount(order), order.warranty_until, now)
    _pay_merchant(
        order,
        amount - kept,
        key=f"release:{order.pk}",
        actor=actor,
        memo=f"订单 {order.number} 放款",
        held=held,
        now=now,
    )
    return amount - kept, kept


def release_warranty(order: Order, *, actor: str, held: Held = None, now=None) -> int:
    """找回包赔 ended: the share escrow kept goes to the merchant (what a reclaim refund left of it)."""
    escrow = ledger.escrow_code(order.pk)
    amount = ledger.lock_accounts([escrow], held=held)[escrow].balance
    _pay_merchant(
        order,
        amount,
        key=f"release:{order.pk}:warranty",
        actor=actor,
        memo=f"订单 {order.number} 包赔期满放款",
        held=held,
        now=now,
    )
    return amount


def _pay_merchant(order: Order, amount: int, *, key: str, actor: str, memo: str, held: Held = None, now=None) -> None:
    if not amount:
        return
    escrow = ledger.escrow_code(order.pk)
    wallet = ledger.wallet_code(order.shop.owner_id)
    debt = ledger.debt_code(order.shop.owner_id)
    bp = _commission_bp(order)
    locked = ledger.lock_accounts([escrow, wallet, debt, *([ledger.PLATFORM_COMMISSION] if bp else [])], held=held)
    split = release_split(amount, locked[debt].balance, bp)
    ledger.post(
        key,
        EntryKind.RELEASE,
        release_transfers(escrow, wallet, debt, split),
        order_id=order.pk,
        actor=actor,
        memo=memo,
        held=locked,
        now=now,
    )


def lock_escrows(orders: list[Order]) -> dict[ledger.AccountCode, Account]:
    """The orders' escrow accounts, locked in one statement (code order): what each holds is what its
    release pays (`release_many`). Locked before the merchants' accounts, which `release_many` locks
    last, out of the ledger's code order ("debt:" < "escrow:" < "wallet:"): no movement can wait for
    these and hold one of those, as every movement of an order's escrow runs under the order's row
    lock, which the caller holds for all of them."""
    return ledger.lock_accounts(ledger.escrow_code(order.pk) for order in orders)


def release_many(orders: list[Order], held: dict[ledger.AccountCode, Account], *, actor: str, now) -> None:
    """`release` for a bite of orders at once, releasing what each escrow holds (`held`: what
    `lock_escrows` locked; no warranty share kept: the caller leaves those to `release`), in the given
    order.

    Each merchant's wallet and debt, and the commission account, are locked once for the bite, in one
    sorted call, and as late as the bite allows (the caller writes its events and orders first). The
    splits are those `release` makes, order after order (a merchant's debt recovered by one order is
    not owed by the next); the entries, postings and balances are written by one ledger batch, so the
    merchant's wallet is updated once with the bite's summed credit.
    """
    codes: set[ledger.AccountCode] = set()
    for order in orders:
        owner = order.shop.owner_id
        codes |= {ledger.wallet_code(owner), ledger.debt_code(owner)}
        if _commission_bp(order):
            codes.add(ledger.PLATFORM_COMMISSION)
    held = ledger.lock_accounts(codes, held=held)
    batch = ledger.Batch(held, now=now)
    for order in orders:
        escrow = ledger.escrow_code(order.pk)
        wallet = ledger.wallet_code(order.shop.owner_id)
        debt = ledger.debt_code(order.shop.owner_id)
        amount = held[escrow].balance
        if not amount:
            continue
        split = release_split(amount, held[debt].balance, _commission_bp(order))
        batch.add(
            f"release:{order.pk}",
            EntryKind.RELEASE,
            release_transfers(escrow, wallet, debt, split),
            order_id=order.pk,
            actor=actor,
            memo=f"订单 {order.number} 放款",
        )
    batch.write()


def refund_accounts(order: Order) -> tuple[ledger.AccountCode, ...]:
    """The accounts a refund of `order` may touch: the buyer's wallet, the escrow, the merchant's wallet and debt."""
    owner = order.shop.owner_id
    return (
        ledger.wallet_code(order.buyer_id),
        ledger.escrow_code(order.pk),
        ledger.wallet_code(owner),
        ledger.debt_code(owner),
    )


def refund_locks(order: Order) -> tuple[ledger.AccountCode, ...]:
    """The accounts a refund of `order` locks first: from a frozen escrow (`from_escrow`) the buyer's
    wallet and the escrow alone (nothing has left the escrow, so it holds what the case may refund, and
    the merchant's wallet and debt are neither touched nor locked: a busy shop's refunds do not queue on
    them), else all of `refund_accounts`. `accounts_for` (a transition's locks) asks this too."""
    codes = refund_accounts(order)
    return codes[:2] if from_escrow(order) else codes


def split_held(order: Order, amount: int, held: dict[ledger.AccountCode, Account]) -> RefundSplit:
    """`refund_split` on the locked balances (a merchant wallet not locked is not touched: escrow pays)."""
    _, escrow, merchant_wallet, _ = refund_accounts(order)
    merchant_balance = held[merchant_wallet].balance if merchant_wallet in held else 0
    return refund_split(amount, held[escrow].balance, merchant_balance)


def refund_transfers(order: Order, split: RefundSplit) -> list[ledger.Transfer]:
    """A refund's movements into the buyer's wallet: the single and the batch path post these same three."""
    buyer, escrow, merchant_wallet, debt = refund_accounts(order)
    return [
        ledger.Transfer(escrow, buyer, split.from_escrow),
        ledger.Transfer(merchant_wallet, buyer, split.from_merchant),
        ledger.Transfer(debt, buyer, split.advanced),
    ]


def refund(
    order: Order, amount: int, *, key: str, case_id=None, actor: str = "system", held: Held = None, now=None
) -> RefundSplit | None:
    """Move `amount` into the buyer's wallet as `refund_split` says, once per key (None: posted before).

    The balances we split the refund by are read under their locks: a concurrent withdrawal or
    release cannot change them between reading and posting. From a frozen escrow only the buyer's
    wallet and the escrow are locked (`refund_locks`); should the escrow not cover the refund after
    all, the merchant's wallet and debt are locked as well before anything is split."""
    _, escrow, merchant_wallet, _ = codes = refund_accounts(order)
    locked = ledger.lock_accounts(refund_locks(order), held=held)
    if locked[escrow].balance < amount and merchant_wallet not in locked:
        locked = ledger.lock_accounts(codes, held=locked)
    split = split_held(order, amount, locked)
    entry = ledger.post(
        key,
        EntryKind.REFUND,
        refund_transfers(order, split),
        order_id=order.pk,
        case_id=case_id,
        actor=actor,
        memo=f"订单 {order.number} 退款",
        held=locked,
        now=now,
    )
    return split if entry is not None else None


@dataclass(frozen=True)
class Refund:
    """One refund of a batch (`refund_many`): `refund`'s arguments."""

    order: Order
    amount: int
    key: str
    case_id: int | None = None


def refund_many(refunds: list[Refund], *, actor: str, now) -> list[RefundSplit]:
    """`refund` for many orders at once, in the given order, each from its escrow alone (the caller
    refunds frozen escrows, which hold what is refundable); returns their splits.

    As `release_many`: every account of the batch is locked in one sorted call (what `refund` locks
    of each: of a frozen escrow, it and the buyer's wallet; created when missing as `refund` creates
    them); the splits are `refund`'s, entry after entry on the held balances; the entries are
    inserted in one statement, ON CONFLICT (idempotency_key) DO NOTHING RETURNING their keys, then
    their postings in one and the balances in one. A key posted before raises AlreadyPosted and
    nothing of the batch may commit (the sweep reruns its timers one by one, where `refund` finds
    the entry and moves nothing twice); so does an escrow short of its refund."""
    held = ledger.lock_accounts({code for r in refunds for code in refund_locks(r.order)})
    batch = ledger.Batch(held, now=now)
    splits = []
    for r in refunds:
        _, escrow, _, _ = refund_accounts(r.order)
        split = split_held(r.order, r.amount, held)
        if split.from_escrow != r.amount:
            raise AssertionError(f"order {r.order.pk}'s escrow holds {held[escrow].balance}, short of {r.amount}")
        batch.add(
            r.key,
            EntryKind.REFUND,
            refund_transfers(r.order, split),
            order_id=r.order.pk,
            case_id=r.case_id,
            actor=actor,
            memo=f"订单 {r.order.number} 退款",
        )
        splits.append(split)
    batch.write()
    return splits
