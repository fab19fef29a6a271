"""Use cases for orders and their escrow, and the one transition path they all take.

Every change of an order's status or escrow status goes through `transition`: the lifecycle table
(orders/lifecycle.py) picks the row, the row's effects move the money (orders/escrow.py, through
kameng.ledger, in the same transaction, each movement under its own idempotency key), write the
order's events and arm or cancel the deadline's timer.
"""

import functools
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat

from kameng.accounts.models import Role, User
from kameng.catalog import stock
from kameng.catalog.models import Listing, Shop, ShopStatus
from kameng.catalog.rules import terms_confirmation
from kameng.catalog.services import current_version
from kameng.clock.services import now as clock_now
from kameng.compiled import PreparedObjects, array_literal, holds_id, insert_rows, loaded, packed_rows, update_rows
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import Account
from kameng.money import plain_yuan
from kameng.policy.services import read_once as read_policy_once
from kameng.security.offplatform import message_flags
from kameng.spreadsheet import csv_document, csv_safe
from kameng.timers import services as timers
from kameng.wallet import payments

from . import escrow, lifecycle, notices
from .events import append_event as _event
from .events import append_events, held_events, message_posted
from .lifecycle import Actor, Effect, Event
from .models import Message, Order, OrderStatus

MAX_QUANTITY = 100
ORDER_PAYMENT = "order"  # the purpose of a gateway payment for an order (its ref: the order's id)
WALLET = "wallet"  # an order's pay_with when the buyer's wallet paid it at once (no gateway payment)


def _lock(order: Order) -> Order:
    # of=self: lock the order row only. Locking the joined shop and listing rows too deadlocked
    # against concurrent purchases (their new orders reference both rows) on PostgreSQL.
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "listing").get(pk=order.pk)


# ---- the one transition path ---------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """What an event brings besides its actor: a delivery's content, a refund's amount and key."""

    content: str | None = None
    amount: int = 0
    key: str = ""
    case_id: int | None = None
    ledger_actor: str = "system"  # the name the journal records for a refund (the case's acting user)


# The refusals the table's answers become, per event: the user is not a party who may send it
# (checked first, as the use cases always did), or no row applies in the order's state. A timer
# that finds no row does nothing: it is stale (the escrow froze or was released, or it is early).
NOT_YOURS = {
    Event.DELIVERED: Error.DELIVERY_MERCHANT_ONLY,
    Event.CONFIRMED: Error.CONFIRM_BUYER_ONLY,
    Event.BALANCE_PAID: Error.PAY_BALANCE_BUYER_ONLY,
}
NOT_ALLOWED = {
    Event.DELIVERED: Error.DELIVERY_NOT_ALLOWED,
    Event.CONFIRMED: Error.CONFIRM_NOT_ALLOWED,
    Event.BALANCE_PAID: Error.NO_BALANCE_DUE,
    Event.PAID: Error.ORDER_NOT_AWAITING_PAYMENT,
}
STALE_IS_NOOP = {Event.RELEASE_DUE, Event.PAYMENT_EXPIRED, Event.WARRANTY_DUE}


def state_of(order: Order) -> lifecycle.State:
    return lifecycle.State(order.status, order.escrow_status)


def actor_of(order: Order, user: User) -> Actor | None:
    if user.pk == order.buyer_id:
        return Actor.BUYER
    if user.pk == order.shop.owner_id:
        return Actor.MERCHANT
    return None


def party_for(order: Order, user: User, event: Event) -> Actor:
    """The user's part in the order, if the table lets that party send `event` in some state."""
    actor = actor_of(order, user)
    if actor is None or actor not in lifecycle.actors(event):
        raise DomainError(NOT_YOURS[event])
    return actor


def may(order: Order, user: User, event: Event) -> bool:
    """Whether the table lets this user send this event now (for pages: which buttons to show)."""
    actor = actor_of(order, user)
    return actor is not None and lifecycle.allows(state_of(order), event, actor)


@dataclass
class Pending:
    """The transitions of an order created in the same transaction (the wallet purchase), written to
    the order's row once at the end instead of once per transition: the fields they set, and the timers
    they armed. The rows every transition writes (events, entries, postings, timers) are the same; a
    new order has no timer that this block did not arm, so cancelling one it did not arm is skipped."""

    fields: set[str] = field(default_factory=set)
    armed: set[str] = field(default_factory=set)

    def write(self, order: Order) -> None:
        _store(order, self.fields)


_UNSAVED = "_fields_to_store"  # on an order inside `one_write`: the fields its transitions changed


@contextmanager
def one_write(order: Order) -> Iterator[Order]:
    """The transitions of the locked `order` inside the block store its row once, when the block ends,
    instead of once each (a case's settlement: the refund, then the case closing), and their events
    in one INSERT just before it (`held_events`). Each still writes its entries and timers as it runs
    and sets its fields on `order`; only the events and the UPDATE of the order's row wait, so nothing
    inside the block may read that row or its events back from the database. Nested blocks on the
    same order leave the writing to the outer one."""
    if _UNSAVED in order.__dict__:
        yield order
        return
    unsaved: set[str] = set()
    order.__dict__[_UNSAVED] = unsaved
    try:
        with held_events(order):  # and their events, in one INSERT, before the row's UPDATE
            yield order
    finally:
        del order.__dict__[_UNSAVED]
    if unsaved:  # not on an exception: the transaction is rolled back anyway
        _store(order, unsaved)


def _store(order: Order, fields: Iterable[str]) -> None:
    """`order.save(update_fields=fields)` in one fixed-text UPDATE (`update_rows`), without a save's
    signals and compiling: the order model has no save hooks and no auto-updated fields."""
    update_rows(Order, [order], sorted(set(fields)))


def transition(
    order: Order,
    event: Event,
    *,
    actor: Actor,
    user: User | None,
    now: datetime,
    move: Move = Move(),
    pending: Pending | None = None,
) -> bool:
    """Apply the table's row for (the order's state, event, actor) whose guard holds. The caller holds
    the order's row lock inside a transaction (or has just created the order).

    Every account the row may touch is locked first, in code order, before any money moves (two
    transitions never wait for each other's accounts in opposite orders); then the effects run in the
    row's order, the target state is stored, and the deadline timers of the states left and entered
    are cancelled and armed. Returns False if nothing changed: a stale timer, or a refund posted
    before under its key. With `pending` (a new order's transitions) the row is stored by
    `pending.write` after the last of them.
    """
    row = lifecycle.find(state_of(order), event, actor, _facts(order, now, move))
    if row is None:
        if event in STALE_IS_NOOP:
            return False
        raise DomainError(NOT_ALLOWED.get(event, Error.ESCROW_NOT_ALLOWED))
    codes = escrow.accounts_for(order, row.effects)
    held = ledger.lock_accounts(codes) if codes else {}  # the effects post with these, locking nothing more
    changed = _Changes()
    for effect in row.effects:
        if not _apply(effect, order, user, now, move, changed, held):
            return False  # posted before: nothing moves twice, nothing changes
    _enter(order, row)
    unsaved = order.__dict__.get(_UNSAVED)
    if pending is not None:
        pending.fields.update(("status", "escrow_status", *changed.fields))
    elif unsaved is not None:  # inside one_write: stored when its block ends
        unsaved.update(("status", "escrow_status", *changed.fields))
    else:
        _store(order, ("status", "escrow_status", *changed.fields))
    escrow_account = held.get(ledger.escrow_code(order.pk))
    if escrow_account is not None:  # what the answer shows (escrow_balance), known without reading it back
        order.__dict__["escrow_balance"] = escrow_account.balance
    if row.cancels and (pending is None or row.cancels.timer in pending.armed):
        timers.cancel(row.cancels.timer, f"order:{order.pk}")
    if row.arms:
        fresh = pending is not None and row.arms.timer not in pending.armed  # no such timer to replace
        timers.schedule(row.arms.timer, f"order:{order.pk}", getattr(order, row.arms.field), now=now, replace=not fresh)
        if pending is not None:
            pending.armed.add(row.arms.timer)
    return True


def _enter(order: Order, row: lifecycle.Row) -> None:
    """The row's target state, on the order object (the caller stores it): `transition`, or its batch
    variant for release rows (`_release_many`)."""
    order.status, order.escrow_status = row.target
    if order.status == OrderStatus.COMPLETED and order.balance_due:  # the table never does this (tested)
        raise AssertionError(f"order {order.pk} would complete with a balance of {order.balance_due} due")


def _facts(order: Order, now: datetime, move: Move) -> lifecycle.Facts:
    """What the guards read. The buyer's wallet only while a balance is due: whether it covers it."""
    funds = ledger.balance(ledger.wallet_code(order.buyer_id)) if order.balance_due else 0
    return lifecycle.Facts(
        paid=order.paid_amount,
        refunded=order.refunded_amount,
        release_at=order.release_at,
        now=now,
        amount=move.amount,
        balance_due=order.balance_due,
        buyer_funds=funds,
        payment_expires_at=order.payment_expires_at,
        warranty_until=order.warranty_until,
    )


@dataclass
class _Changes:
    fields: list[str] = field(default_factory=list)

    def set(self, order: Order, **values) -> None:
        for name, value in values.items():
            setattr(order, name, value)
            self.fields.append(name)


def _apply(
    effect: Effect, order: Order, user: User | None, now, move: Move, changed: _Changes, held: escrow.Held
) -> bool:
    """Run one effect; False if it was done before (a refund's key was posted)."""
    note = effect.writes  # the OrderEvent type the effect appends ("" for none)
    if effect is Effect.TAKE_PAYMENT:
        amount = escrow.take_payment(order, actor=order.buyer.username, held=held, now=now)
        _event(order, note, user, now, amount=amount)
    elif effect is Effect.RECORD_DELIVERY:
        snapshot = order.snapshot
        changed.set(
            order,
            delivered_at=now,
            delivery_content=move.content,
            after_sale_until=after_sale_end(snapshot, now),
            release_at=now + timedelta(minutes=snapshot["verification_minutes"]),
            warranty_until=now + timedelta(days=snapshot["warranty_days"]) if snapshot.get("warranty_days") else None,
        )
    elif effect is Effect.CANCEL:
        stock.release_reserved(order)
        _event(order, note, user, now)
    elif effect is Effect.COLLECT_BALANCE:
        collected = escrow.collect_balance(order, held=held, now=now)
        if collected:
            _event(order, note, user, now, amount=collected)
            changed.set(order, balance_due=0)
    elif effect is Effect.RELEASE:
        released, kept = escrow.release(
            order, actor=user.username if user is not None else "system", now=now, held=held
        )
        changed.set(order, completed_at=now)
        _event(order, note, user, now, amount=released, **({"warranty_kept": kept} if kept else {}))
        if kept and order.warranty_until is not None:  # kept only while a warranty runs
            timers.schedule(lifecycle.WARRANTY_TIMER, f"order:{order.pk}", order.warranty_until, now=now)
    elif effect is Effect.RELEASE_WARRANTY:
        released = escrow.release_warranty(order, actor="system", held=held, now=now)
        _event(order, note, user, now, amount=released)
    elif effect is Effect.RESTART_WINDOW:
        # The replacement is what the buyer now checks: a full verification window (and 找回包赔) from
        # its delivery, as on the first delivery; never shortened. The frozen escrow's timer is armed
        # from release_at when the case closes (CASE_CLOSED → DELIVERED_HELD).
        snapshot = order.snapshot
        release_at = now + timedelta(minutes=snapshot["verification_minutes"])
        if order.release_at is None or release_at > order.release_at:
            changed.set(order, release_at=release_at)
        else:
            release_at = order.release_at
        if snapshot.get("warranty_days"):
            warranty_until = now + timedelta(days=snapshot["warranty_days"])
            if order.warranty_until is None or warranty_until > order.warranty_until:
                changed.set(order, warranty_until=warranty_until)
        _event(order, note, user, now, release_at=release_at.isoformat())
    elif effect is Effect.REFUND:
        split = escrow.refund(
            order, move.amount, key=move.key, case_id=move.case_id, actor=move.ledger_actor, held=held, now=now
        )
        if split is None:
            return False
        changed.set(order, refunded_amount=order.refunded_amount + move.amount)
        _event(order, note, user, now, amount=move.amount, advanced=split.advanced, case=move.case_id)
    elif effect is Effect.SETTLE:
        changed.set(order, completed_at=now)
        _event(order, note, user, now)
    elif note:  # the events of the moves that move no money
        _event(order, note, user, now)
    return True


# ---- reading -------------------------------------------------------------------------------


def visible_orders(user: User) -> QuerySet[Order]:
    if user.role == Role.BUYER:
        return Order.objects.filter(buyer=user)
    if user.role == Role.MERCHANT:
        return Order.objects.filter(shop__owner=user)
    if user.role == Role.ADMIN:
        return Order.objects.all()
    if user.role == Role.ARBITRATOR:
        # Arbitrators see an order once it is in a refund case.
        return Order.objects.filter(refund_cases__isnull=False).distinct()
    return Order.objects.none()


def _order_pk(order_id) -> int:
    """An order id as the caller gave it; one that is not a number names no order (ORDER_NOT_FOUND)."""
    try:
        return int(order_id)
    except (TypeError, ValueError):
        raise DomainError(Error.ORDER_NOT_FOUND) from None


def get_order_for(order_id, user: User) -> Order:
    pk = _order_pk(order_id)
    order = visible_orders(user).select_related("shop", "listing", "buyer").filter(pk=pk).first()
    if order is None:
        raise DomainError(Error.ORDER_NOT_FOUND)
    return order


def lock_order_for(order_id, user: User, *related: str) -> Order:
    """`get_order_for`'s order (the same ORDER_NOT_FOUND for anyone else), read once and locked (its
    row only), with `related` joined: for a use case that changes it, instead of a read and then a
    locked re-read. The caller holds a transaction. Not for arbitrators: their visibility is a
    DISTINCT join, which PostgreSQL does not lock."""
    assert transaction.get_connection().in_atomic_block
    pk = _order_pk(order_id)
    if user.role not in (Role.BUYER, Role.MERCHANT, Role.ADMIN) or not holds_id(pk):
        raise DomainError(Error.ORDER_NOT_FOUND)  # no order for other roles; an id no column can hold
    read = _order_locking_read(user.role, tuple(related))
    found = read.objects(pk) if user.role == Role.ADMIN else read.objects(user.pk, pk)
    if not found:
        raise DomainError(Error.ORDER_NOT_FOUND)
    assert isinstance(found[0], Order)
    return found[0]


@functools.cache
def _order_locking_read(role: str, related: tuple[str, ...]) -> PreparedObjects:
    """lock_order_for's statement for a role and its joins, compiled once (kameng.compiled): the order
    row locked (of self), with `related`, among the orders `visible_orders` gives that role."""

    def build(*args: int) -> QuerySet:
        orders = visible_orders(User(pk=args[0], role=role)) if role != Role.ADMIN else Order.objects.all()
        locked = orders.select_for_update(of=("self",)).select_related(*related)
        return locked.filter(pk=args[-1])[:1]  # [:1], not .first(): the key is unique (no ORDER BY)

    return PreparedObjects(build, arity=1 if role == Role.ADMIN else 2)


def can_see_delivery(order: Order, user: User) -> bool:
    return user.pk == order.buyer_id or user.pk == order.shop.owner_id


def list_orders(user: User, *, status: str = "") -> QuerySet[Order]:
    """The caller's orders for the API list, newest first, each with its escrow balance (`escrow_balance`)."""
    qs = (
        _by_own_shop(visible_orders(user), user)
        .select_related("shop", "listing_version")
        .prefetch_related("stock_items")
        .annotate(escrow_balance=_escrow_balance())
    )
    return qs.filter(status=status) if status else qs


def _by_own_shop(qs: QuerySet[Order], user: User) -> QuerySet[Order]:
    """A merchant's orders filtered by the shop's id too, not only by a join on its owner: the
    planner then walks order_shop (shop_id, -id) for one page instead of every order by id."""
    if user.role != Role.MERCHANT:
        return qs
    shop_id = Shop.objects.filter(owner=user).values_list("pk", flat=True).first()
    return qs.filter(shop_id=shop_id) if shop_id is not None else qs.none()


def _escrow_balance():
    """Each order's escrow balance in the list's own query (one lookup by the unique account code)."""
    code = Concat(Value("escrow:order:"), Cast(OuterRef("pk"), output_field=CharField()), output_field=CharField())
    return Coalesce(Subquery(Account.objects.filter(code=code).values("balance")[:1]), Value(0))


def escrow_balance(order: Order) -> int:
    """What the order's escrow holds now (annotated by `list_orders`, else read from the ledger)."""
    annotated = getattr(order, "escrow_balance", None)
    return annotated if annotated is not None else ledger.balance(ledger.escrow_code(order.pk))


# ---- buying --------------------------------------------------------------------------------


def purchase(
    *,
    acting_user: User,
    listing_id,
    quantity: int = 1,
    accept_special_terms: bool = False,
    topup_target: str = "",
) -> Order:
    """下单 from the wallet: paid into escrow at once (card keys delivered from stock). A direct
    checkout through a gateway is orders.checkout."""
    listing = buyable(acting_user, listing_id, quantity, accept_special_terms, topup_target)
    now = clock_now()
    with transaction.atomic():
        # The order's row is written twice: inserted, then its number and final state in one update.
        pending = Pending(fields={"number"})
        order = new_order(acting_user, listing, quantity, accept_special_terms, topup_target, now, save_number=False)
        transition(order, Event.PAID, actor=Actor.BUYER, user=acting_user, now=now, pending=pending)
        if listing.kind == "card_key":
            items = stock.take(order.listing, order.quantity, order, now)
            if items is None:
                raise DomainError(Error.OUT_OF_STOCK)
            transition(order, Event.DELIVERED, actor=Actor.SYSTEM, user=None, now=now, pending=pending)
            _known_items(order, items)
        pending.write(order)
    return order


def _known_items(order: Order, items) -> None:
    """The answer shows the delivered keys: they are the rows just taken, so `order.stock_items.all()`
    answers from them as from a prefetch (Django's own prefetch cache) instead of reading them back."""
    for item in items:
        item.order, item.delivered_at = order, order.delivered_at
    related = order.stock_items.all()
    related.__dict__.update(_result_cache=list(items), _prefetch_done=True)  # as prefetch_related_objects does
    order.__dict__.setdefault("_prefetched_objects_cache", {})["stock_items"] = related


def buyable(user: User, listing_id, quantity, accept_special_terms: bool, topup_target: str) -> Listing:
    """The listing, if this user may buy this much of it on these terms (the contract's checks, in order)."""
    if user.role != Role.BUYER:
        raise DomainError(Error.ORDER_BUYER_ONLY)
    try:
        pk = int(listing_id)
    except (TypeError, ValueError):
        raise DomainError(Error.LISTING_NOT_FOUND) from None
    found = _BUYABLE_LISTING.objects(pk) if holds_id(pk) else []
    if not found:
        raise DomainError(Error.LISTING_NOT_FOUND)
    listing = found[0]
    assert isinstance(listing, Listing)
    if listing.status != "active" or listing.shop.status == ShopStatus.SUSPENDED:
        raise DomainError(Error.LISTING_NOT_FOUND)
    if listing.shop.owner_id == user.pk:
        raise DomainError(Error.ORDER_OWN_SHOP)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not (1 <= quantity <= MAX_QUANTITY):
        raise DomainError(Error.ORDER_QUANTITY_INVALID, param="quantity")
    if listing.kind != "card_key" and quantity != 1:
        raise DomainError(Error.ORDER_QUANTITY_ONE_ONLY, param="quantity")
    if listing.special_terms and not accept_special_terms:
        raise DomainError(Error.SPECIAL_TERMS_NOT_ACCEPTED, param="accept_special_terms")
    if listing.kind == "direct_topup" and not (topup_target or "").strip():
        raise DomainError(Error.ORDER_TOPUP_TARGET_REQUIRED, param="topup_target")
    return listing


# The listing with its shop and the shop's owner (the purchase tells them: notify.listeners, the
# new-order notification), in a fixed statement compiled once (kameng.compiled).
_BUYABLE_LISTING = PreparedObjects(lambda pk: Listing.objects.select_related("shop__owner").filter(pk=pk)[:1], arity=1)


def new_order(
    user: User,
    listing: Listing,
    quantity: int,
    accept_special_terms: bool,
    topup_target: str,
    now,
    *,
    save_number: bool = True,
):
    """The order row, in the table's NEW state until the purchase or checkout row runs. Its number
    comes from its id; save_number=False leaves storing it to the caller's next save of the row."""
    version = current_version(listing)
    amount = listing.price * quantity
    deposit = math.ceil(amount * listing.deposit_percent / 100) if listing.deposit_percent else amount
    order = Order(
        buyer=user,
        shop=listing.shop,
        listing=listing,
        listing_version=version,
        snapshot=version.data,
        snapshot_sha256=version.sha256,
        quantity=quantity,
        amount=amount,
        deposit_amount=deposit if listing.deposit_percent else 0,
        balance_due=amount - deposit,
        special_terms_accepted=bool(accept_special_terms and listing.special_terms),
        special_terms_confirmation=(
            terms_confirmation(version.data["special_terms"], now)
            if accept_special_terms and version.data.get("special_terms")
            else None
        ),
        topup_target=(topup_target or "").strip()[:120],
        created_at=now,
    )
    insert_rows(Order, [order])  # the INSERT `create` writes (the model has no save hooks), in fixed text
    order.number = f"KM{now:%Y%m%d}{order.pk:08d}"
    if save_number:
        order.save(update_fields=["number"])
    return order


# 消费者权益保护法 第二十四条: goods that fail quality requirements may be returned within 7 days of
# receipt whatever was agreed. Online goods are received when they can be retrieved (电子商务法
# 第五十一条): for kameng that is delivery (card keys at payment, anything else when the merchant delivers).
QUALITY_CLAIM_DAYS = 7


def after_sale_end(snapshot: dict, delivered_at: datetime) -> datetime:
    """The order's after-sale window: the later of the listing's own and the 7-day quality floor."""
    return delivered_at + timedelta(days=max(snapshot["after_sale_days"], QUALITY_CLAIM_DAYS))


def claim_window_end(order: Order, *, quality: bool) -> datetime | None:
    """When a claim on `order` may last be made: a quality claim within 7 days of delivery whatever the
    listing says; a no-reason one only within the listing's own after_sale_days. None: not delivered."""
    if order.delivered_at is None:
        return None
    own = order.delivered_at + timedelta(days=order.snapshot["after_sale_days"])
    if not quality:
        return own
    return max(own, order.delivered_at + timedelta(days=QUALITY_CLAIM_DAYS), order.after_sale_until or own)


def take_stock(order: Order, now, *, reserve: bool = False) -> list[int]:
    """The order's card keys out of the free stock, in the listing's delivery order: delivered now,
    or only reserved for a direct checkout (409 out_of_stock when too few). Returns the stock items' ids."""
    items = stock.take(order.listing, order.quantity, order, None if reserve else now)
    if items is None:
        raise DomainError(Error.OUT_OF_STOCK)
    return [i.pk for i in items]


# ---- delivery and confirmation ---------------------------------------------------------------


def deliver_replacement(order: Order, *, content: str, now) -> tuple[list[int], str]:
    """补发/换货 in a refund case: a card-key order gets the next key(s) from stock (secret like any
    stock item: only the parties see it, in the order's delivery); any other kind gets `content`,
    added to the delivery under a 补发 heading. The case keeps holding the escrow, but its release
    window starts again from now (Event.REDELIVERED): accepting a replacement on the last day of the
    old window must not release the money a minute later, before the buyer could check the new key.
    Caller holds the order lock. Returns (the stock item ids, the content)."""
    if order.snapshot["kind"] == "card_key":
        items, content = take_stock(order, now), ""
    else:
        content = (content or "").strip()
        if not content or len(content) > 20_000:
            raise DomainError(Error.DELIVERY_CONTENT_INVALID, param="content")
        items = []
        order.delivery_content = "\n\n".join(p for p in (order.delivery_content, f"【补发】\n{content}") if p)
        order.save(update_fields=["delivery_content"])
    if lifecycle.allows(state_of(order), Event.REDELIVERED, Actor.SYSTEM):  # not before the first delivery
        transition(order, Event.REDELIVERED, actor=Actor.SYSTEM, user=None, now=now)
    return items, content


def deliver(order: Order, *, acting_user: User, content: str) -> Order:
    """发货 by hand (not card keys: those leave stock at purchase). A staged payment's balance goes
    into escrow first: while the buyer's wallet cannot cover it, nothing changes, the buyer is told."""
    actor = party_for(order, acting_user, Event.DELIVERED)
    content = (content or "").strip()
    if not content or len(content) > 20_000:
        raise DomainError(Error.DELIVERY_CONTENT_INVALID, param="content")
    now = clock_now()
    try:
        with transaction.atomic():
            order = _lock(order)
            if order.listing.kind == "card_key":
                raise DomainError(Error.DELIVERY_AUTOMATIC)
            transition(order, Event.DELIVERED, actor=actor, user=acting_user, now=now, move=Move(content=content))
    except DomainError as exc:
        if exc.error is not Error.INSUFFICIENT_FUNDS:
            raise
        _tell_buyer_the_balance_is_unpaid(order, now)
        raise DomainError(Error.BALANCE_UNPAID, amount=plain_yuan(order.balance_due)) from exc
    return order


def _tell_buyer_the_balance_is_unpaid(order: Order, now) -> None:
    template = (
        "订单 {order}：商家准备发货，但您的钱包余额不足以支付尾款 {balance}。"
        "请充值后在订单页点击“支付尾款”，商家才能发货。"
    )
    notices.send(
        order.buyer, order, "balance_unpaid", template, {"order": order.number, "balance": order.balance_due}, now
    )


def pay_balance(order: Order, *, acting_user: User) -> Order:
    """付尾款: the buyer moves a staged payment's balance into escrow before delivery (402 if short)."""
    actor = party_for(order, acting_user, Event.BALANCE_PAID)
    now = clock_now()
    with transaction.atomic():
        order = _lock(order)
        transition(order, Event.BALANCE_PAID, actor=actor, user=acting_user, now=now)
    return order


def confirm(order: Order, *, acting_user: User) -> Order:
    """确认收货: the buyer releases the escrow (a staged payment's balance first)."""
    actor = party_for(order, acting_user, Event.CONFIRMED)
    now = clock_now()
    with transaction.atomic():
        order = _lock(order)
        transition(order, Event.CONFIRMED, actor=actor, user=acting_user, now=now)
    return order


# ---- escrow ----------------------------------------------------------------------------------


def release_due_escrow(order_id: int, now) -> None:
    """Timer: the verification window ended; release unless a case froze the escrow.

    No savepoint of its own: the sweeper runs it inside a batch (which rolls back and reruns its
    timers one by one if any fails) or inside a savepoint per timer, and otherwise this is the
    transaction."""
    with transaction.atomic(savepoint=False):
        order = Order.objects.select_for_update(of=("self",)).select_related("shop", "buyer").get(pk=order_id)
        transition(order, Event.RELEASE_DUE, actor=Actor.SYSTEM, user=None, now=now)


def release_due_escrows(order_ids: list[int], now) -> list[int]:
    """Timer, a bite at once: `release_due_escrow` for each of these orders, in a few statements for
    all of them. Returns the orders left to `release_due_escrow` one by one (the sweeper runs those).

    The same table row and checks as `transition`: each order is locked (one statement, in id order),
    its row for (state, RELEASE_DUE, SYSTEM) is found with the same facts; no row is a stale timer and
    nothing happens, as one by one. An order whose row does more than release escrow — a balance (尾款)
    still due, or a warranty (找回包赔) that keeps a share and arms its timer — is left to the one-by-one
    path, as is an order that is not there (it raises there, and the sweep rolls back), and so is
    every later order of the same merchant: a merchant's releases then still run in the timers' order
    (the one-by-one path runs the left ones after these), and each recovers the merchant's debt
    (先行赔付) exactly as one by one. The rest move together (`_release_many`). Runs inside the sweep's batch, which rolls back and reruns its timers
    one by one if anything here raises.
    """
    with transaction.atomic(savepoint=False), read_policy_once():
        found = _lock_for_release(order_ids)
        left, moving, waiting = [], [], set()  # waiting: merchants with an order left before this one

        def leave(order_id: int, order: Order | None) -> None:
            left.append(order_id)
            if order is not None:
                waiting.add(order.shop.owner_id)

        for order_id in order_ids:
            order = found.get(order_id)
            if order is None or order.balance_due or (order.warranty_until is not None and now < order.warranty_until):
                leave(order_id, order)
                continue
            row = lifecycle.find(state_of(order), Event.RELEASE_DUE, Actor.SYSTEM, _facts(order, now, Move()))
            if row is None:
                continue  # stale: the escrow froze or was released, or it is early
            if row.effects != lifecycle.TIMED_RELEASE or row.arms or order.shop.owner_id in waiting:
                leave(order_id, order)
                continue
            moving.append((order, row))
        if moving:
            _release_many(moving, now)
    return left


# What the batch release reads of each order, and all it reads: the guards' facts, the state, the
# release's entry (number, the category's commission), and what the order events' listeners read of
# an escrow_released (notify: the webhook's order data). tests/orders/test_release_batch.py checks that
# a batch reads no order row but in its one locking statement (a deferred field would load itself).
_RELEASE_FIELDS = (
    "id",
    "number",
    "shop_id",
    "listing_id",
    "quantity",
    "amount",
    "balance_due",
    "refunded_amount",
    "status",
    "escrow_status",
    "release_at",
    "warranty_until",
    "payment_expires_at",
)


def _lock_for_release(order_ids: list[int]) -> dict[int, Order]:
    """The orders, locked in id order (their row only), as objects of `_RELEASE_FIELDS` with their shop's
    owner (the merchant's accounts) and the commission of their category known: not the whole row (the
    snapshot's JSON, the delivery) nor the shop's, which building cost ~10% of a release's CPU. The
    objects are built as from_db builds them, without Model.__init__ (`kameng.compiled.loaded`); the
    commission is asked of the policy once per category."""
    alias = connection.alias
    found: dict[int, Order] = {}
    commissions: dict[str, int] = {}
    for *values, owner_id, category in _locked_for_release(order_ids):
        order = loaded(Order, _RELEASE_FIELDS, values, alias)
        _SHOP.set_cached_value(order, loaded(Shop, ("id", "owner_id"), (order.shop_id, owner_id), alias))
        bp = commissions.get(category)
        if bp is None:
            bp = commissions[category] = escrow.know_category(order, category)
        else:
            escrow.know_commission(order, bp)
        found[order.pk] = order
    return found


def _locked_for_release(order_ids: list[int]) -> list[tuple]:
    """`_lock_for_release`'s rows: `_RELEASE_FIELDS`, the shop's owner, the snapshot's category. On
    PostgreSQL one statement of fixed text (`_RELEASE_READ`, the ids in one array literal): the ORM
    compiled this values_list anew every batch, and psycopg adapted the id array value by value
    (`array_literal`)."""
    if connection.vendor != "postgresql":
        return list(
            Order.objects.select_for_update(of=("self",))
            .filter(pk__any=order_ids)
            .order_by("pk")
            .values_list(*_RELEASE_FIELDS, "shop__owner_id", KT("snapshot__category"))
        )
    with connection.cursor() as cursor:
        cursor.execute(_release_read(), [array_literal(order_ids)])
        return cursor.fetchall()


@functools.cache
def _release_read() -> str:
    """The statement the ORM writes for `_locked_for_release` on PostgreSQL, written once."""
    quote, order, shop = connection.ops.quote_name, Order._meta, Shop._meta

    def column(meta, name: str) -> str:
        return quote(str(meta.get_field(name).column))

    columns = ", ".join(f"o.{column(order, name)}" for name in _RELEASE_FIELDS)
    return (
        f"SELECT {columns}, s.{column(shop, 'owner')}, o.{column(order, 'snapshot')} ->> 'category' "
        f"FROM {quote(order.db_table)} AS o JOIN {quote(shop.db_table)} AS s ON s.{column(shop, 'id')} = o.{column(order, 'shop')} "
        f"WHERE o.{column(order, 'id')} = ANY(%s::bigint[]) ORDER BY o.{column(order, 'id')} FOR UPDATE OF o"
    )


_SHOP = Order._meta.get_field("shop")


def _release_many(moving: list[tuple[Order, lifecycle.Row]], now) -> None:
    """`transition` for release rows (COLLECT_BALANCE with nothing due, then RELEASE), for many orders:
    one INSERT for the events, one UPDATE for the orders, then the money in one ledger batch — last,
    so the merchants' accounts (and the one commission account every release credits) are locked
    only for the batch's final statements; a second sweeper waits for them briefly, not for the
    whole batch.

    The row's cancel of the release timer is the running timer's own (the sweep marks it done), as
    `timers.cancel` from inside its handler does one by one; the rows arm nothing (checked above)."""
    orders = [order for order, _ in moving]
    escrows = escrow.lock_escrows(orders)
    released = [escrows[ledger.escrow_code(order.pk)].balance for order in orders]
    for order, row in moving:
        _enter(order, row)
        order.completed_at = now
    _store_released(orders, now)
    append_events(
        [
            (order, Effect.RELEASE.writes, None, {"amount": amount})
            for order, amount in zip(orders, released, strict=True)
        ],
        now,
    )
    escrow.release_many(orders, escrows, actor="system", now=now)


def _store_released(orders: list[Order], now) -> None:
    """One UPDATE … FROM (VALUES (id, status, escrow_status), …) for the released orders (PostgreSQL,
    SQLite ≥ 3.33): the states `_enter` set, and completed_at, the columns transition() saves."""
    table = connection.ops.quote_name(Order._meta.db_table)
    rows, params = packed_rows(
        ("bigint", "text", "text"), [(order.pk, str(order.status), str(order.escrow_status)) for order in orders]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} SET "status" = v.column2, "escrow_status" = v.column3, "completed_at" = %s '
            f'FROM ({rows}) AS v WHERE {table}."id" = v.column1',
            [connection.ops.adapt_datetimefield_value(now), *params],
        )


def freeze_escrow(order: Order, now) -> None:
    """A refund case opened: nothing leaves escrow until it closes. Caller holds the order lock."""
    transition(order, Event.CASE_OPENED, actor=Actor.SYSTEM, user=None, now=now)


def unfreeze_escrow(order: Order, now) -> None:
    """The case closed: release now if the window is over, else wait for it; settle a fully refunded order.
    A warranty that ended while the case held the order releases its share now."""
    transition(order, Event.CASE_CLOSED, actor=Actor.SYSTEM, user=None, now=now)
    transition(order, Event.WARRANTY_DUE, actor=Actor.SYSTEM, user=None, now=now)


def release_warranty(order_id: int, now) -> None:
    """Timer (through aftersales, which first checks that no case holds the order): 找回包赔 ended."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("shop", "buyer").get(pk=order_id)
        transition(order, Event.WARRANTY_DUE, actor=Actor.SYSTEM, user=None, now=now)


def refund_to_buyer(order: Order, amount: int, *, key: str, now, case_id=None, actor: str = "system") -> bool:
    """Return `amount` to the buyer, exactly once per key. Caller holds the order lock.

    From escrow first; once escrow was released, from the merchant's wallet; where that is short
    the platform advances the rest (先行赔付) and books it as the merchant's debt. The money lands
    in the buyer's wallet; for an order a gateway paid it goes on by the original route (原路退回,
    up to what that payment has left), so a wallet-paid order's refund stays in the wallet.
    """
    refundable = order.refundable_amount
    if amount <= 0 or amount > refundable:
        raise DomainError(Error.ORDER_REFUND_EXCEEDS_REFUNDABLE, param="amount")
    move = Move(amount=amount, key=key, case_id=case_id, ledger_actor=actor)
    moved = transition(order, Event.REFUNDED, actor=Actor.SYSTEM, user=None, now=now, move=move)
    paid_by_gateway = _gateway_payment(order)
    if moved and paid_by_gateway is not None:
        back = min(amount, paid_by_gateway.amount - paid_by_gateway.refunded_amount)
        if back > 0:
            payments.refund_payment(paid_by_gateway, back, key=key, now=now, reason=f"order {order.number}")
    return moved


@dataclass(frozen=True)
class Settlement:
    """A case's refund and its closing on one locked order (`refund_to_buyer`, then `unfreeze_escrow`),
    for `refund_and_close_many`: the table's two rows, chosen by `plain_settlement`."""

    refund: escrow.Refund
    refunded: lifecycle.Row  # REFUNDED: the refund takes what the frozen escrow holds
    closed: lifecycle.Row  # CASE_CLOSED: the order is settled


def plain_settlement(order: Order, amount: int, *, key: str, case_id: int, now) -> Settlement | None:
    """A case's refund of `amount` (under `key`) and closing on the locked order, for
    `refund_and_close_many`, when the table's rows for them are that batch's shape (`_settlement_rows`)."""
    rows = _settlement_rows(order, amount, now)
    return None if rows is None else Settlement(escrow.Refund(order, amount, key, case_id), *rows)


def _settlement_rows(order: Order, amount: int, now) -> tuple[lifecycle.Row, lifecycle.Row] | None:
    """The table's rows for refunding `amount` of the locked order and then closing its case, when
    they are the shape `refund_and_close_many` writes: the refund takes everything left in a frozen
    escrow, the closing settles the order (completed_at), no row moves a timer, and the warranty's
    release finds nothing to do after them. None otherwise (the caller goes one by one)."""
    if order.balance_due or not 0 < amount <= order.refundable_amount:
        return None
    facts = _facts(order, now, Move(amount=amount))
    refunded = lifecycle.find(state_of(order), Event.REFUNDED, Actor.SYSTEM, facts)
    if refunded is None or refunded.effects != lifecycle.REFUND or refunded.target != lifecycle.REFUNDED_FROZEN:
        return None
    after = replace(facts, refunded=order.refunded_amount + amount, amount=0)
    closed = lifecycle.find(refunded.target, Event.CASE_CLOSED, Actor.SYSTEM, after)
    if closed is None or closed.effects != (Effect.SETTLE,) or closed.arms or closed.cancels or refunded.arms:
        return None
    if refunded.cancels or lifecycle.find(closed.target, Event.WARRANTY_DUE, Actor.SYSTEM, after) is not None:
        return None
    return refunded, closed


def _gateway_payment(order: Order):
    """The gateway payment that paid this order, if one did. Only a direct checkout opens one, and it
    sets the order's pay_with to its gateway in the same transaction: a wallet purchase has none to read."""
    if order.pay_with == WALLET:
        return None
    return payments.payment_for(ORDER_PAYMENT, str(order.pk))


def paid_by_gateway(orders: list[Order]) -> set[int]:
    """The orders among these that a payment gateway paid (their refunds go back by that route), in one
    read of those a direct checkout opened (`_gateway_payment`)."""
    checkouts = [str(order.pk) for order in orders if order.pay_with != WALLET]
    refs = payments.paid_refs(ORDER_PAYMENT, checkouts) if checkouts else set()
    return {order.pk for order in orders if str(order.pk) in refs}


def refund_and_close_many(settlements: list[Settlement], now) -> None:
    """`refund_to_buyer` and then `unfreeze_escrow` for each of these locked orders, none paid by a
    gateway, in the given order: the same entries, events and order rows, in a few statements for all.

    The refunds go through one ledger batch (`escrow.refund_many`: AlreadyPosted when a key was posted
    before, and nothing may commit); each order's two events (refunded, escrow_closed) are appended in
    one INSERT for all, and the orders' rows stored in one UPDATE, with the fields the two rows set."""
    splits = escrow.refund_many([s.refund for s in settlements], actor="system", now=now)
    events: list[tuple[Order, str, User | None, dict]] = []
    for s, split in zip(settlements, splits, strict=True):
        order, refund = s.refund.order, s.refund
        _enter(order, s.refunded)
        order.refunded_amount += refund.amount
        events.append(
            (
                order,
                Effect.REFUND.writes,
                None,
                {"amount": refund.amount, "advanced": split.advanced, "case": refund.case_id},
            )
        )
        _enter(order, s.closed)
        order.completed_at = now
        events.append((order, Effect.SETTLE.writes, None, {}))
    append_events(events, now)
    update_rows(
        Order, [s.refund.order for s in settlements], ["status", "escrow_status", "refunded_amount", "completed_at"]
    )


# ---- chat ----------------------------------------------------------------------------------


def post_message(order: Order, *, acting_user: User, body: str) -> Message:
    if acting_user.pk not in (order.buyer_id, order.shop.owner_id):
        raise DomainError(Error.MESSAGE_PARTIES_ONLY)
    body = (body or "").strip()
    if not body or len(body) > 5000:
        raise DomainError(Error.MESSAGE_BODY_INVALID, param="body")
    with transaction.atomic():
        message = Message.objects.create(
            order=order, author=acting_user, body=body, flags=message_flags(body), created_at=clock_now()
        )
        message_posted(message)
    return message


# ---- export --------------------------------------------------------------------------------

EXPORT_HEADER = [
    "订单号",
    "下单时间",
    "商品",
    "类目",
    "数量",
    "金额(元)",
    "已退款(元)",
    "订单状态",
    "担保状态",
    "店铺",
    "买家",
]


def export_orders(user: User) -> bytes:
    """The caller's orders as CSV, newest first, read in chunks."""
    orders = visible_orders(user).select_related("shop", "buyer").order_by("-pk")
    return export_csv(orders.iterator(chunk_size=500))


def export_csv(orders) -> bytes:
    """UTF-8 with BOM so Excel opens the Chinese columns correctly; user text cannot run as a formula."""
    return csv_document(
        EXPORT_HEADER,
        (
            [
                o.number,
                o.created_at.isoformat(),
                csv_safe(o.snapshot["title"]),
                o.snapshot["category"],
                o.quantity,
                plain_yuan(o.amount),
                plain_yuan(o.refunded_amount),
                o.status,
                o.escrow_status,
                csv_safe(o.shop.name),
                csv_safe(o.buyer.username),
            ]
            for o in orders
        ),
    )
