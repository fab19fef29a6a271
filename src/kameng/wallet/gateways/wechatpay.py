"""微信支付 API v3 through wechatpayv3.

- Native: `/v3/pay/transactions/native` gives a `code_url`, which our pay page shows as a QR code;
  H5: `/v3/pay/transactions/h5` gives an `h5_url` for phone browsers. Both are gateway calls, so
  they run when the buyer opens the pay page (never inside an order's transaction); `pay_url` is
  that page.
- Notifications: the SDK checks the signed headers (Wechatpay-Timestamp/Nonce/Signature/Serial)
  with WeChat Pay's public key and decrypts the AES-256-GCM resource with the APIv3 key; we check
  the transaction's mchid and appid are ours. The SDK does not look at `Wechatpay-Timestamp`; the v3
  docs say to refuse a notification whose timestamp is more than 5 minutes from now (a replayed
  old one), so we do, against kameng's clock, before anything else.
- Query, refunds (`/v3/refund/domestic/refunds`, idempotent by out_refund_no) and 商家转账 payouts.
  The SDK verifies every answer's signature. It gets no logger (it would log headers and bodies).
"""

import json
from pathlib import Path

from django.conf import settings
from wechatpayv3 import WeChatPay, WeChatPayType

from kameng.clock.services import now as clock_now

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
)

SIGNED_HEADERS = (
    "Wechatpay-Signature",
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)
TIMESTAMP_TOLERANCE = 5 * 60  # seconds either side of now (微信支付 APIv3 签名验证: 应答/回调的时间戳)
TRANSFER_SCENE = "1005"  # 佣金报酬: what a marketplace pays its merchants
TRANSFER_REPORT = [
    {"info_type": "岗位类型", "info_content": "平台商家"},
    {"info_type": "报酬说明", "info_content": "卡盟商家货款提现"},
]


def check_timestamp(value: str) -> None:
    """Refuse a notification signed more than 5 minutes before (or after) now: an old one replayed."""
    try:
        signed_at = int(value)
    except ValueError:
        raise InvalidNotification("no Wechatpay-Timestamp") from None
    if abs(clock_now().timestamp() - signed_at) > TIMESTAMP_TOLERANCE:
        raise InvalidNotification("Wechatpay-Timestamp more than 5 minutes from now")


class WechatPay(PaymentGateway, PayoutGateway):
    name = "wechatpay"

    @property
    def config(self) -> dict:
        return settings.PAYMENT_GATEWAYS.get("wechatpay") or {}

    def configured(self) -> bool:
        return bool(settings.PAYMENT_GATEWAYS.get("wechatpay"))

    def _client(self, kind=WeChatPayType.NATIVE) -> WeChatPay:
        c = self.config
        client = WeChatPay(
            wechatpay_type=kind,
            mchid=c["mchid"],
            private_key=Path(c["private_key_file"]).read_text(),
            cert_serial_no=c["cert_serial_no"],
            appid=c["appid"],
            apiv3_key=c["apiv3_key"],
            notify_url=f"{settings.PUBLIC_URL}/api/v1/payments/notify/wechatpay",
            public_key=Path(c["public_key_file"]).read_text(),
            public_key_id=c.get("public_key_id") or None,
            timeout=(5, 15),
        )
        if c.get("gateway"):  # another API host (a proxy, or a test's simulator); the SDK has no option for it
            client._core._gate_way = c["gateway"].rstrip("/")
        return client

    def _request(self, operation: str, call) -> tuple[int, dict]:
        try:
            status, text = call()
        except Exception as exc:  # network errors, and the SDK's bare Exception for a bad answer signature
            raise GatewayError(f"wechatpay {operation}: {type(exc).__name__}: {str(exc)[:160]}") from None
        try:
            data = json.loads(text) if text else {}
        except (ValueError, TypeError):
            raise GatewayError(f"wechatpay {operation}: HTTP {status}, not JSON") from None
        if status >= 500:
            raise GatewayError(f"wechatpay {operation}: HTTP {status} {data.get('code', '')}")
        return status, data if isinstance(data, dict) else {}

    # ---- paying ----

    def pay_url(self, payment) -> str:
        return f"/pay/{payment.out_trade_no}/"

    def _order(self, payment) -> dict:
        order = {
            "description": (payment.subject or payment.out_trade_no)[:127],
            "out_trade_no": payment.out_trade_no,
            "amount": {"total": payment.amount, "currency": "CNY"},
        }
        if payment.expires_at is not None:  # WeChat closes the order itself then: no late payments
            order["time_expire"] = payment.expires_at.isoformat(timespec="seconds")
        return order

    def native_code(self, payment) -> str:
        """Native 下单: the code_url to show as a QR code."""
        client = self._client(WeChatPayType.NATIVE)
        status, data = self._request("native", lambda: client.pay(**self._order(payment)))
        if status != 200 or not data.get("code_url"):
            raise GatewayError(f"wechatpay native: HTTP {status} {data.get('code', '')}")
        return str(data["code_url"])

    def h5_url(self, payment, client_ip: str) -> str:
        """H5 下单: the page a phone browser opens to pay in WeChat."""
        client = self._client(WeChatPayType.H5)
        scene = {"payer_client_ip": client_ip, "h5_info": {"type": "Wap"}}
        status, data = self._request("h5", lambda: client.pay(**self._order(payment), scene_info=scene))
        if status != 200 or not data.get("h5_url"):
            raise GatewayError(f"wechatpay h5: HTTP {status} {data.get('code', '')}")
        return str(data["h5_url"])

    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        headers = {name: notification.headers.get(name, "") for name in SIGNED_HEADERS}
        check_timestamp(headers["Wechatpay-Timestamp"])
        try:
            data = self._client().callback(headers, notification.body)
        except Exception:  # an unsupported algorithm or a malformed body
            data = None
        if not data or not isinstance(data.get("resource"), dict):
            raise InvalidNotification("bad signature or resource")
        resource = data["resource"]
        if resource.get("mchid") != self.config["mchid"] or resource.get("appid") != self.config["appid"]:
            raise InvalidNotification("another merchant's or app's notification")
        amount = (resource.get("amount") or {}).get("total")
        if not isinstance(amount, int) or isinstance(amount, bool) or not resource.get("out_trade_no"):
            raise InvalidNotification("malformed transaction")
        return VerifiedPayment(
            out_trade_no=str(resource["out_trade_no"]),
            amount=amount,
            reference=str(resource.get("transaction_id", "")),
            paid=data.get("event_type") == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS",
        )

    def answer(self, ok: bool) -> tuple[int, str, bytes]:
        if ok:
            return 200, "application/json", b'{"code":"SUCCESS","message":"OK"}'
        return 400, "application/json", json.dumps({"code": "FAIL", "message": "验签或处理失败"}).encode()

    def query(self, payment) -> QueryResult:
        client = self._client()
        status, data = self._request("query", lambda: client.query(out_trade_no=payment.out_trade_no))
        if status == 404:
            return QueryResult(paid=False)
        if status != 200:
            raise GatewayError(f"wechatpay query: HTTP {status} {data.get('code', '')}")
        if data.get("trade_state") != "SUCCESS":
            return QueryResult(paid=False)
        total = (data.get("amount") or {}).get("total")
        return QueryResult(paid=True, amount=total, reference=str(data.get("transaction_id", "")))

    def refund(self, payment, refund) -> RefundResult:
        client = self._client()
        status, data = self._request(
            "refund",
            lambda: client.refund(
                out_refund_no=refund.out_refund_no,
                amount={"refund": refund.amount, "total": payment.amount, "currency": "CNY"},
                out_trade_no=payment.out_trade_no,
                reason=refund.reason[:80] or None,
            ),
        )
        if status != 200:
            raise GatewayError(f"wechatpay refund: HTTP {status} {data.get('code', '')}")
        state = data.get("status")
        if state == "SUCCESS":
            return RefundResult(RefundOutcome.SUCCEEDED, reference=str(data.get("refund_id", "")))
        if state == "PROCESSING":
            return RefundResult(RefundOutcome.PROCESSING, reference=str(data.get("refund_id", "")))
        raise GatewayError(f"wechatpay refund: {state}")  # ABNORMAL / CLOSED: retried, and visible to staff

    # ---- paying out (商家转账) ----

    def payout(self, withdrawal) -> PayoutResult:
        client = self._client()
        status, data = self._request(
            "transfer",
            lambda: client.mch_transfer_bills(
                out_bill_no=withdrawal.out_biz_no,
                transfer_scene_id=TRANSFER_SCENE,
                openid=withdrawal.account,
                transfer_amount=withdrawal.amount,
                transfer_remark="卡盟提现",
                user_name=withdrawal.account_name or None,
                transfer_scene_report_infos=TRANSFER_REPORT,
            ),
        )
        return self._payout_result(status, data)

    def payout_status(self, withdrawal) -> PayoutResult:
        client = self._client()
        status, data = self._request(
            "transfer.query", lambda: client.mch_transfer_bills_query(out_bill_no=withdrawal.out_biz_no)
        )
        return self._payout_result(status, data)

    @staticmethod
    def _payout_result(status: int, data: dict) -> PayoutResult:
        if status == 200:
            state = data.get("state")
            if state == "SUCCESS":
                return PayoutResult(PayoutOutcome.PAID, reference=str(data.get("transfer_bill_no", "")))
            if state in ("FAIL", "CANCELLED"):
                return PayoutResult(PayoutOutcome.FAILED, reason=str(data.get("fail_reason", state))[:200])
            return PayoutResult(PayoutOutcome.PROCESSING, reference=str(data.get("transfer_bill_no", "")))
        if 400 <= status < 500 and data.get("code") not in ("SYSTEM_ERROR", "FREQUENCY_LIMITED", "NOT_ENOUGH"):
            return PayoutResult(PayoutOutcome.FAILED, reason=str(data.get("message") or data.get("code"))[:200])
        raise GatewayError(f"wechatpay transfer: HTTP {status} {data.get('code', '')}")
