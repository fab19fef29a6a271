"""Payment gateway adapters behind one interface.

A real gateway (Alipay, WeChat Pay) is another subclass: it builds the pay URL for a top-up
and verifies the gateway's asynchronous notification with that gateway's own signature
scheme; `wallet.services.credit_topup` does the rest, exactly once.
"""

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class VerifiedPayment:
    topup_id: int
    amount: int
    reference: str  # the gateway's own transaction id


class InvalidNotification(Exception):
    pass


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def pay_url(self, topup) -> str:
        """Where to send the buyer to pay this top-up."""

    @abstractmethod
    def verify_notification(self, body: bytes, headers) -> VerifiedPayment:
        """Check the notification's signature and return what was paid; raise InvalidNotification."""


class SandboxGateway(PaymentGateway):
    """A gateway that runs inside kameng: its pay page signs notifications with HMAC-SHA256."""

    name = "sandbox"
    SIGNATURE_HEADER = "X-Sandbox-Signature"

    def pay_url(self, topup) -> str:
        return f"/sandbox/pay/{topup.pk}"

    @staticmethod
    def sign(body: bytes) -> str:
        return hmac.new(settings.SANDBOX_GATEWAY_SECRET.encode(), body, hashlib.sha256).hexdigest()

    def notification_for(self, topup) -> bytes:
        return json.dumps(
            {"topup_id": topup.pk, "amount": topup.amount, "reference": f"SBX{topup.pk:010d}"}, sort_keys=True
        ).encode()

    def verify_notification(self, body: bytes, headers) -> VerifiedPayment:
        signature = headers.get(self.SIGNATURE_HEADER, "")
        if not signature or not hmac.compare_digest(self.sign(body), signature):
            raise InvalidNotification("bad signature")
        try:
            data = json.loads(body)
            return VerifiedPayment(int(data["topup_id"]), int(data["amount"]), str(data["reference"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification("malformed notification") from exc


GATEWAYS: dict[str, PaymentGateway] = {"sandbox": SandboxGateway()}


def get_gateway(name: str) -> PaymentGateway:
    return GATEWAYS[name]
