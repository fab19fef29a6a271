"""Use cases for orders and their escrow. Money moves only through kameng.ledger, in the same
transaction as the order's state change, each movement under its own idempotency key."""

import csv
import io
import math
from datetime import timedelta

from django.db import connection, transaction

from kameng.accounts.models import Role, User
from kameng.catalog.models import Listing, ShopStatus, StockItem
from kameng.catalog.services import current_version
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind
from kameng.timers import services as timers

from . import escrow
from .escrow import RELEASE_TIMER, release_escrow
from .escrow import freeze_escrow as freeze_escrow  # the refund cases (aftersales) freeze escrow through here
from .escrow import unfreeze_escrow as unfreeze_escrow
from .events import append_event as _event
from .models import EscrowStatus, Message, Order, OrderStatus
from .offplatform import message_flags

MAX_QUANTITY = 100


def _lock(order: Order) -> Order:
    # of=self: lock the order row only. Locking the joined shop and listing rows too deadlocked
    # against concurrent purchases (their new orders reference both rows) on PostgreSQL.
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "listing").get(pk=order.pk)


# ---- reading -------------------------------------------------------------------------------


def visible_orders(user: User):
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


def get_order_for(order_id, user: User) -> Order:
    try:
        pk = int(order_id)
    except (TypeError, ValueError):
        raise DomainError(Error.ORDER_NOT_FOUND) from None
    order = visible_orders(user).select_related("shop", "listing", "buyer").filter(pk=pk).first()
    if order is None:
        raise DomainError(Error.ORDER_NOT_FOUND)
    return order


def can_see_delivery(order: Order, user: User) -> bool:
    return user.pk == order.buyer_id or user.pk == order.shop.owner_id


# ---- buying --------------------------------------------------------------------------------


def purchase(
    *, acting_user: User, listing_id, quantity: int = 1, accept_special_terms: bool = False, topup_target: str = ""
) -> Order:
    if acting_user.role != Role.BUYER:
        raise DomainError(Error.ORDER_BUYER_ONLY)
    try:
        listing = Listing.objects.select_related("shop").get(pk=int(listing_id))
    except (TypeError, ValueError, Listing.DoesNotExist):
        raise DomainError(Error.LISTING_NOT_FOUND) from None
    if listing.status != "active" or listing.shop.status == ShopStatus.SUSPENDED:
        raise DomainError(Error.LISTING_NOT_FOUND)
    if listing.shop.owner_id == acting_user.pk:
        raise DomainError(Error.ORDER_OWN_SHOP)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not (1 <= quantity <= MAX_QUANTITY):
        raise DomainError(Error.ORDER_QUANTITY_INVALID, param="quantity")
    if listing.kind != "card_key" and quantity != 1:
        raise DomainError(Error.ORDER_QUANTITY_ONE_ONLY, param="quantity")
    if listing.special_terms and not accept_special_terms:
        raise DomainError(Error.SPECIAL_TERMS_NOT_ACCEPTED, param="accept_special_terms")
    if listing.kind == "direct_topup" and not (topup_target or "").strip():
        raise DomainError(Error.ORDER_TOPUP_TARGET_REQUIRED, param="topup_target")
    now = clock_now()
    version = current_version(listing)
    amount = listing.price * quantity
    deposit = math.ceil(amount * listing.deposit_percent / 100) if listing.deposit_percent else amount
    with transaction.atomic():
        order = Order.objects.create(
            buyer=acting_user,
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
            topup_target=(topup_target or "").strip()[:120],
            created_at=now,
        )
        order.number = f"KM{now:%Y%m%d}{order.pk:08d}"
        order.save(update_fields=["number"])
        ledger.transfer(
            f"purchase:{order.pk}",
            EntryKind.PURCHASE,
            ledger.wallet_code(acting_user.pk),
            ledger.escrow_code(order.pk),
            deposit,
            order_id=order.pk,
            actor=acting_user.username,
            memo=f"订单 {order.number}",
        )
        _event(order, "paid", acting_user, now, amount=deposit)
        if listing.kind == "card_key":
            _deliver_from_stock(order, now)
    return order


def _deliver_from_stock(order: Order, now) -> None:
    qs = StockItem.objects.filter(listing_id=order.listing_id, order__isnull=True).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    items = list(qs[: order.quantity])
    if len(items) < order.quantity:
        raise DomainError(Error.OUT_OF_STOCK)
    ids = [i.pk for i in items]
    # The filter on order__isnull makes a double delivery impossible even without row locks.
    taken = StockItem.objects.filter(pk__in=ids, order__isnull=True).update(order=order, delivered_at=now)
    if taken != len(ids):
        raise DomainError(Error.OUT_OF_STOCK)
    _mark_delivered(order, None, now, content=None)


def _mark_delivered(order: Order, actor: User | None, now, content: str | None) -> None:
    snapshot = order.snapshot
    order.status = OrderStatus.DELIVERED
    order.delivered_at = now
    order.delivery_content = content
    order.after_sale_until = now + timedelta(days=snapshot["after_sale_days"])
    order.release_at = now + timedelta(minutes=snapshot["verification_minutes"])
    order.save()
    if order.balance_due:
        _collect_balance(order, actor, now, required=False)
    _event(order, "delivered", actor, now)
    if order.escrow_status == EscrowStatus.HELD:
        timers.schedule(RELEASE_TIMER, f"order:{order.pk}", order.release_at, now=now)


def _collect_balance(order: Order, actor: User | None, now, *, required: bool) -> None:
    """Staged payment: take the balance (尾款) from the buyer's wallet into escrow."""
    try:
        with transaction.atomic():
            ledger.transfer(
                f"balance:{order.pk}",
                EntryKind.PURCHASE_BALANCE,
                ledger.wallet_code(order.buyer_id),
                ledger.escrow_code(order.pk),
                order.balance_due,
                order_id=order.pk,
                actor=order.buyer.username,
                memo=f"订单 {order.number} 尾款",
            )
    except DomainError:
        if required:
            raise
        return
    _event(order, "balance_paid", actor, now, amount=order.balance_due)
    order.balance_due = 0
    order.save(update_fields=["balance_due"])


def deliver(order: Order, *, acting_user: User, content: str) -> Order:
    if acting_user.pk != order.shop.owner_id:
        raise DomainError(Error.DELIVERY_MERCHANT_ONLY)
    content = (content or "").strip()
    if not content or len(content) > 20_000:
        raise DomainError(Error.DELIVERY_CONTENT_INVALID, param="content")
    with transaction.atomic():
        order = _lock(order)
        if order.listing.kind == "card_key":
            raise DomainError(Error.DELIVERY_AUTOMATIC)
        if order.status != OrderStatus.PAID:
            raise DomainError(Error.DELIVERY_NOT_ALLOWED)
        _mark_delivered(order, acting_user, clock_now(), content=content)
    return order


def confirm(order: Order, *, acting_user: User) -> Order:
    if acting_user.pk != order.buyer_id:
        raise DomainError(Error.CONFIRM_BUYER_ONLY)
    now = clock_now()
    with transaction.atomic():
        order = _lock(order)
        if order.status != OrderStatus.DELIVERED or order.escrow_status != EscrowStatus.HELD:
            raise DomainError(Error.CONFIRM_NOT_ALLOWED)
        if order.balance_due:
            _collect_balance(order, acting_user, now, required=True)
        _event(order, "confirmed", acting_user, now)
        release_escrow(order, now, actor=acting_user)
    return order


# ---- escrow ----------------------------------------------------------------------------------


def release_due_escrow(order_id: int, now) -> None:
    """Timer: the verification window ended; release unless a case froze the escrow."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("shop").get(pk=order_id)
        if order.escrow_status != EscrowStatus.HELD or order.status != OrderStatus.DELIVERED:
            return
        if order.release_at and order.release_at > now:
            return
        if order.balance_due:
            _collect_balance(order, None, now, required=False)
        release_escrow(order, now)


def refund_to_buyer(order: Order, amount: int, *, key: str, now, case_id=None, actor: str = "system") -> bool:
    """Return `amount` to the buyer's wallet, exactly once per key. Caller holds the order lock.

    From escrow first; once escrow was released, from the merchant's wallet; where that is short
    the platform advances the rest (先行赔付) and books it as the merchant's debt.
    """
    refundable = order.paid_amount - order.refunded_amount
    if amount <= 0 or amount > refundable:
        raise DomainError(Error.ORDER_REFUND_EXCEEDS_REFUNDABLE, param="amount")
    split = escrow.refund(order, amount, key=key, case_id=case_id, actor=actor)
    if split is None:
        return False
    order.refunded_amount += amount
    # Against what was paid: a staged-payment order may still owe its balance (尾款).
    if order.refunded_amount >= order.paid_amount:
        order.status = OrderStatus.REFUNDED
        if order.escrow_status == EscrowStatus.RELEASED:
            order.escrow_status = EscrowStatus.REFUNDED  # clawed back in full after release
    elif order.status == OrderStatus.COMPLETED:
        order.status = OrderStatus.PARTIALLY_REFUNDED  # a refund after the escrow was released
    order.save(update_fields=["refunded_amount", "status", "escrow_status"])
    _event(order, "refunded", None, now, amount=amount, advanced=split.advanced, case=case_id)
    return True


# ---- chat ----------------------------------------------------------------------------------


def post_message(order: Order, *, acting_user: User, body: str) -> Message:
    if acting_user.pk not in (order.buyer_id, order.shop.owner_id):
        raise DomainError(Error.MESSAGE_PARTIES_ONLY)
    body = (body or "").strip()
    if not body or len(body) > 5000:
        raise DomainError(Error.MESSAGE_BODY_INVALID, param="body")
    return Message.objects.create(
        order=order, author=acting_user, body=body, flags=message_flags(body), created_at=clock_now()
    )


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


def export_csv(orders) -> bytes:
    """UTF-8 with BOM so Excel opens the Chinese columns correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for o in orders:
        writer.writerow(
            [
                o.number,
                o.created_at.isoformat(),
                _csv_safe(o.snapshot["title"]),
                o.snapshot["category"],
                o.quantity,
                _yuan(o.amount),
                _yuan(o.refunded_amount),
                o.status,
                o.escrow_status,
                _csv_safe(o.shop.name),
                _csv_safe(o.buyer.username),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _csv_safe(text: str) -> str:
    """Neutralize spreadsheet formulas in user text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
