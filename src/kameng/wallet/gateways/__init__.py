"""Payment gateway adapters behind one interface (`base.PaymentGateway`), by name; payout adapters too.

Every gateway but the sandbox is off until the operator configures it (api-v1.md v1.1); the
sandbox is on until `KAMENG_SANDBOX=off`.
"""

from kameng.errors import DomainError, Error

from .alipay import Alipay
from .base import GatewayError, InvalidNotification, Notification, PaymentGateway, PayoutGateway, VerifiedPayment
from .epay import EpayGateway
from .sandbox import SandboxGateway, SandboxPayout
from .wechatpay import WechatPay

_alipay, _wechatpay = Alipay(), WechatPay()
GATEWAYS: dict[str, PaymentGateway] = {g.name: g for g in (SandboxGateway(), EpayGateway(), _alipay, _wechatpay)}
PAYOUT_GATEWAYS: dict[str, PayoutGateway] = {"payout": SandboxPayout(), "alipay": _alipay, "wechatpay": _wechatpay}


def enabled_names() -> list[str]:
    """The gateways a buyer can pay with now."""
    return [name for name, gateway in GATEWAYS.items() if gateway.configured()]


def payout_names() -> list[str]:
    """The payout gateways a withdrawal can go out through now."""
    return [name for name, gateway in PAYOUT_GATEWAYS.items() if gateway.configured()]


def get_gateway(name: str) -> PaymentGateway:
    """The adapter for `name`, configured or not (to finish what was started while it was on)."""
    return GATEWAYS[name]


def enabled_gateway(name: str) -> PaymentGateway:
    """The adapter for a new payment; 400 `gateway_unavailable` for a name that is unknown or off."""
    gateway = GATEWAYS.get(name)
    if gateway is None or not gateway.configured():
        raise DomainError(Error.PAYMENT_GATEWAY_OFF, param="gateway", gateway=name)
    return gateway


def payout_gateway(name: str, *, for_new: bool = True) -> PayoutGateway:
    """The payout adapter; for a new withdrawal it must be configured (400 `gateway_unavailable`)."""
    gateway = PAYOUT_GATEWAYS.get(name)
    if gateway is None or (for_new and not gateway.configured()):
        raise DomainError(Error.PAYMENT_GATEWAY_OFF, param="gateway", gateway=name)
    return gateway


__all__ = [
    "GATEWAYS",
    "GatewayError",
    "InvalidNotification",
    "Notification",
    "PaymentGateway",
    "SandboxGateway",
    "VerifiedPayment",
    "enabled_gateway",
    "get_gateway",
    "payout_gateway",
]
