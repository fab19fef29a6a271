"""免注册购买 and 查单: POST /guest/orders and POST /guest/lookup (no token; rate-limited per address,
and the lookup per order number too). The use cases are kameng.orders.guest."""

from typing import Annotated

from django.utils import translation
from ninja import Router, Schema, Status

from kameng.errors import Error
from kameng.orders import checkout, guest
from kameng.security import ratelimit

from .contract import IdIn, Integer, Out, enum_of, raises
from .orders import OrderOut, order_out

router = Router(tags=["orders"])  # guest orders are orders


class GuestOrderIn(Schema):
    listing: IdIn
    contact: str  # an email address or a mainland mobile number
    query_password: str
    pay_with: Annotated[str, enum_of(*checkout.GATEWAYS)]  # a gateway: a guest has no wallet
    quantity: Integer = 1
    accept_special_terms: bool = False
    topup_target: str | None = None


class LookupIn(Schema):
    number: str
    query_password: str


class GuestOrderOut(Out):
    order: OrderOut
    lookup_token: str  # a bearer token for this one order: its page, its chat, POST /refunds for it


def _found(order, token: str) -> dict:
    return {"order": order_out(order, order.buyer), "lookup_token": token}


@router.post("/guest/orders", response={201: GuestOrderOut}, auth=None)
@raises(Error.GUEST_CONTACT_INVALID, Error.GUEST_PASSWORD_INVALID, Error.ORDER_PAY_WITH_INVALID)
@raises(Error.PAYMENT_GATEWAY_OFF, Error.LISTING_NOT_FOUND, Error.OUT_OF_STOCK, Error.ORDER_QUANTITY_INVALID)
@raises(Error.SPECIAL_TERMS_NOT_ACCEPTED, Error.ORDER_TOPUP_TARGET_REQUIRED, Error.ORDER_QUANTITY_ONE_ONLY)
def create_guest_order(request, payload: GuestOrderIn):
    """免注册购买: a direct checkout without an account; answers the order and its lookup_token."""
    ratelimit.enforce(("guest_checkout_ip", ratelimit.client_ip(request)))
    order, token = guest.place_order(
        listing_id=payload.listing,
        contact=payload.contact,
        query_password=payload.query_password,
        pay_with=payload.pay_with,
        quantity=payload.quantity,
        accept_special_terms=payload.accept_special_terms,
        topup_target=payload.topup_target or "",
        language=translation.get_language(),
    )
    return Status(201, _found(order, token))


@router.post("/guest/lookup", response=GuestOrderOut, auth=None)
@raises(Error.GUEST_ORDER_NOT_FOUND)
def look_up_guest_order(request, payload: LookupIn):
    """查单: the order with this number and query password and a new lookup_token (wrong or unknown: 404)."""
    number = payload.number.strip().upper()[:32]
    ratelimit.enforce(("guest_lookup_ip", ratelimit.client_ip(request)), ("guest_lookup_order", number))
    order, token = guest.look_up(number=number, query_password=payload.query_password)
    return _found(order, token)
