"""The order and its escrow as one lifecycle table: (state, event, actor) → one target state, a
named guard, and the effects the row runs, in order. Pure: no queries, no I/O.

A state is the pair (order status, escrow status). The two columns move together and neither says
alone what may happen next: a delivered order may be held (waiting for the buyer or release_at) or
frozen by a refund case; a refunded order may still have its escrow frozen while the case that
refunded it closes. Rows for one (state, event, actor) have mutually exclusive guards; a row whose
target depends on amounts (a release after a partial refund) is two rows. Deadlines hang on the
states, as in Sharetribe's process files: entering a state with a deadline arms its timer, leaving
it cancels it. `orders.services.transition` is the one path that applies a row.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class OrderStatus(TextChoices):
    """The order's public status (the contract's values); its label is what the pages show."""

    AWAITING_PAYMENT = "awaiting_payment", _("待付款")  # direct checkout: the stock is reserved until it expires
    CANCELLED = "cancelled", _("已取消")  # not paid in time: the reservation is released; nothing was paid
    PAID = "paid", _("已付款，待发货")  # money (or the deposit) in escrow; the merchant must deliver
    DELIVERED = "delivered", _("已发货，待确认")  # handed over; the buyer confirms, or escrow releases at release_at
    COMPLETED = "completed", _("已完成")  # escrow released to the merchant; a case may still refund within after-sale
    REFUNDED = "refunded", _("已退款")  # everything paid went back to the buyer; nothing more happens
    PARTIALLY_REFUNDED = "partially_refunded", _("部分退款")  # part refunded, the rest released; a case may refund more


class EscrowStatus(TextChoices):
    """Where the order's escrow stands (the contract's `escrow.status`)."""

    HELD = "held", _("平台担保中")  # waiting for delivery, then for confirmation or release_at
    FROZEN = "frozen", _("已冻结（售后处理中）")  # a refund case is open: nothing leaves escrow until it closes
    RELEASED = "released", _("已放款给商家")  # paid out to the merchant; later refunds come from the merchant
    REFUNDED = "refunded", _("已退回买家")  # returned to the buyer in full; nothing more happens


class State(NamedTuple):
    order: str  # an OrderStatus ("" before the purchase)
    escrow: str  # an EscrowStatus ("" before the purchase)

    def __str__(self) -> str:
        return f"{self.order or 'new'}/{self.escrow or '-'}"


# The states, and what must happen next in each.
NEW = State("", "")  # not bought yet: the purchase row creates the order
AWAITING = State(OrderStatus.AWAITING_PAYMENT, "")  # direct checkout: the gateway's notification pays it
CANCELLED = State(OrderStatus.CANCELLED, "")  # final: expired unpaid; a late payment is refunded by its route
PAID_HELD = State(OrderStatus.PAID, EscrowStatus.HELD)  # the merchant delivers (card keys: at once, from stock)
PAID_FROZEN = State(OrderStatus.PAID, EscrowStatus.FROZEN)  # a case opened before delivery; delivery still allowed
DELIVERED_HELD = State(OrderStatus.DELIVERED, EscrowStatus.HELD)  # the buyer confirms, or it releases at release_at
DELIVERED_FROZEN = State(OrderStatus.DELIVERED, EscrowStatus.FROZEN)  # a case opened after delivery: wait for it
COMPLETED = State(OrderStatus.COMPLETED, EscrowStatus.RELEASED)  # paid out; an after-sale case may still refund
PARTLY_REFUNDED = State(OrderStatus.PARTIALLY_REFUNDED, EscrowStatus.RELEASED)  # the same, part refunded already
REFUNDED_FROZEN = State(OrderStatus.REFUNDED, EscrowStatus.FROZEN)  # the case that refunded all closes next
REFUNDED = State(OrderStatus.REFUNDED, EscrowStatus.REFUNDED)  # final: everything paid went back to the buyer
STATES = (
    AWAITING,
    CANCELLED,
    PAID_HELD,
    PAID_FROZEN,
    DELIVERED_HELD,
    DELIVERED_FROZEN,
    COMPLETED,
    PARTLY_REFUNDED,
    REFUNDED_FROZEN,
    REFUNDED,
)
FINAL = frozenset({REFUNDED, CANCELLED})


class Event(StrEnum):
    CHECKOUT = "checkout"  # 下单 with a gateway: the order waits for the payment, its stock reserved
    PAID = "paid"  # 下单: the buyer pays the price, or the deposit (定金) of a staged payment
    WARRANTY_DUE = "warranty_due"  # 找回包赔 ended: the warranty timer releases the share escrow kept
    PAYMENT_EXPIRED = "payment_expired"  # the direct checkout was not paid in time: the timer cancels it
    PAYMENT_REFUSED = "payment_refused"  # its payment came but could not be honoured (no stock): refunded, cancelled
    BALANCE_PAID = "balance_paid"  # 付尾款: the buyer moves a staged payment's balance into escrow early
    DELIVERED = "delivered"  # 发货: by the merchant, or by the platform from stock (card keys)
    CONFIRMED = "confirmed"  # 确认收货: the buyer releases the escrow
    RELEASE_DUE = "release_due"  # release_at passed: the release timer
    CASE_OPENED = "case_opened"  # a refund case opened: freeze what escrow holds
    CASE_CLOSED = "case_closed"  # the refund case closed: the escrow runs again, or is settled
    REFUNDED = "refunded"  # the refund case pays the buyer back (part or all, before or after release)
    REDELIVERED = "redelivered"  # 补发 in a refund case: the replacement starts a new confirmation window


class Actor(StrEnum):
    BUYER = "buyer"
    MERCHANT = "merchant"
    SYSTEM = "system"  # timers, delivery from stock, and the refund case (aftersales) freezing, refunding, closing


class Effect(StrEnum):
    """One step of a row, run in the row's order. Money steps post through `orders.escrow`;
    `writes` names the OrderEvent type a step appends."""

    NOTE_AWAITING = "note_awaiting"  # direct checkout started: the payment's deadline is armed
    TAKE_PAYMENT = "take_payment"  # buyer wallet → escrow: the price or the deposit
    CANCEL = "cancel"  # unpaid in time: the reserved stock goes back on sale
    RECORD_DELIVERY = "record_delivery"  # delivered_at, the content, after_sale_until, release_at
    COLLECT_BALANCE = "collect_balance"  # 尾款: buyer wallet → escrow; refused (insufficient funds) if short
    NOTE_BALANCE_UNPAID = "note_balance_unpaid"  # release was due but the buyer cannot cover the balance
    NOTE_DELIVERED = "note_delivered"
    NOTE_CONFIRMED = "note_confirmed"
    NOTE_FROZEN = "note_frozen"
    NOTE_UNFROZEN = "note_unfrozen"
    RELEASE = "release"  # escrow → merchant wallet, 先行赔付 debt recovered first; completed_at
    REFUND = "refund"  # → buyer wallet: escrow, then merchant wallet, then the platform's advance (once per key)
    SETTLE = "settle"  # the case that refunded everything closed: completed_at
    RELEASE_WARRANTY = "release_warranty"  # escrow → merchant: the warranty share kept at release (找回包赔)
    # 补发: release_at (and a warranty's end) start again from the replacement's delivery, never earlier
    RESTART_WINDOW = "restart_window"

    @property
    def writes(self) -> str:
        """The OrderEvent type this effect appends ("" for none)."""
        return _WRITES.get(self, "")


_WRITES = {
    Effect.NOTE_AWAITING: "awaiting_payment",
    Effect.TAKE_PAYMENT: "paid",
    Effect.CANCEL: "cancelled",
    Effect.COLLECT_BALANCE: "balance_paid",  # only when a balance was due
    Effect.NOTE_BALANCE_UNPAID: "balance_unpaid",
    Effect.NOTE_DELIVERED: "delivered",
    Effect.NOTE_CONFIRMED: "confirmed",
    Effect.NOTE_FROZEN: "escrow_frozen",
    Effect.NOTE_UNFROZEN: "escrow_unfrozen",
    Effect.RELEASE: "escrow_released",
    Effect.REFUND: "refunded",
    Effect.SETTLE: "escrow_closed",
    Effect.RELEASE_WARRANTY: "warranty_released",
    Effect.RESTART_WINDOW: "window_restarted",
}


class AccountRole(StrEnum):
    """The ledger accounts a money step may touch; the transition locks all of a row's at its start."""

    BUYER_WALLET = "buyer_wallet"
    ESCROW = "escrow"
    MERCHANT_WALLET = "merchant_wallet"
    MERCHANT_DEBT = "merchant_debt"


TOUCHES: dict[Effect, tuple[AccountRole, ...]] = {
    Effect.TAKE_PAYMENT: (AccountRole.BUYER_WALLET, AccountRole.ESCROW),
    Effect.COLLECT_BALANCE: (AccountRole.BUYER_WALLET, AccountRole.ESCROW),  # only when a balance is due
    Effect.RELEASE: (AccountRole.ESCROW, AccountRole.MERCHANT_WALLET, AccountRole.MERCHANT_DEBT),
    Effect.RELEASE_WARRANTY: (AccountRole.ESCROW, AccountRole.MERCHANT_WALLET, AccountRole.MERCHANT_DEBT),
    Effect.REFUND: tuple(AccountRole),  # the buyer, and every source a refund may come from
}


# ---- guards ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What guards read: the order's amounts (fen) and deadlines, the moment, and the event's amount."""

    paid: int  # what the buyer paid so far (the price, or the deposit until the balance is in)
    refunded: int  # refunded so far
    release_at: datetime | None
    now: datetime
    amount: int = 0  # a refund's amount
    balance_due: int = 0  # a staged payment's balance (尾款) not yet in escrow
    buyer_funds: int = 0  # the buyer's wallet balance (read only while a balance is due)
    payment_expires_at: datetime | None = None  # a direct checkout's deadline
    warranty_until: datetime | None = None  # 找回包赔: the kept share is released then


@dataclass(frozen=True)
class Guard:
    name: str
    holds: Callable[[Facts], bool]

    def __call__(self, facts: Facts) -> bool:
        return self.holds(facts)

    def __and__(self, other: "Guard") -> "Guard":
        return Guard(f"{self.name} & {other.name}", lambda f: self(f) and other(f))

    def __str__(self) -> str:
        return self.name


ALWAYS = Guard("always", lambda f: True)
NONE_REFUNDED = Guard("none_refunded", lambda f: f.refunded == 0)
SOME_REFUNDED = Guard("some_refunded", lambda f: f.refunded > 0)  # never all while escrow still holds money
WARRANTY_IS_DUE = Guard("warranty_due", lambda f: f.warranty_until is not None and f.warranty_until <= f.now)
RELEASE_IS_DUE = Guard("release_due", lambda f: f.release_at is not None and f.release_at <= f.now)
RELEASE_NOT_DUE = Guard("release_not_due", lambda f: not RELEASE_IS_DUE(f))
REFUND_LEAVES_SOME = Guard("refund_leaves_some", lambda f: f.refunded + f.amount < f.paid)
REFUND_TAKES_ALL = Guard("refund_takes_all", lambda f: f.refunded + f.amount >= f.paid)  # of what was paid
OWING = Guard("balance_owing", lambda f: f.balance_due > 0)
COVERED = Guard("balance_covered", lambda f: f.balance_due == 0 or f.buyer_funds >= f.balance_due)
UNCOVERED = Guard("balance_uncovered", lambda f: not COVERED(f))
PAYMENT_OPEN = Guard(
    "payment_open", lambda f: f.payment_expires_at is None or f.now < f.payment_expires_at
)  # a notification after the deadline finds the order expired: the timer's row runs first


# ---- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    state: State
    event: Event
    actor: Actor
    target: State
    guard: Guard
    effects: tuple[Effect, ...]

    @property
    def arms(self) -> "Deadline | None":
        """The deadline timer this row arms (entering a state that has one)."""
        return DEADLINES.get(self.target) if self.target != self.state else None

    @property
    def cancels(self) -> "Deadline | None":
        """The deadline timer this row cancels (leaving a state that has one)."""
        return DEADLINES.get(self.state) if self.target != self.state else None


@dataclass(frozen=True)
class Deadline:
    field: str  # the order's column holding the moment
    timer: str  # the timer kind (target "order:<id>")
    fires: Event  # what the timer sends, as SYSTEM


RELEASE_TIMER = "order.release_escrow"
WARRANTY_TIMER = "order.release_warranty"  # armed by a release that kept the warranty share
PAYMENT_TIMER = "order.payment_expired"
DEADLINES = {
    AWAITING: Deadline("payment_expires_at", PAYMENT_TIMER, Event.PAYMENT_EXPIRED),
    DELIVERED_HELD: Deadline("release_at", RELEASE_TIMER, Event.RELEASE_DUE),
}

ev, fx = Event, Effect
B, M, S = Actor.BUYER, Actor.MERCHANT, Actor.SYSTEM
DUE = RELEASE_IS_DUE
# Every row that releases collects the balance first, and collecting refuses when the buyer is short:
# no order is ever completed with a balance due (tests/orders/test_lifecycle.py checks the table).
DELIVER = (fx.COLLECT_BALANCE, fx.RECORD_DELIVERY, fx.NOTE_DELIVERED)
CONFIRM = (fx.COLLECT_BALANCE, fx.NOTE_CONFIRMED, fx.RELEASE)
TIMED_RELEASE = (fx.COLLECT_BALANCE, fx.RELEASE)
PAY_BALANCE = (fx.COLLECT_BALANCE,)
PAY_BALANCE_RELEASE = (fx.COLLECT_BALANCE, fx.RELEASE)
FREEZE = (fx.NOTE_FROZEN,)
REFUND = (fx.REFUND,)
UNFREEZE = (fx.NOTE_UNFROZEN,)
UNFREEZE_RELEASE = (fx.NOTE_UNFROZEN, fx.COLLECT_BALANCE, fx.RELEASE)
NOTHING = ()

# fmt: off
TABLE: tuple[Row, ...] = (
    #   state             event           actor  target            guard                effects
    # 下单: the purchase; card keys are delivered from stock in the same transaction
    Row(NEW,              ev.PAID,        B, PAID_HELD,        ALWAYS,              (fx.TAKE_PAYMENT,)),
    # direct checkout: the stock is reserved; the gateway's money, booked into the buyer's wallet,
    # pays it exactly as a wallet purchase does; unpaid at the deadline, it is cancelled
    Row(NEW,              ev.CHECKOUT,    B, AWAITING,         ALWAYS,              (fx.NOTE_AWAITING,)),
    Row(AWAITING,         ev.PAID,        S, PAID_HELD,        PAYMENT_OPEN,        (fx.TAKE_PAYMENT,)),
    Row(AWAITING,         ev.PAYMENT_EXPIRED, S, CANCELLED,    ALWAYS,              (fx.CANCEL,)),
    Row(AWAITING,         ev.PAYMENT_REFUSED, S, CANCELLED,    ALWAYS,              (fx.CANCEL,)),
    # 发货: a staged payment's balance (尾款) goes into escrow first; refused while the buyer is short
    Row(PAID_HELD,        ev.DELIVERED,   M, DELIVERED_HELD,   ALWAYS,              DELIVER),
    Row(PAID_HELD,        ev.DELIVERED,   S, DELIVERED_HELD,   ALWAYS,              DELIVER),
    Row(PAID_FROZEN,      ev.DELIVERED,   M, DELIVERED_FROZEN, ALWAYS,              DELIVER),
    # 确认收货 / release_at: the escrow goes to the merchant (the balance first: required on confirming)
    Row(DELIVERED_HELD,   ev.CONFIRMED,   B, COMPLETED,        NONE_REFUNDED,       CONFIRM),
    Row(DELIVERED_HELD,   ev.CONFIRMED,   B, PARTLY_REFUNDED,  SOME_REFUNDED,       CONFIRM),
    Row(DELIVERED_HELD,   ev.RELEASE_DUE, S, COMPLETED,        DUE & COVERED & NONE_REFUNDED, TIMED_RELEASE),
    Row(DELIVERED_HELD,   ev.RELEASE_DUE, S, PARTLY_REFUNDED,  DUE & COVERED & SOME_REFUNDED, TIMED_RELEASE),
    Row(DELIVERED_HELD,   ev.RELEASE_DUE, S, DELIVERED_HELD,   DUE & UNCOVERED,     (fx.NOTE_BALANCE_UNPAID,)),
    # 付尾款: the buyer pays a staged payment's balance early (released at once if release_at passed)
    Row(PAID_HELD,        ev.BALANCE_PAID, B, PAID_HELD,       OWING,               PAY_BALANCE),
    Row(PAID_FROZEN,      ev.BALANCE_PAID, B, PAID_FROZEN,     OWING,               PAY_BALANCE),
    Row(DELIVERED_FROZEN, ev.BALANCE_PAID, B, DELIVERED_FROZEN, OWING,              PAY_BALANCE),
    Row(DELIVERED_HELD,   ev.BALANCE_PAID, B, DELIVERED_HELD,  OWING & RELEASE_NOT_DUE, PAY_BALANCE),
    Row(DELIVERED_HELD,   ev.BALANCE_PAID, B, COMPLETED,       OWING & DUE & NONE_REFUNDED, PAY_BALANCE_RELEASE),
    Row(DELIVERED_HELD,   ev.BALANCE_PAID, B, PARTLY_REFUNDED, OWING & DUE & SOME_REFUNDED, PAY_BALANCE_RELEASE),
    # a refund case opens: held escrow freezes; released escrow has nothing to freeze
    Row(PAID_HELD,        ev.CASE_OPENED, S, PAID_FROZEN,      ALWAYS,              FREEZE),
    Row(DELIVERED_HELD,   ev.CASE_OPENED, S, DELIVERED_FROZEN, ALWAYS,              FREEZE),
    Row(COMPLETED,        ev.CASE_OPENED, S, COMPLETED,        ALWAYS,              NOTHING),
    Row(PARTLY_REFUNDED,  ev.CASE_OPENED, S, PARTLY_REFUNDED,  ALWAYS,              NOTHING),
    # the case refunds: from frozen escrow, or after release from the merchant (clawback, 先行赔付)
    Row(PAID_FROZEN,      ev.REFUNDED,    S, PAID_FROZEN,      REFUND_LEAVES_SOME,  REFUND),
    Row(PAID_FROZEN,      ev.REFUNDED,    S, REFUNDED_FROZEN,  REFUND_TAKES_ALL,    REFUND),
    Row(DELIVERED_FROZEN, ev.REFUNDED,    S, DELIVERED_FROZEN, REFUND_LEAVES_SOME,  REFUND),
    Row(DELIVERED_FROZEN, ev.REFUNDED,    S, REFUNDED_FROZEN,  REFUND_TAKES_ALL,    REFUND),
    Row(COMPLETED,        ev.REFUNDED,    S, PARTLY_REFUNDED,  REFUND_LEAVES_SOME,  REFUND),
    Row(COMPLETED,        ev.REFUNDED,    S, REFUNDED,         REFUND_TAKES_ALL,    REFUND),
    Row(PARTLY_REFUNDED,  ev.REFUNDED,    S, PARTLY_REFUNDED,  REFUND_LEAVES_SOME,  REFUND),
    Row(PARTLY_REFUNDED,  ev.REFUNDED,    S, REFUNDED,         REFUND_TAKES_ALL,    REFUND),
    # the case closes: the escrow runs again (released at once if release_at passed meanwhile), or is settled
    Row(PAID_FROZEN,      ev.CASE_CLOSED, S, PAID_HELD,        ALWAYS,              UNFREEZE),
    Row(DELIVERED_FROZEN, ev.CASE_CLOSED, S, DELIVERED_HELD,   RELEASE_NOT_DUE,     UNFREEZE),
    Row(DELIVERED_FROZEN, ev.CASE_CLOSED, S, COMPLETED,        DUE & COVERED & NONE_REFUNDED, UNFREEZE_RELEASE),
    Row(DELIVERED_FROZEN, ev.CASE_CLOSED, S, PARTLY_REFUNDED,  DUE & COVERED & SOME_REFUNDED, UNFREEZE_RELEASE),
    Row(DELIVERED_FROZEN, ev.CASE_CLOSED, S, DELIVERED_HELD,   DUE & UNCOVERED,     UNFREEZE),  # the timer notes it
    Row(REFUNDED_FROZEN,  ev.CASE_CLOSED, S, REFUNDED,         ALWAYS,              (fx.SETTLE,)),
    Row(COMPLETED,        ev.CASE_CLOSED, S, COMPLETED,        ALWAYS,              NOTHING),
    Row(PARTLY_REFUNDED,  ev.CASE_CLOSED, S, PARTLY_REFUNDED,  ALWAYS,              NOTHING),
    Row(REFUNDED,         ev.CASE_CLOSED, S, REFUNDED,         ALWAYS,              NOTHING),
    # 补发 while the case holds the escrow: the buyer gets a full confirmation window (and warranty) for
    # the replacement, counted from its delivery; once released there is no window left to restart
    Row(DELIVERED_FROZEN, ev.REDELIVERED, S, DELIVERED_FROZEN, ALWAYS,              (fx.RESTART_WINDOW,)),
    Row(COMPLETED,        ev.REDELIVERED, S, COMPLETED,        ALWAYS,              NOTHING),
    Row(PARTLY_REFUNDED,  ev.REDELIVERED, S, PARTLY_REFUNDED,  ALWAYS,              NOTHING),
    # 找回包赔 ended (and no case holds the order: aftersales asks first): the kept share goes to the merchant
    Row(COMPLETED,        ev.WARRANTY_DUE, S, COMPLETED,       WARRANTY_IS_DUE,     (fx.RELEASE_WARRANTY,)),
    Row(PARTLY_REFUNDED,  ev.WARRANTY_DUE, S, PARTLY_REFUNDED, WARRANTY_IS_DUE,     (fx.RELEASE_WARRANTY,)),
)
# fmt: on


# ---- reading the table -----------------------------------------------------------------------


def _by_key(table: tuple[Row, ...]) -> dict[tuple[State, Event, Actor], tuple[Row, ...]]:
    index: dict[tuple[State, Event, Actor], tuple[Row, ...]] = {}
    for r in table:
        index[r.state, r.event, r.actor] = (*index.get((r.state, r.event, r.actor), ()), r)
    return index


# TABLE's rows by (state, event, actor), in the table's order, built once: `rows` and `find` are one
# look-up, not a scan of the table per order (the release sweep asks for every order it releases).
# Built again should TABLE be another tuple (a test's table).
_index = (TABLE, _by_key(TABLE))


def _rows_of(state: State, event: Event, actor: Actor) -> tuple[Row, ...]:
    global _index
    if _index[0] is not TABLE:
        _index = (TABLE, _by_key(TABLE))
    return _index[1].get((state, event, actor), ())


def rows(state: State, event: Event, actor: Actor) -> list[Row]:
    return list(_rows_of(state, event, actor))


def allows(state: State, event: Event, actor: Actor) -> bool:
    """Whether the table has a row for this event by this actor in this state (whatever the guards say)."""
    return bool(rows(state, event, actor))


def actors(event: Event) -> frozenset[Actor]:
    """Who may send this event in some state."""
    return frozenset(r.actor for r in TABLE if r.event == event)


def find(state: State, event: Event, actor: Actor, facts: Facts) -> Row | None:
    """The one row whose guard holds, or None (no row for the state, or no guard holds)."""
    matching = [r for r in _rows_of(state, event, actor) if r.guard(facts)]
    assert len(matching) <= 1, f"guards overlap for {state} {event} {actor}: {matching}"
    return matching[0] if matching else None


def deadline(state: State) -> Deadline | None:
    return DEADLINES.get(state)


def describe() -> str:
    """The table as text, one row a line, with the events each row writes and the timers it moves."""
    lines = []
    for r in TABLE:
        writes = ", ".join(e.writes for e in r.effects if e.writes) or "-"
        timer = f"arms {r.arms.timer}" if r.arms else f"cancels {r.cancels.timer}" if r.cancels else ""
        lines.append(
            f"{r.state!s:<30} {r.event:<12} {r.actor:<8} → {r.target!s:<30} [{r.guard}] "
            f"{' '.join(e.value for e in r.effects) or '-'} | events: {writes} {timer}".rstrip()
        )
    return "\n".join(lines)
