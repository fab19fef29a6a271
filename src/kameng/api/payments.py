"""Gateways' asynchronous notifications (/payments/notify/{sandbox,epay,alipay,wechatpay}) and 补单.

Each gateway gets the answer its protocol expects (易支付 and Alipay `success`/`fail`, WeChat Pay
a JSON code); the sandbox answers in the API's own shape. A gateway that is off answers 404.
"""

from typing import Annotated

from django.http import HttpResponse
from ninja import Router

from kameng.accounts.models import Role
from kameng.errors import DomainError, Error
from kameng.wallet import payments
from kameng.wallet.gateways import GATEWAYS, Notification
from kameng.wallet.models import Payment, PaymentStatus

from .base import iso, require_role
from .contract import Fen, Id, Out, Timestamp, enum_of, raises

router = Router(tags=["payments"])


def _notification(request) -> Notification:
    body = request.body  # read first: Django keeps it, then parses form fields from it
    params = {k: request.GET.get(k, "") for k in request.GET}
    if request.method == "POST":  # form fields (Django parses only form bodies; JSON leaves POST empty)
        params.update({k: request.POST.get(k, "") for k in request.POST})
    return Notification(body=body, headers=request.headers, params=params)


class NotificationAck(Out):
    """The sandbox's answer (the other gateways get their protocol's own: `success`, `fail`, WeChat's JSON)."""

    received: bool
    topup: Id
    status: Annotated[str, enum_of(PaymentStatus)]


GATEWAY_ANSWER = {
    "responses": {
        200: {
            "description": "The sandbox: NotificationAck; 易支付 and Alipay: `success` (400 `fail`); WeChat Pay: its JSON",
            "content": {"text/plain": {"schema": {"type": "string", "enum": ["success", "fail"]}}},
        }
    }
}


@router.api_operation(
    ["GET", "POST"], "/payments/notify/{gateway}", response=NotificationAck, auth=None, openapi_extra=GATEWAY_ANSWER
)
@raises(Error.PAYMENT_GATEWAY_NOT_FOUND, Error.PAYMENT_SIGNATURE_INVALID, Error.PAYMENT_AMOUNT_MISMATCH)
def notify(request, gateway: Annotated[str, enum_of(*GATEWAYS)]):
    """A payment gateway's signed asynchronous notification (gateways call it, not clients; GET: 易支付 only)."""
    adapter = GATEWAYS.get(gateway)
    # Only 易支付 notifies by GET (the same fields in the query string); a gateway that is off is 404.
    if adapter is None or not adapter.configured() or (request.method == "GET" and gateway != "epay"):
        raise DomainError(Error.PAYMENT_GATEWAY_NOT_FOUND)
    notification = _notification(request)
    if gateway == "sandbox":
        payment = payments.receive_notification(gateway, notification)
        return {"received": True, "topup": str(payment.pk), "status": payment.status}
    try:
        payments.receive_notification(gateway, notification)
    except DomainError:
        ok = False
    else:
        ok = True
    status, content_type, body = adapter.answer(ok)
    response = HttpResponse(body, status=status, content_type=content_type)
    response.gateway_answer = True  # type: ignore[attr-defined]  # not reshaped into the API's error JSON
    return response


class GatewaySaysOut(Out):
    paid: bool
    amount: Fen | None
    reference: str


class RecheckOut(Out):
    out_trade_no: str
    gateway: Annotated[str, enum_of(*GATEWAYS)]
    purpose: str
    amount: Fen
    status: Annotated[str, enum_of(PaymentStatus)]
    succeeded_at: Timestamp | None
    gateway_says: GatewaySaysOut


@router.post("/payments/{out_trade_no}/recheck", response=RecheckOut)
@raises(Error.WRONG_ROLE, Error.PAYMENT_NOT_FOUND, Error.PAYMENT_NOT_PENDING, Error.PAYMENT_GATEWAY_UNREACHABLE)
def recheck(request, out_trade_no: str):
    """补单 (admin): ask the gateway about a pending payment; book it if the gateway says it was paid. Audited."""
    require_role(request, Role.ADMIN)
    payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
    if payment is None:
        raise DomainError(Error.PAYMENT_NOT_FOUND)
    result = payments.recheck_payment(payment, by=request.auth)
    payment.refresh_from_db()
    return {
        "out_trade_no": payment.out_trade_no,
        "gateway": payment.gateway,
        "purpose": payment.purpose,
        "amount": payment.amount,
        "status": payment.status,
        "succeeded_at": iso(payment.succeeded_at),
        "gateway_says": {"paid": result.paid, "amount": result.amount, "reference": result.reference},
    }
