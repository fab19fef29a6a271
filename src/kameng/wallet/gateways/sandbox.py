"""The sandbox gateway: runs inside kameng; its pay page signs notifications with HMAC-SHA256.

For development and the demo; `KAMENG_SANDBOX=off` removes it (its pages and API answer 404).
"""

import hashlib
import hmac
import json

from django.conf import settings

from .base import (
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


class SandboxGateway(PaymentGateway):
    name = "sandbox"
    SIGNATURE_HEADER = "X-Sandbox-Signature"

    def configured(self) -> bool:
        return settings.SANDBOX_ENABLED

    def pay_url(self, payment) -> str:
        return f"/sandbox/pay/{payment.pk}"

    @staticmethod
    def sign(body: bytes) -> str:
        return hmac.new(settings.SANDBOX_GATEWAY_SECRET.encode(), body, hashlib.sha256).hexdigest()

    def notification_for(self, payment) -> bytes:
        return json.dumps(
            {"out_trade_no": payment.out_trade_no, "amount": payment.amount, "reference": f"SBX{payment.pk:010d}"},
            sort_keys=True,
        ).encode()

    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        signature = notification.headers.get(self.SIGNATURE_HEADER, "")
        if not signature or not hmac.compare_digest(self.sign(notification.body), signature):
            raise InvalidNotification("bad signature")
        try:
            data = json.loads(notification.body)
            return VerifiedPayment(str(data["out_trade_no"]), int(data["amount"]), str(data["reference"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification("malformed notification") from exc

    def answer(self, ok: bool) -> tuple[int, str, bytes]:
        raise NotImplementedError("the sandbox answers in the API's own JSON shape")

    def query(self, payment) -> QueryResult:
        # The sandbox is us: what it knows is what our notification booked.
        return QueryResult(
            paid=payment.status == "succeeded", amount=payment.amount, reference=payment.gateway_reference
        )

    def refund(self, payment, refund) -> RefundResult:
        return RefundResult(RefundOutcome.SUCCEEDED, reference=f"SBXR{refund.pk:010d}")


class SandboxPayout(PayoutGateway):
    """The sandbox payout: the money leaves the platform at once (development, the demo, the tests)."""

    name = "payout"

    def configured(self) -> bool:
        return settings.SANDBOX_ENABLED

    def payout(self, withdrawal) -> PayoutResult:
        return PayoutResult(PayoutOutcome.PAID, reference=f"SBXP{withdrawal.pk:010d}")

    def payout_status(self, withdrawal) -> PayoutResult:
        return self.payout(withdrawal)
