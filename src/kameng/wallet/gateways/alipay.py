"""支付宝开放平台 (RSA2) through python-alipay-sdk.

- 电脑网站支付 / 手机网站支付: the pay URL is built and signed locally by the SDK.
- 异步通知: RSA2 (SHA256withRSA) over the other fields sorted as `k=v&…`, verified with Alipay's
  public key (`KAMENG_ALIPAY_PUBLIC_KEY_FILE`) by the SDK's `verify`; the notification's `app_id`
  must be ours.
- alipay.trade.query (补单), alipay.trade.refund (+ fastpay.refund.query when the money did not
  move at once), alipay.fund.trans.uni.transfer (转账到支付宝账户) for payouts. The SDK checks every
  answer's signature before we read it.

Key files are read when used; the SDK runs without `verbose` (it would log what it signs).
"""

from datetime import timedelta, timezone
from pathlib import Path
from urllib.error import URLError

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from django.conf import settings

from kameng.money import plain_yuan as yuan

from .base import (
    GatewayError,
    InvalidNotification,
    Notification,
    PaymentGateway,
    PayoutGateway,
    PayoutOutcome,
    PayoutResult,
    QueryResult,
    RefundOutcome,
    RefundResult,
    VerifiedPayment,
    fen_from_yuan,
)

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
BEIJING = timezone(timedelta(hours=8))
PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
SUCCESS = "10000"


def _pem(path: str, kind: str) -> str:
    """A key file as PEM. Alipay's key tool and its console give bare base64 (no BEGIN/END lines):
    those get the markers (`PRIVATE KEY`, PKCS#8, or `PUBLIC KEY`); PKCS#1 and PKCS#8 PEM load as they are."""
    text = Path(path).read_text().strip()
    if "-----BEGIN" in text:
        return text
    body = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


class Alipay(PaymentGateway, PayoutGateway):
    name = "alipay"

    @property
    def config(self) -> dict:
        return settings.PAYMENT_GATEWAYS.get("alipay") or {}

    def configured(self) -> bool:
        return bool(settings.PAYMENT_GATEWAYS.get("alipay"))

    def _client(self) -> AliPay:
        client = AliPay(
            appid=self.config["app_id"],
            app_private_key_string=_pem(self.config["private_key_file"], "PRIVATE KEY"),
            alipay_public_key_string=_pem(self.config["public_key_file"], "PUBLIC KEY"),
            sign_type="RSA2",
            config=AliPayConfig(timeout=15),
        )
        client._gateway = self.config.get("gateway") or DEFAULT_GATEWAY  # the SDK's only knob for it
        return client

    def _call(self, operation: str, biz: dict) -> dict:
        """One API call; the SDK verifies the answer's signature. Returns the answer object."""
        try:
            answer = self._client().server_api(operation, biz)
        except AliPayValidationError:
            raise GatewayError(f"{operation}: the answer's signature is not Alipay's") from None
        except (AliPayException, URLError, OSError, ValueError) as exc:
            raise GatewayError(f"{operation}: {type(exc).__name__}: {str(exc)[:160]}") from None
        if not isinstance(answer, dict):
            raise GatewayError(f"{operation}: unexpected answer")
        return answer

    # ---- paying ----

    def _order(self, payment) -> dict:
        order = {"subject": payment.subject or payment.out_trade_no, "out_trade_no": payment.out_trade_no}
        order["total_amount"] = yuan(payment.amount)
        if payment.expires_at is not None:  # Alipay closes the trade itself then: no late payments
            order["time_expire"] = payment.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return order

    def _pay(self, method, payment) -> str:
        signed = method(
            **self._order(payment),
            notify_url=f"{settings.PUBLIC_URL}/api/v1/payments/notify/alipay",
            return_url=f"{settings.PUBLIC_URL}/pay/{payment.out_trade_no}/",
        )
        return f"{self.config.get('gateway') or DEFAULT_GATEWAY}?{signed}"

    def pay_url(self, payment) -> str:
        """电脑网站支付 (alipay.trade.page.pay), signed locally."""
        return self._pay(self._client().api_alipay_trade_page_pay, payment)

    def mobile_pay_url(self, payment) -> str:
        """手机网站支付 (alipay.trade.wap.pay), for the pay page on a phone."""
        return self._pay(self._client().api_alipay_trade_wap_pay, payment)

    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        fields = dict(notification.params)
        signature = fields.pop("sign", "")
        sign_type = fields.pop("sign_type", "")
        if sign_type != "RSA2" or not signature:
            raise InvalidNotification("not RSA2-signed")
        try:
            valid = self._client().verify(fields, signature)
        except Exception:  # pycryptodome's ValueError/TypeError for a malformed signature, …
            valid = False
        if not valid:
            raise InvalidNotification("bad signature")
        if fields.get("app_id") != self.config["app_id"]:
            raise InvalidNotification("another app's notification")
        for required in ("out_trade_no", "trade_no", "total_amount", "trade_status"):
            if not fields.get(required):
                raise InvalidNotification(f"missing {required}")
        return VerifiedPayment(
            out_trade_no=fields["out_trade_no"],
            amount=fen_from_yuan(fields["total_amount"]),
            reference=fields["trade_no"],
            paid=fields["trade_status"] in PAID,
        )

    def query(self, payment) -> QueryResult:
        answer = self._call("alipay.trade.query", {"out_trade_no": payment.out_trade_no})
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return QueryResult(paid=False)
            raise GatewayError(f"alipay.trade.query: {answer.get('sub_code') or answer.get('code')}")
        if answer.get("trade_status") not in PAID:
            return QueryResult(paid=False)
        try:
            amount = fen_from_yuan(str(answer.get("total_amount")))
        except InvalidNotification:
            raise GatewayError("alipay.trade.query: bad total_amount") from None
        return QueryResult(paid=True, amount=amount, reference=str(answer.get("trade_no", "")))

    def refund(self, payment, refund) -> RefundResult:
        biz = {
            "out_trade_no": payment.out_trade_no,
            "refund_amount": yuan(refund.amount),
            "out_request_no": refund.out_refund_no,  # makes a repeated call the same refund
            "refund_reason": refund.reason[:64] or "退款",
        }
        answer = self._call("alipay.trade.refund", biz)
        if answer.get("code") != SUCCESS:
            raise GatewayError(f"alipay.trade.refund: {answer.get('sub_code') or answer.get('code')}")
        if answer.get("fund_change") == "Y":
            return RefundResult(RefundOutcome.SUCCEEDED, reference=str(answer.get("trade_no", "")))
        # "N": not necessarily refunded yet (or refunded by an earlier call): ask.
        query = {"out_trade_no": payment.out_trade_no, "out_request_no": refund.out_refund_no}
        status = self._call("alipay.trade.fastpay.refund.query", query)
        if status.get("code") == SUCCESS and status.get("refund_status") == "REFUND_SUCCESS":
            return RefundResult(RefundOutcome.SUCCEEDED, reference=str(status.get("trade_no", "")))
        return RefundResult(RefundOutcome.PROCESSING)

    # ---- paying out (转账到支付宝账户) ----

    def payout(self, withdrawal) -> PayoutResult:
        biz = {
            "out_biz_no": withdrawal.out_biz_no,
            "trans_amount": yuan(withdrawal.amount),
            "product_code": "TRANS_ACCOUNT_NO_PWD",
            "biz_scene": "DIRECT_TRANSFER",
            "order_title": "卡盟提现",
            "payee_info": {"identity": withdrawal.account, "identity_type": "ALIPAY_LOGON_ID"},
        }
        if withdrawal.account_name:
            biz["payee_info"]["name"] = withdrawal.account_name
        return self._payout_result(self._call("alipay.fund.trans.uni.transfer", biz))

    def payout_status(self, withdrawal) -> PayoutResult:
        biz = {"out_biz_no": withdrawal.out_biz_no, "product_code": "TRANS_ACCOUNT_NO_PWD"}
        biz["biz_scene"] = "DIRECT_TRANSFER"
        return self._payout_result(self._call("alipay.fund.trans.common.query", biz))

    @staticmethod
    def _payout_result(answer: dict) -> PayoutResult:
        code = answer.get("code")
        if code == SUCCESS:
            status = answer.get("status")
            if status == "SUCCESS":
                return PayoutResult(PayoutOutcome.PAID, reference=str(answer.get("order_id", "")))
            if status in ("FAIL", "CLOSED"):
                return PayoutResult(PayoutOutcome.FAILED, reason=str(answer.get("fail_reason", status))[:200])
            return PayoutResult(PayoutOutcome.PROCESSING)
        if code == "40004":  # a business refusal (payee unknown, name mismatch, …): final
            reason = str(answer.get("sub_msg") or answer.get("sub_code") or "refused")[:200]
            return PayoutResult(PayoutOutcome.FAILED, reason=reason)
        raise GatewayError(f"alipay transfer: {answer.get('sub_code') or code}")
