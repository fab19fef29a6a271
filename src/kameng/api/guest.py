"""免注册购买 and 查单: POST /guest/orders and POST /guest/lookup (no token; rate-limited per address,
and the lookup per order number too). The use cases are kameng.orders.guest."""

from ninja import Router, Schema, Status

from kameng.orders import guest
from kameng.security import ratelimit

from .orders import order_out

router = Router(tags=["guest"])


class GuestOrderIn(Schema):
    listing: str
    contact: str  # an email address or a mainland mobile number
    query_password: str
    pay_with: str  # a gateway: a guest has no wallet
    quantity: int = 1
    accept_special_terms: bool = False
    topup_target: str | None = None


class LookupIn(Schema):
    number: str
    query_password: str


def _found(order, token: str) -> dict:
    return {"order": order_out(order, order.buyer), "lookup_token": token}


@router.post("/guest/orders", response={201: dict}, auth=None)
def create_guest_order(request, payload: GuestOrderIn):
    ratelimit.enforce(("guest_checkout_ip", ratelimit.client_ip(request)))
    order, token = guest.place_order(
        listing_id=payload.listing,
        contact=payload.contact,
        query_password=payload.query_password,
        pay_with=payload.pay_with,
        quantity=payload.quantity,
        accept_special_terms=payload.accept_special_terms,
        topup_target=payload.topup_target or "",
    )
    return Status(201, _found(order, token))


@router.post("/guest/lookup", response=dict, auth=None)
def look_up_guest_order(request, payload: LookupIn):
    number = payload.number.strip().upper()[:32]
    ratelimit.enforce(("guest_lookup_ip", ratelimit.client_ip(request)), ("guest_lookup_order", number))
    order, token = guest.look_up(number=number, query_password=payload.query_password)
    return _found(order, token)
