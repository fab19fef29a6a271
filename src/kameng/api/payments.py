"""Gateways' asynchronous notifications: /payments/notify/{sandbox,epay,alipay,wechatpay}.

Each gateway gets the answer its protocol expects (易支付 and Alipay `success`/`fail`, WeChat Pay
a JSON code); the sandbox answers in the API's own shape. A gateway that is off answers 404.
"""

from django.http import HttpResponse
from ninja import Router

from kameng.errors import DomainError, Error
from kameng.wallet import payments
from kameng.wallet.gateways import GATEWAYS, Notification

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
