"""支付宝开放平台 (RSA2) through the official SDK, alipay-sdk-python.

- 电脑网站支付 / 手机网站支付: the pay URL is built and signed locally by the SDK (`page_execute`, GET).
- 异步通知: RSA2 (SHA256withRSA) over the other fields sorted as `k=v&…`, verified with Alipay's
  public key (`KAMENG_ALIPAY_PUBLIC_KEY_FILE`) by the SDK's own verifier; the notification's
  `app_id` must be ours.
- alipay.trade.query (补单), alipay.trade.refund (+ fastpay.refund.query when the money did not
  move at once), alipay.fund.trans.uni.transfer (转账到支付宝账户) for payouts. The SDK verifies
  every answer's signature before we read it.

Key files are read when used; the SDK gets no logger (it would log signed request strings).
"""

import json
from datetime import timedelta, timezone
from pathlib import Path

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.domain.AlipayFundTransCommonQueryModel import AlipayFundTransCommonQueryModel
from alipay.aop.api.domain.AlipayFundTransUniTransferModel import AlipayFundTransUniTransferModel
from alipay.aop.api.domain.AlipayTradeFastpayRefundQueryModel import AlipayTradeFastpayRefundQueryModel
from alipay.aop.api.domain.AlipayTradePagePayModel import AlipayTradePagePayModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.domain.AlipayTradeWapPayModel import AlipayTradeWapPayModel
from alipay.aop.api.domain.Participant import Participant
from alipay.aop.api.request.AlipayFundTransCommonQueryRequest import AlipayFundTransCommonQueryRequest
from alipay.aop.api.request.AlipayFundTransUniTransferRequest import AlipayFundTransUniTransferRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradePagePayRequest import AlipayTradePagePayRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from alipay.aop.api.util.SignatureUtils import get_sign_content, verify_with_rsa
from cryptography.hazmat.primitives import serialization
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


def _pkcs1_private_key(pem: bytes) -> str:
    """The SDK signs with a PKCS#1 key; Alipay's key tool also writes PKCS#8 ("Java") keys: accept both."""
    key = serialization.load_pem_private_key(pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


class Alipay(PaymentGateway, PayoutGateway):
    name = "alipay"

    @property
    def config(self) -> dict:
        return settings.PAYMENT_GATEWAYS.get("alipay") or {}

    def configured(self) -> bool:
        return bool(settings.PAYMENT_GATEWAYS.get("alipay"))

    def _public_key(self) -> str:
        return Path(self.config["public_key_file"]).read_text()

    def _client(self) -> DefaultAlipayClient:
        config = AlipayClientConfig()
        config.server_url = self.config.get("gateway") or DEFAULT_GATEWAY
        config.app_id = self.config["app_id"]
        config.app_private_key = _pkcs1_private_key(Path(self.config["private_key_file"]).read_bytes())
        config.alipay_public_key = self._public_key()
        config.sign_type = "RSA2"
        config.timeout = 15
        return DefaultAlipayClient(config)

    def _call(self, request, answer_key: str) -> dict:
        """Run an API call; the SDK checks the answer's signature. Returns the answer object."""
        try:
            content = self._client().execute(request)
            data = json.loads(content)
        except Exception as exc:  # the SDK raises bare exceptions (and TypeErrors on some HTTP errors)
            raise GatewayError(f"alipay {answer_key}: {type(exc).__name__}: {str(exc)[:160]}") from None
        if not isinstance(data, dict):
            raise GatewayError(f"alipay {answer_key}: unexpected answer")
        return data

    # ---- paying ----

    def _order(self, model, payment):
        model.out_trade_no = payment.out_trade_no
        model.total_amount = yuan(payment.amount)
        model.subject = payment.subject or payment.out_trade_no
        if payment.expires_at is not None:  # Alipay closes the trade itself then: no late payments
            model.time_expire = payment.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return model

    def _urls(self, request, payment):
        request.notify_url = f"{settings.PUBLIC_URL}/api/v1/payments/notify/alipay"
        request.return_url = f"{settings.PUBLIC_URL}/pay/{payment.out_trade_no}/"
        return request

    def pay_url(self, payment) -> str:
        """电脑网站支付 (alipay.trade.page.pay), signed locally."""
        model = self._order(AlipayTradePagePayModel(), payment)
        model.product_code = "FAST_INSTANT_TRADE_PAY"
        request = self._urls(AlipayTradePagePayRequest(biz_model=model), payment)
        return self._client().page_execute(request, http_method="GET")

    def mobile_pay_url(self, payment) -> str:
        """手机网站支付 (alipay.trade.wap.pay), for the pay page on a phone."""
        model = self._order(AlipayTradeWapPayModel(), payment)
        model.product_code = "QUICK_WAP_WAY"
        request = self._urls(AlipayTradeWapPayRequest(biz_model=model), payment)
        return self._client().page_execute(request, http_method="GET")

    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        fields = dict(notification.params)
        signature = fields.pop("sign", "")
        sign_type = fields.pop("sign_type", "")
        if sign_type != "RSA2" or not signature:
            raise InvalidNotification("not RSA2-signed")
        try:
            valid = verify_with_rsa(self._public_key(), get_sign_content(fields).encode("utf-8"), signature)
        except Exception:  # rsa.VerificationError, a bad base64 signature, …
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
        model = AlipayTradeQueryModel()
        model.out_trade_no = payment.out_trade_no
        answer = self._call(AlipayTradeQueryRequest(biz_model=model), "trade.query")
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return QueryResult(paid=False)
            raise GatewayError(f"alipay trade.query: {answer.get('sub_code') or answer.get('code')}")
        if answer.get("trade_status") not in PAID:
            return QueryResult(paid=False)
        try:
            amount = fen_from_yuan(str(answer.get("total_amount")))
        except InvalidNotification:
            raise GatewayError("alipay trade.query: bad total_amount") from None
        return QueryResult(paid=True, amount=amount, reference=str(answer.get("trade_no", "")))

    def refund(self, payment, refund) -> RefundResult:
        model = AlipayTradeRefundModel()
        model.out_trade_no = payment.out_trade_no
        model.refund_amount = yuan(refund.amount)
        model.out_request_no = refund.out_refund_no  # makes a repeated call the same refund
        model.refund_reason = refund.reason[:64] or "退款"
        answer = self._call(AlipayTradeRefundRequest(biz_model=model), "trade.refund")
        if answer.get("code") != SUCCESS:
            raise GatewayError(f"alipay trade.refund: {answer.get('sub_code') or answer.get('code')}")
        if answer.get("fund_change") == "Y":
            return RefundResult(RefundOutcome.SUCCEEDED, reference=str(answer.get("trade_no", "")))
        # "N": not necessarily refunded yet (or refunded by an earlier call): ask.
        query = AlipayTradeFastpayRefundQueryModel()
        query.out_trade_no = payment.out_trade_no
        query.out_request_no = refund.out_refund_no
        status = self._call(AlipayTradeFastpayRefundQueryRequest(biz_model=query), "refund.query")
        if status.get("code") == SUCCESS and status.get("refund_status") == "REFUND_SUCCESS":
            return RefundResult(RefundOutcome.SUCCEEDED, reference=str(status.get("trade_no", "")))
        return RefundResult(RefundOutcome.PROCESSING)

    # ---- paying out (转账到支付宝账户) ----

    def payout(self, withdrawal) -> PayoutResult:
        model = AlipayFundTransUniTransferModel()
        model.out_biz_no = withdrawal.out_biz_no
        model.trans_amount = yuan(withdrawal.amount)
        model.product_code = "TRANS_ACCOUNT_NO_PWD"
        model.biz_scene = "DIRECT_TRANSFER"
        model.order_title = "卡盟提现"
        payee = Participant()
        payee.identity, payee.identity_type = withdrawal.account, "ALIPAY_LOGON_ID"
        payee.name = withdrawal.account_name
        model.payee_info = payee
        answer = self._call(AlipayFundTransUniTransferRequest(biz_model=model), "fund.trans.uni.transfer")
        return self._payout_result(answer)

    def payout_status(self, withdrawal) -> PayoutResult:
        model = AlipayFundTransCommonQueryModel()
        model.out_biz_no = withdrawal.out_biz_no
        model.product_code = "TRANS_ACCOUNT_NO_PWD"
        model.biz_scene = "DIRECT_TRANSFER"
        return self._payout_result(self._call(AlipayFundTransCommonQueryRequest(biz_model=model), "fund.trans.query"))

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
