"""提现: withdrawals paid out through a payout gateway, `pending → paid | failed`.

The money leaves the wallet at once (wallet → the payout gateway's clearing account, in the
request's transaction); the gateway is called after commit by a job, and a timer asks again
until the gateway gives a final answer. A payout that fails comes back to the wallet. The
sandbox payout (`payout`) is paid at once, for development and the demo.
"""

from datetime import datetime

from django.db import transaction

from kameng.accounts.models import Role
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind
from kameng.policy.services import get_policy
from kameng.timers import jobs
from kameng.timers import services as timers

from . import retries
from .events import withdrawal_paid
from .gateways import GatewayError, payout_gateway
from .gateways.base import PayoutOutcome, PayoutResult
from .models import Withdrawal, WithdrawalStatus
from .payments import new_trade_no
from .statement import withdrawable_amount

SANDBOX_PAYOUT = "payout"
PAYOUT_TIMER = "withdrawal_payout"
PAYOUT_JOB = "send_payout"


def merchant_debt(user_id: int) -> int:
    """What a merchant owes the platform after 先行赔付 (positive number)."""
    return max(0, -ledger.balance(ledger.debt_code(user_id)))


def clearing_code(gateway: str) -> ledger.AccountCode:
    return ledger.gateway_code(gateway)


def withdraw(
    *, acting_user, amount: int, gateway: str = SANDBOX_PAYOUT, account: str = "", account_name: str = ""
) -> Withdrawal:
    """提现: wallet → the payout gateway. A merchant owing the platform (先行赔付 debt) cannot withdraw."""
    if acting_user.role not in (Role.BUYER, Role.MERCHANT):
        raise DomainError(Error.WITHDRAWAL_ROLE_NOT_ALLOWED)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(Error.WITHDRAWAL_AMOUNT_INVALID, param="amount")
    payout_gateway(gateway)  # 400 when unknown or off
    account, account_name = (account or "").strip(), (account_name or "").strip()
    if gateway != SANDBOX_PAYOUT and not (0 < len(account) <= 128):
        raise DomainError(Error.WITHDRAWAL_ACCOUNT_REQUIRED, param="account")
    wallet, now = ledger.wallet_code(acting_user.pk), clock_now()
    with transaction.atomic():
        # One lock call for what is read next (the debt only a merchant can owe) and every account
        # the withdrawal posts to: a refund booking a debt waits for us, and no lock is taken out of order.
        owed = [ledger.debt_code(acting_user.pk)] if acting_user.role == Role.MERCHANT else []
        ledger.lock_accounts([wallet, clearing_code(gateway), *owed])
        if merchant_debt(acting_user.pk) > 0:
            raise DomainError(Error.WITHDRAWAL_DEBT_OUTSTANDING)
        if amount > ledger.balance(wallet):  # before the row: an amount past 64 bits must not reach the database
            raise DomainError(Error.INSUFFICIENT_FUNDS)
        if amount > withdrawable_amount(acting_user, now):  # T+N: released money settles first (policy)
            raise DomainError(Error.WITHDRAWAL_NOT_SETTLED, days=get_policy().settlement_days)
        instant = gateway == SANDBOX_PAYOUT
        withdrawal = Withdrawal.objects.create(
            user=acting_user,
            amount=amount,
            gateway=gateway,
            account=account,
            account_name=account_name[:64],
            out_biz_no=new_trade_no("WD"),
            status=WithdrawalStatus.PAID if instant else WithdrawalStatus.PENDING,
            created_at=now,
            done_at=now if instant else None,
        )
        ledger.transfer(
            f"withdrawal:{withdrawal.pk}",
            EntryKind.WITHDRAWAL,
            wallet,
            clearing_code(gateway),
            amount,
            actor=acting_user.username,
            memo=f"提现 {withdrawal.pk}",
        )
        if not instant:
            retries.try_again(PAYOUT_TIMER, PAYOUT_JOB, withdrawal.pk, 0, now)
        else:
            withdrawal_paid(withdrawal)  # notifications and webhooks hear of it (kameng.wallet.events)
    return withdrawal


@jobs.job(PAYOUT_JOB)
def send_payout(withdrawal_id: int) -> str:
    """Call the payout gateway (outside any transaction): transfer, or ask about one it accepted."""
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    if withdrawal.status != WithdrawalStatus.PENDING:
        return withdrawal.status
    gateway = payout_gateway(withdrawal.gateway, for_new=False)
    try:
        accepted = bool(withdrawal.gateway_reference)
        result = gateway.payout_status(withdrawal) if accepted else gateway.payout(withdrawal)
    except GatewayError as exc:
        retries.note_gateway_error(Withdrawal, withdrawal_id, exc)
        return WithdrawalStatus.PENDING
    return settle_payout(withdrawal_id, result)


def settle_payout(withdrawal_id: int, result: PayoutResult) -> str:
    """Record the gateway's answer: paid; failed (the money back to the wallet); or still processing."""
    now = clock_now()
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
        if withdrawal.status != WithdrawalStatus.PENDING:
            return withdrawal.status
        withdrawal.attempts += 1
        withdrawal.last_error = ""
        withdrawal.gateway_reference = result.reference or withdrawal.gateway_reference
        if result.outcome == PayoutOutcome.PAID:
            withdrawal.status, withdrawal.done_at = WithdrawalStatus.PAID, now
        elif result.outcome == PayoutOutcome.FAILED:
            ledger.transfer(
                f"withdrawal-failed:{withdrawal.pk}",
                EntryKind.WITHDRAWAL_FAILED,
                clearing_code(withdrawal.gateway),
                ledger.wallet_code(withdrawal.user_id),
                withdrawal.amount,
                actor=f"gateway:{withdrawal.gateway}",
                memo=f"提现失败退回 {withdrawal.pk}"[:255],
            )
            withdrawal.status, withdrawal.done_at = WithdrawalStatus.FAILED, now
            withdrawal.failure_reason = result.reason[:200]
        if withdrawal.status != WithdrawalStatus.PENDING:
            timers.cancel(PAYOUT_TIMER, str(withdrawal.pk))
        withdrawal.save()
        if withdrawal.status == WithdrawalStatus.PAID:
            withdrawal_paid(withdrawal)
        return withdrawal.status


@timers.handler(PAYOUT_TIMER)
def retry_payout(target: str, now: datetime) -> None:
    """Timer: a payout without a final answer is sent (or asked about) again after commit."""
    withdrawal = Withdrawal.objects.filter(pk=int(target), status=WithdrawalStatus.PENDING).first()
    if withdrawal is not None:
        retries.try_again(PAYOUT_TIMER, PAYOUT_JOB, withdrawal.pk, withdrawal.attempts, now)
