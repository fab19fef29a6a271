"""The interface every payment gateway adapter implements.

An adapter knows one gateway's protocol: how to send a buyer to pay (`pay_url`), how to verify
that gateway's asynchronous notification (its own signature scheme, its app id, its amount
format), how to ask it about a payment (补单), how to refund by the original route (原路退回)
and, where it pays out, how to transfer to a merchant. It never touches the ledger:
`wallet.payments` books what an adapter verified, exactly once.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum


@dataclass(frozen=True)
class Notification:
    """What a gateway's HTTP call to our notify URL carried."""

    body: bytes
    headers: Mapping[str, str]
    params: Mapping[str, str]  # the query string and form fields, one value each


@dataclass(frozen=True)
class VerifiedPayment:
    """A notification whose signature and merchant id checked out: what it says was paid."""

    out_trade_no: str
    amount: int  # fen
    reference: str  # the gateway's own transaction id
    paid: bool = True  # False for a signed status report that is not a payment (e.g. WAIT_BUYER_PAY)


@dataclass(frozen=True)
class QueryResult:
    """The gateway's answer to "was this paid?" (补单)."""

    paid: bool
    amount: int | None = None
    reference: str = ""


class RefundOutcome(StrEnum):
    SUCCEEDED = "succeeded"  # the gateway sent it back
    PROCESSING = "processing"  # accepted, not final yet: ask again later
    UNSUPPORTED = "unsupported"  # this gateway (or aggregator) cannot refund: credit the wallet instead


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    reference: str = ""


class PayoutOutcome(StrEnum):
    PAID = "paid"
    PROCESSING = "processing"
    FAILED = "failed"  # final: the money goes back to the wallet


@dataclass(frozen=True)
class PayoutResult:
    outcome: PayoutOutcome
    reference: str = ""
    reason: str = ""


class InvalidNotification(Exception):
    """The notification is not the gateway's (bad signature, unknown merchant id, malformed)."""


class GatewayError(Exception):
    """The gateway could not be reached or refused the call; the caller retries later."""


class PaymentGateway(ABC):
    name: str
    refunds = True  # whether this gateway can send money back by the original route

    def configured(self) -> bool:
        """Whether the operator configured this gateway (every gateway is off until configured)."""
        return True

    @abstractmethod
    def pay_url(self, payment) -> str:
        """Where to send the buyer to pay this payment (built and signed locally, no network call)."""

    @abstractmethod
    def verify_notification(self, notification: Notification) -> VerifiedPayment:
        """Check the notification's signature and merchant; return what it says; raise InvalidNotification."""

    def answer(self, ok: bool) -> tuple[int, str, bytes]:
        """The HTTP answer the gateway expects: (status, content type, body)."""
        return (200, "text/plain", b"success") if ok else (400, "text/plain", b"fail")

    @abstractmethod
    def query(self, payment) -> QueryResult:
        """Ask the gateway whether this payment was paid (raise GatewayError when it cannot answer)."""

    @abstractmethod
    def refund(self, payment, refund) -> RefundResult:
        """Send `refund.amount` of this payment back by the original route, idempotent by `refund.out_refund_no`."""


class PayoutGateway(ABC):
    name: str

    def configured(self) -> bool:
        return True

    @abstractmethod
    def payout(self, withdrawal) -> PayoutResult:
        """Transfer the withdrawal to `withdrawal.account`, idempotent by `withdrawal.out_biz_no` (or GatewayError)."""

    @abstractmethod
    def payout_status(self, withdrawal) -> PayoutResult:
        """Ask where a payout that was still processing stands (raise GatewayError when it cannot answer)."""


def fen_from_yuan(text: str) -> int:
    """ "12.30" → 1230. Gateways speak yuan with two decimals; anything else is not an amount."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidNotification(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidNotification(f"not an amount: {text!r}")
    return int(value * 100)
