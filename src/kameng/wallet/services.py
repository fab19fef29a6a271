"""Top-ups (payments with purpose "topup"), wallet balances and withdrawals."""

from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger

from . import payments
from .models import Payment, Withdrawal
from .payouts import merchant_debt, withdraw  # noqa: F401  (提现 lives with its payout adapters)

MAX_TOPUP = payments.MAX_AMOUNT
TOPUP = "topup"


@payments.on_payment(TOPUP)
def _topup_paid(payment: Payment) -> None:
    """A top-up is paid once its money is in the wallet: nothing more to do."""


def create_topup(*, acting_user, amount: int, gateway: str = "sandbox") -> Payment:
    return payments.start_payment(
        user=acting_user, amount=amount, gateway=gateway, purpose=TOPUP, ref="", subject="钱包充值"
    )


def get_topup_for(topup_id, user) -> Payment:
    try:
        return Payment.objects.get(pk=int(topup_id), user=user, purpose=TOPUP)
    except (ValueError, TypeError, Payment.DoesNotExist):
        raise DomainError(Error.TOPUP_NOT_FOUND) from None


def wallet_balance(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def debt_of(user) -> int:
    """What a merchant owes the platform after 先行赔付 (positive number)."""
    return merchant_debt(user.pk)


def get_withdrawal_for(withdrawal_id, user) -> Withdrawal:
    try:
        return Withdrawal.objects.get(pk=int(withdrawal_id), user=user)
    except (ValueError, TypeError, Withdrawal.DoesNotExist):
        raise DomainError(Error.WITHDRAWAL_NOT_FOUND) from None
