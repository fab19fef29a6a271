"""Top-ups and crediting them exactly once."""

from django.db import transaction

from kameng.accounts.models import Role
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind

from .events import withdrawal_paid
from .gateways import InvalidNotification, get_gateway
from .models import PaymentNotification, Topup, Withdrawal

MAX_TOPUP = 10_000_000  # ¥100,000 per top-up
GATEWAY_PAYOUT = ledger.gateway_code("payout")  # clearing account of the payout gateway: money leaving the platform


def create_topup(*, acting_user, amount: int, gateway: str = "sandbox") -> Topup:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount > MAX_TOPUP:
        raise DomainError(Error.TOPUP_AMOUNT_INVALID, param="amount")
    return Topup.objects.create(user=acting_user, amount=amount, gateway=gateway, created_at=clock_now())


def get_topup_for(topup_id, user) -> Topup:
    try:
        return Topup.objects.get(pk=int(topup_id), user=user)
    except (ValueError, TypeError, Topup.DoesNotExist):
        raise DomainError(Error.TOPUP_NOT_FOUND) from None


def handle_notification(gateway_name: str, body: bytes, headers) -> Topup:
    """Verify a gateway notification and credit the wallet once. Replays credit nothing more."""
    gateway = get_gateway(gateway_name)
    now = clock_now()
    try:
        payment = gateway.verify_notification(body, headers)
    except InvalidNotification as exc:
        PaymentNotification.objects.create(
            gateway=gateway_name,
            notification_id="",
            payload=body.decode(errors="replace")[:4000],
            valid=False,
            received_at=now,
        )
        raise DomainError(Error.PAYMENT_SIGNATURE_INVALID) from exc
    with transaction.atomic():
        PaymentNotification.objects.create(
            gateway=gateway_name,
            notification_id=payment.reference,
            payload=body.decode(errors="replace")[:4000],
            valid=True,
            received_at=now,
        )
        topup = Topup.objects.select_for_update().filter(pk=payment.topup_id, gateway=gateway_name).first()
        if topup is None:
            raise DomainError(Error.TOPUP_NOT_FOUND)
        if payment.amount != topup.amount:
            raise DomainError(Error.PAYMENT_AMOUNT_MISMATCH, param="amount")
        if topup.status != "succeeded":
            ledger.transfer(
                f"topup:{topup.pk}",
                EntryKind.TOPUP,
                ledger.gateway_code(gateway_name),
                ledger.wallet_code(topup.user_id),
                topup.amount,
                actor=f"gateway:{gateway_name}",
                memo=f"充值 {payment.reference}",
            )
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


def withdraw(*, acting_user, amount: int) -> Withdrawal:
    """提现: wallet → the payout gateway. A merchant owing the platform (先行赔付 debt) cannot withdraw."""
    if acting_user.role not in (Role.BUYER, Role.MERCHANT):
        raise DomainError(Error.WITHDRAWAL_ROLE_NOT_ALLOWED)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(Error.WITHDRAWAL_AMOUNT_INVALID, param="amount")
    wallet = ledger.wallet_code(acting_user.pk)
    with transaction.atomic():
        # One lock call for what is read next (the debt only a merchant can owe) and every account
        # the withdrawal posts to: a refund booking a debt waits for us, and no lock is taken out of order.
        owed = [ledger.debt_code(acting_user.pk)] if acting_user.role == Role.MERCHANT else []
        ledger.lock_accounts([wallet, GATEWAY_PAYOUT, *owed])
        if debt_of(acting_user) > 0:
            raise DomainError(Error.WITHDRAWAL_DEBT_OUTSTANDING)
        if amount > ledger.balance(wallet):  # before the row: an amount past 64 bits must not reach the database
            raise DomainError(Error.INSUFFICIENT_FUNDS)
        withdrawal = Withdrawal.objects.create(user=acting_user, amount=amount, created_at=clock_now())
        ledger.transfer(
            f"withdrawal:{withdrawal.pk}",
            EntryKind.WITHDRAWAL,
            wallet,
            GATEWAY_PAYOUT,
            amount,
            actor=acting_user.username,
            memo=f"提现 {withdrawal.pk}",
        )
        withdrawal_paid(withdrawal)  # the sandbox payout pays at once; a real payout calls it on its confirmation
    return withdrawal
