"""Top-ups and crediting them exactly once."""
from django.db import transaction

from kameng.api.errors import ApiError, invalid, not_found
from kameng.clock.services import now as clock_now
from kameng.ledger import services as ledger

from .gateways import InvalidNotification, get_gateway
from .models import PaymentNotification, Topup

MAX_TOPUP = 10_000_000  # ¥100,000 per top-up


def create_topup(*, acting_user, amount: int, gateway: str = "sandbox") -> Topup:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount > MAX_TOPUP:
        raise invalid("invalid_amount", "充值金额必须是 1 到 10000000 之间的整数（分）", "amount")
    return Topup.objects.create(user=acting_user, amount=amount, gateway=gateway, created_at=clock_now())


def get_topup_for(topup_id, user) -> Topup:
    try:
        return Topup.objects.get(pk=int(topup_id), user=user)
    except (ValueError, TypeError, Topup.DoesNotExist):
        raise not_found("充值单") from None


def handle_notification(gateway_name: str, body: bytes, headers) -> Topup:
    """Verify a gateway notification and credit the wallet once. Replays credit nothing more."""
    gateway = get_gateway(gateway_name)
    now = clock_now()
    try:
        payment = gateway.verify_notification(body, headers)
    except InvalidNotification as exc:
        PaymentNotification.objects.create(gateway=gateway_name, notification_id="", payload=body.decode(errors="replace")[:4000],
                                           valid=False, received_at=now)
        raise ApiError(400, "invalid_request", "invalid_signature", "支付通知签名无效") from exc
    with transaction.atomic():
        PaymentNotification.objects.create(gateway=gateway_name, notification_id=payment.reference,
                                           payload=body.decode(errors="replace")[:4000], valid=True, received_at=now)
        topup = Topup.objects.select_for_update().filter(pk=payment.topup_id, gateway=gateway_name).first()
        if topup is None:
            raise not_found("充值单")
        if payment.amount != topup.amount:
            raise invalid("amount_mismatch", "通知金额与充值单不符", "amount")
        if topup.status != "succeeded":
            ledger.transfer(f"topup:{topup.pk}", "topup", ledger.GATEWAY_SANDBOX if gateway_name == "sandbox"
                            else f"gateway:{gateway_name}", ledger.wallet_code(topup.user_id), topup.amount,
                            actor=f"gateway:{gateway_name}", memo=f"充值 {payment.reference}")
            topup.status = "succeeded"
            topup.gateway_reference = payment.reference
            topup.succeeded_at = now
            topup.save(update_fields=["status", "gateway_reference", "succeeded_at"])
    return topup


def wallet_balance(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def debt_of(user) -> int:
    """What a merchant owes the platform after 先行赔付 (positive number)."""
    return max(0, -ledger.balance(ledger.debt_code(user.pk)))
