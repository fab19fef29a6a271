"""Orders, delivery, confirmation, chat and export endpoints (HTTP only: the use cases are orders.services)."""

from typing import Annotated

from django.http import HttpResponse
from ninja import Router, Schema, Status
from ninja.security import django_auth

from kameng.accounts.models import Role
from kameng.api.base import bearer, iso, order_bearer, paginate
from kameng.errors import DomainError, Error
from kameng.notify import webhooks
from kameng.orders import checkout, services
from kameng.orders.lifecycle import EscrowStatus, OrderStatus
from kameng.orders.models import Message, Order
from kameng.policy.defaults import CategoryClass

from .catalog import Category, Kind, ListingWarning
from .contract import (
    Currency,
    Cursor,
    Fen,
    Id,
    IdIn,
    Integer,
    Limit,
    Out,
    PathId,
    Timestamp,
    download,
    enum_of,
    page_of,
    raises,
)

router = Router(tags=["orders"])


class OrderIn(Schema):
    listing: IdIn
    quantity: Integer = 1
    accept_special_terms: bool = False
    topup_target: str | None = None
    pay_with: Annotated[str, enum_of(checkout.WALLET, *checkout.GATEWAYS)] = (
        checkout.WALLET
    )  # a gateway: direct checkout


class DeliverIn(Schema):
    content: str


class MessageIn(Schema):
    body: str


class SnapshotOut(Out):
    """What the buyer bought, frozen at purchase (its SHA-256 is evidence)."""

    title: str
    description: str
    promises: list[str]
    price: Fen
    no_reason_refund: bool
    special_terms: list[str]
    category: Category
    category_class: Annotated[str, enum_of(CategoryClass)]
    kind: Kind
    after_sale_days: int
    verification_minutes: int
    deposit_percent: int | None
    warnings: list[ListingWarning]
    sha256: str


class EscrowOut(Out):
    status: Annotated[str, enum_of("", EscrowStatus)]  # "" while awaiting payment or cancelled: no escrow yet
    amount: Fen
    release_at: Timestamp | None
    warranty_until: Timestamp | None = None  # 找回包赔: the kept share is held until then


class DeliveryOut(Out):
    items: list[str]
    content: str | None


class TermsConfirmationOut(Out):
    """Exactly the special terms the buyer confirmed for this order, their SHA-256 and when."""

    terms: list[str]
    sha256: str
    confirmed_at: Timestamp


class PaymentOut(Out):
    """A direct checkout's gateway payment: where to pay and until when (the stock is reserved until then)."""

    gateway: Annotated[str, enum_of(*checkout.GATEWAYS)]
    out_trade_no: str
    pay_url: str
    code_url: str | None  # WeChat Native: the QR code's content
    expires_at: Timestamp | None
    status: Annotated[str, enum_of("pending", "succeeded")]


class OrderOut(Out):
    id: Id
    number: str
    buyer: Id
    shop: Id
    listing: Id
    listing_version: int
    snapshot: SnapshotOut
    quantity: int
    amount: Fen
    currency: Currency
    status: Annotated[str, enum_of(OrderStatus)]
    escrow: EscrowOut
    deposit_amount: Fen
    balance_due: Fen
    refunded_amount: Fen
    special_terms_accepted: bool
    special_terms_confirmation: TermsConfirmationOut | None
    topup_target: str | None
    pay_with: Annotated[str, enum_of(checkout.WALLET, *checkout.GATEWAYS)]
    payment: PaymentOut | None  # a direct checkout's (None for a wallet purchase)
    delivery: DeliveryOut | None  # the buyer and the shop's merchant only
    delivered_at: Timestamp | None
    after_sale_until: Timestamp | None
    created_at: Timestamp


class MessageOut(Out):
    id: Id
    author: Id
    author_role: Annotated[str, enum_of(Role)]
    body: str
    created_at: Timestamp
    flags: list[Annotated[str, enum_of("off_platform_payment")]]


def order_out(order: Order, user) -> dict:
    snap = order.snapshot
    delivery = None
    if services.can_see_delivery(order, user) and order.delivered_at:
        # sorted() rather than order_by() so a list's prefetched rows are used.
        delivery = {
            "items": [s.secret for s in sorted(order.stock_items.all(), key=lambda s: s.pk)],
            "content": order.delivery_content,
        }
    escrow_amount = services.escrow_balance(order)
    return {
        "id": str(order.pk),
        "number": order.number,
        "buyer": str(order.buyer_id),
        "shop": str(order.shop_id),
        "listing": str(order.listing_id),
        "listing_version": order.listing_version.version,
        "snapshot": {
            "title": snap["title"],
            "description": snap["description"],
            "promises": snap["promises"],
            "price": snap["price"],
            "no_reason_refund": snap["no_reason_refund"],
            "special_terms": snap["special_terms"],
            "category": snap["category"],
            "category_class": snap["category_class"],
            "kind": snap["kind"],
            "after_sale_days": snap["after_sale_days"],
            "verification_minutes": snap["verification_minutes"],
            "deposit_percent": snap["deposit_percent"],
            "warnings": snap.get("warnings", []),
            "sha256": order.snapshot_sha256,
        },
        "quantity": order.quantity,
        "amount": order.amount,
        "currency": "CNY",
        "status": order.status,
        "escrow": {
            "status": order.escrow_status,
            "amount": escrow_amount,
            "release_at": iso(order.release_at),
            "warranty_until": iso(order.warranty_until),  # 找回包赔: the kept share is held until then
        },
        "deposit_amount": order.deposit_amount,
        "balance_due": order.balance_due,
        "refunded_amount": order.refunded_amount,
        "special_terms_accepted": order.special_terms_accepted,
        "special_terms_confirmation": order.special_terms_confirmation,
        "topup_target": order.topup_target or None,
        "pay_with": order.pay_with,
        "payment": payment_out(order),
        "delivery": delivery,
        "delivered_at": iso(order.delivered_at),
        "after_sale_until": iso(order.after_sale_until),
        "created_at": iso(order.created_at),
    }


def payment_out(order: Order) -> dict | None:
    payment = checkout.payment_of(order)
    if payment is None:
        return None
    return {
        "gateway": payment.gateway,
        "out_trade_no": payment.out_trade_no,
        "pay_url": payment.pay_url,
        "code_url": payment.code_url or None,
        "expires_at": iso(order.payment_expires_at),
        "status": payment.status,
    }


def message_out(message: Message) -> dict:
    return {
        "id": str(message.pk),
        "author": str(message.author_id),
        "author_role": message.author.role,
        "body": message.body,
        "created_at": iso(message.created_at),
        "flags": message.flags,
    }


@router.post("/orders", response={201: OrderOut})
@raises(Error.ORDER_BUYER_ONLY, Error.ORDER_OWN_SHOP, Error.ORDER_QUANTITY_INVALID, Error.ORDER_QUANTITY_ONE_ONLY)
@raises(Error.SPECIAL_TERMS_NOT_ACCEPTED, Error.ORDER_TOPUP_TARGET_REQUIRED, Error.LISTING_NOT_FOUND)
@raises(Error.INSUFFICIENT_FUNDS, Error.OUT_OF_STOCK)
@raises(Error.ORDER_PAY_WITH_INVALID, Error.PAYMENT_GATEWAY_OFF, Error.TOO_MANY_UNPAID_ORDERS)
def create_order(request, payload: OrderIn):
    """A buyer buys a listing: from the wallet into escrow at once (card keys deliver at once), or through
    a gateway (`pay_with`): `awaiting_payment` with the stock reserved until `payment.expires_at`."""
    terms = {
        "acting_user": request.auth,
        "listing_id": payload.listing,
        "quantity": payload.quantity,
        "accept_special_terms": payload.accept_special_terms,
        "topup_target": payload.topup_target or "",
    }
    if payload.pay_with == checkout.WALLET:
        with webhooks.read_once():  # order.paid and order.delivered go to the same merchant's endpoints
            order = services.purchase(**terms)
    else:
        order = checkout.start_checkout(**terms, pay_with=payload.pay_with)
    return Status(201, order_out(order, request.auth))


@router.get("/orders", response=page_of(OrderOut))
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def list_orders(
    request,
    status: Annotated[str, enum_of(OrderStatus)] | None = None,
    limit: Limit = 20,
    starting_after: Cursor = None,
):
    """The caller's orders (a buyer's own, a merchant's shop's), newest first."""
    orders = services.list_orders(request.auth, status=status or "")
    return paginate(orders, limit, starting_after, lambda o: order_out(o, request.auth))


@router.get(
    "/orders/export",
    auth=[bearer, django_auth],  # the pages link to it with their session
    openapi_extra=download("text/csv", "The caller's orders as CSV (UTF-8)"),
)
@raises(Error.EXPORT_FORMAT_UNSUPPORTED)
def export_orders(request, format: Annotated[str, enum_of("csv")] = "csv"):
    """The caller's orders as a CSV download."""
    user = request.auth
    if format != "csv":
        raise DomainError(Error.EXPORT_FORMAT_UNSUPPORTED, param="format")
    response = HttpResponse(services.export_orders(user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kameng-orders.csv"'
    return response


@router.get("/orders/{order_id}", response=OrderOut, auth=order_bearer)  # a guest's lookup_token too
@raises(Error.ORDER_NOT_FOUND)
def get_order(request, order_id: PathId):
    """One order the caller may see (its delivery only for the buyer and the shop's merchant)."""
    return order_out(services.get_order_for(order_id, request.auth), request.auth)


@router.post("/orders/{order_id}/deliver", response=OrderOut)
@raises(Error.DELIVERY_MERCHANT_ONLY, Error.DELIVERY_CONTENT_INVALID, Error.DELIVERY_AUTOMATIC)
@raises(Error.DELIVERY_NOT_ALLOWED, Error.BALANCE_UNPAID)
def deliver(request, order_id: PathId, payload: DeliverIn):
    """The merchant delivers an order that is not a `card_key` one."""
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.deliver(order, acting_user=request.auth, content=payload.content), request.auth)


@router.post("/orders/{order_id}/pay_balance", response=OrderOut)
@raises(Error.ORDER_NOT_FOUND, Error.INSUFFICIENT_FUNDS)
def pay_balance(request, order_id: PathId):
    """The buyer moves a staged order's balance into escrow now (402 when the wallet is short)."""
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.pay_balance(order, acting_user=request.auth), request.auth)


@router.post("/orders/{order_id}/confirm", response=OrderOut)
@raises(Error.CONFIRM_BUYER_ONLY, Error.CONFIRM_NOT_ALLOWED)
def confirm(request, order_id: PathId):
    """The buyer confirms receipt: the escrow is released to the merchant."""
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.confirm(order, acting_user=request.auth), request.auth)


@router.post("/orders/{order_id}/messages", response={201: MessageOut}, auth=order_bearer)
@raises(Error.MESSAGE_PARTIES_ONLY, Error.MESSAGE_BODY_INVALID)
def post_message(request, order_id: PathId, payload: MessageIn):
    """A message in the order's chat (cannot be edited or deleted; off-platform payment is flagged)."""
    order = services.get_order_for(order_id, request.auth)
    return Status(201, message_out(services.post_message(order, acting_user=request.auth, body=payload.body)))


@router.get("/orders/{order_id}/messages", response=page_of(MessageOut), auth=order_bearer)
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def list_messages(request, order_id: PathId, limit: Limit = 100, starting_after: Cursor = None):
    """The order's chat, oldest first within the page."""
    order = services.get_order_for(order_id, request.auth)
    page = paginate(order.messages.select_related("author"), limit, starting_after, message_out)
    page["data"].reverse()  # oldest first reads like a conversation
    return page
