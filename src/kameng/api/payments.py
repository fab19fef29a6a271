"""Gateways' asynchronous notifications (/payments/notify/{sandbox,epay,alipay,wechatpay}) and 补单.

Each gateway gets the answer its protocol expects (易支付 and Alipay `success`/`fail`, WeChat Pay
a JSON code); the sandbox answers in the API's own shape. A gateway that is off answers 404.
"""

from django.http import HttpResponse
from ninja import Router, Schema

from kameng.accounts.models import Role
from kameng.errors import DomainError, Error
from kameng.wallet import payments
from kameng.wallet.gateways import GATEWAYS, Notification
from kameng.wallet.models import Payment

from .base import iso, require_role

router = Router(tags=["payments"])


def _notification(request) -> Notification:
    body = request.body  # read first: Django keeps it, then parses form fields from it
    params = {k: request.GET.get(k, "") for k in request.GET}
    if request.method == "POST":  # form fields (Django parses only form bodies; JSON leaves POST empty)
        params.update({k: request.POST.get(k, "") for k in request.POST})
    return Notification(body=body, headers=request.headers, params=params)


@router.api_operation(["GET", "POST"], "/payments/notify/{gateway}", response=dict, auth=None)
def notify(request, gateway: str):
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


class GatewaySaysOut(Schema):
    paid: bool
    amount: int | None
    reference: str


class RecheckOut(Schema):
    out_trade_no: str
    gateway: str
    purpose: str
    amount: int
    status: str
    succeeded_at: str | None
    gateway_says: GatewaySaysOut


@router.post("/payments/{out_trade_no}/recheck", response=RecheckOut)
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
