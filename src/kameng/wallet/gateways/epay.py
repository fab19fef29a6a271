"""易支付 (the EPay protocol most card-shop aggregators speak): MD5-signed submit URL and notification,
`api.php?act=order` to query a payment, `api.php?act=refund` where the aggregator supports it.

Signature (api-v1.md v1.1): lowercase hex MD5 of every non-empty field except `sign` and
`sign_type`, sorted by name, as `k=v` joined with `&`, followed directly by the merchant key.
"""

import hashlib
import hmac
from urllib.parse import urlencode

import requests
from django.conf import settings

from kameng.money import plain_yuan as yuan

from .base import (
    GatewayError,
    InvalidNotification,
    Notification,
    PaymentGateway,
    QueryResult,
    RefundOutcome,
    RefundResult,
    VerifiedPayment,
    fen_from_yuan,
)

TIMEOUT = 10  # seconds for any call to the aggregator


def sign(fields: dict[str, str], key: str) -> str:
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("sign", "sign_type") and fields[k] != "")
    return hashlib.md5((text + key).encode()).hexdigest()


class EpayGateway(PaymentGateway):
    name = "epay"

    @property
    def config(self) -> dict:
        return settings.PAYMENT_GATEWAYS["epay"] or {}

    def configured(self) -> bool:
        return bool(settings.PAYMENT_GATEWAYS.get("epay"))

    def _url(self, path: str) -> str:
        return f"{self.config['url'].rstrip('/')}/{path}"

    def pay_url(self, payment) -> str:
        fields = {
            "pid": self.config["pid"],
            "out_trade_no": payment.out_trade_no,
            "notify_url": f"{settings.PUBLIC_URL}/api/v1/payments/notify/epay",
            "return_url": f"{settings.PUBLIC_URL}/pay/{payment.out_trade_no}/",
            "name": payment.subject or payment.out_trade_no,
            "money": yuan(payment.amount),
        }
        fields["sign"] = sign(fields, self.config["key"])
        fields["sign_type"] = "MD5"
        return f"{self._url('submit.php')}?{urlencode(fields)}"

    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        fields = dict(notification.params)
        given = fields.get("sign", "")
        if fields.get("sign_type", "MD5").upper() != "MD5" or not given:
            raise InvalidNotification("unsigned")
        if not hmac.compare_digest(sign(fields, self.config["key"]), given.lower()):
            raise InvalidNotification("bad signature")
        if fields.get("pid") != self.config["pid"]:
            raise InvalidNotification("unknown pid")
        for required in ("out_trade_no", "trade_no", "money"):
            if not fields.get(required):
                raise InvalidNotification(f"missing {required}")
        return VerifiedPayment(
            out_trade_no=fields["out_trade_no"],
            amount=fen_from_yuan(fields["money"]),
            reference=fields["trade_no"],
            paid=fields.get("trade_status") == "TRADE_SUCCESS",
        )

    def _api(self, act: str, **fields) -> dict:
        params = {"act": act, "pid": self.config["pid"], "key": self.config["key"], **fields}
        try:
            res = requests.post(self._url("api.php"), params={"act": act}, data=params, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise GatewayError(f"epay {act}: {type(exc).__name__}") from None
        if res.status_code == 404:
            return {"code": -404}
        try:
            data = res.json()
        except ValueError:
            raise GatewayError(f"epay {act}: HTTP {res.status_code}, not JSON") from None
        if not isinstance(data, dict):
            raise GatewayError(f"epay {act}: unexpected answer")
        return data

    def query(self, payment) -> QueryResult:
        data = self._api("order", out_trade_no=payment.out_trade_no)
        if str(data.get("code")) == "-2":  # the aggregator refused our pid/key: a configuration error
            raise GatewayError(f"epay order query: {str(data.get('msg', 'key refused'))[:200]}")
        if str(data.get("code")) != "1" or str(data.get("status")) != "1":  # unknown there, or unpaid
            return QueryResult(paid=False)
        try:
            amount = fen_from_yuan(str(data.get("money")))
        except InvalidNotification:
            raise GatewayError("epay order query: bad money") from None
        return QueryResult(paid=True, amount=amount, reference=str(data.get("trade_no", "")))

    def refund(self, payment, refund) -> RefundResult:
        data = self._api(
            "refund",
            out_trade_no=payment.out_trade_no,
            trade_no=payment.gateway_reference,
            out_refund_no=refund.out_refund_no,
            money=yuan(refund.amount),
        )
        if data.get("code") == -404:  # an aggregator without the refund API
            return RefundResult(RefundOutcome.UNSUPPORTED)
        if str(data.get("code")) != "1":
            raise GatewayError(f"epay refund: {str(data.get('msg', data.get('code')))[:200]}")
        return RefundResult(RefundOutcome.SUCCEEDED, reference=str(data.get("refund_no", refund.out_refund_no)))
