"""Orders, delivery, confirmation, chat and export endpoints (HTTP only: the use cases are orders.services)."""

from django.http import HttpResponse
from ninja import Router, Schema, Status

from kameng.api.base import bearer, iso, order_bearer, paginate
from kameng.errors import DomainError, Error
from kameng.orders import checkout, services
from kameng.orders.models import Message, Order

router = Router(tags=["orders"])


class OrderIn(Schema):
    listing: str
    quantity: int = 1
    accept_special_terms: bool = False
    topup_target: str | None = None
    pay_with: str = checkout.WALLET  # or a gateway: a direct checkout, awaiting_payment


class DeliverIn(Schema):
    content: str


class MessageIn(Schema):
    body: str


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
    escrow = {"status": order.escrow_status, "amount": escrow_amount, "release_at": iso(order.release_at)}
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
        "escrow": escrow,
        "pay_with": order.pay_with,
        "payment": payment_out(order),
        "deposit_amount": order.deposit_amount,
        "balance_due": order.balance_due,
        "refunded_amount": order.refunded_amount,
        "special_terms_accepted": order.special_terms_accepted,
        "special_terms_confirmation": order.special_terms_confirmation,
        "topup_target": order.topup_target or None,
        "delivery": delivery,
        "delivered_at": iso(order.delivered_at),
        "after_sale_until": iso(order.after_sale_until),
        "created_at": iso(order.created_at),
    }


def payment_out(order: Order) -> dict | None:
    """A direct checkout's gateway payment: where to pay and until when (None for a wallet purchase)."""
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


@router.post("/orders", response={201: dict})
def create_order(request, payload: OrderIn):
    terms = {
        "acting_user": request.auth,
        "listing_id": payload.listing,
        "quantity": payload.quantity,
        "accept_special_terms": payload.accept_special_terms,
        "topup_target": payload.topup_target or "",
    }
    if payload.pay_with == checkout.WALLET:
        order = services.purchase(**terms)
    else:
        order = checkout.start_checkout(**terms, pay_with=payload.pay_with)
    return Status(201, order_out(order, request.auth))


@router.get("/orders", response=dict)
def list_orders(request, status: str = "", limit: int = 20, starting_after: str | None = None):
    orders = services.list_orders(request.auth, status=status)
    return paginate(orders, limit, starting_after, lambda o: order_out(o, request.auth))


@router.get("/orders/export", auth=None, include_in_schema=True)
def export_orders(request, format: str = "csv"):
    user = request.user if request.user.is_authenticated else None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = bearer.authenticate(request, header[7:].strip())
    if user is None:
        raise DomainError(Error.TOKEN_REQUIRED)
    if format != "csv":
        raise DomainError(Error.EXPORT_FORMAT_UNSUPPORTED, param="format")
    response = HttpResponse(services.export_orders(user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kameng-orders.csv"'
    return response


@router.get("/orders/{order_id}", response=dict, auth=order_bearer)
def get_order(request, order_id: str):
    return order_out(services.get_order_for(order_id, request.auth), request.auth)


@router.post("/orders/{order_id}/deliver", response=dict)
def deliver(request, order_id: str, payload: DeliverIn):
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.deliver(order, acting_user=request.auth, content=payload.content), request.auth)


@router.post("/orders/{order_id}/pay_balance", response=dict)
def pay_balance(request, order_id: str):
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.pay_balance(order, acting_user=request.auth), request.auth)


@router.post("/orders/{order_id}/confirm", response=dict)
def confirm(request, order_id: str):
    order = services.get_order_for(order_id, request.auth)
    return order_out(services.confirm(order, acting_user=request.auth), request.auth)


@router.post("/orders/{order_id}/messages", response={201: dict}, auth=order_bearer)
def post_message(request, order_id: str, payload: MessageIn):
    order = services.get_order_for(order_id, request.auth)
    return Status(201, message_out(services.post_message(order, acting_user=request.auth, body=payload.body)))


@router.get("/orders/{order_id}/messages", response=dict, auth=order_bearer)
def list_messages(request, order_id: str, limit: int = 100, starting_after: str | None = None):
    order = services.get_order_for(order_id, request.auth)
    page = paginate(order.messages.select_related("author"), limit, starting_after, message_out)
    page["data"].reverse()  # oldest first reads like a conversation
    return page
