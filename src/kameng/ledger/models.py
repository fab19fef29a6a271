from enum import StrEnum

from django.db import models


class AccountKind(StrEnum):
    WALLET = "wallet"  # a user's spendable balance (buyer or merchant); never negative
    ESCROW = "escrow"  # one per order: the buyer's money held until release or refund; never negative
    # 先行赔付 (the platform advances a refund the merchant cannot pay) is booked here, against the
    # merchant: negative = what the merchant owes the platform.
    MERCHANT_DEBT = "merchant_debt"
    PLATFORM = "platform"  # the platform's own income: the commission taken on each release (issue 17)
    GATEWAY = "gateway"  # a payment gateway's clearing account; negative = money brought in


NON_NEGATIVE = (AccountKind.WALLET, AccountKind.ESCROW)


class EntryKind(StrEnum):
    """What a journal entry is; the value is stored in JournalEntry.kind (the audit log shows `money.<kind>`)."""

    TOPUP = "topup"  # gateway → wallet: a verified payment notification (a top-up, or an order's payment)
    PURCHASE = "purchase"  # wallet → escrow: the price, or the deposit (定金) of a staged payment
    PURCHASE_BALANCE = "purchase_balance"  # wallet → escrow: the balance (尾款) of a staged payment
    RELEASE = "release"  # escrow → merchant wallet, net of 先行赔付 recovered into the merchant's debt
    REFUND = "refund"  # escrow, merchant wallet or the platform's advance (merchant debt) → buyer wallet
    WITHDRAWAL = "withdrawal"  # wallet → the payout gateway (提现)
    WITHDRAWAL_FAILED = "withdrawal_failed"  # the payout gateway → wallet: a payout that failed comes back
    GATEWAY_REFUND = "gateway_refund"  # buyer wallet → the payment's gateway: 原路退回 by the original route
    GATEWAY_REFUND_UNDONE = "gateway_refund_undone"  # gateway → buyer wallet: the gateway cannot refund it


class Account(models.Model):
    code = models.CharField(max_length=64, unique=True)  # e.g. "wallet:user:7", "escrow:order:12"
    kind = models.CharField(max_length=16)  # an AccountKind, derived from the code's prefix
    # Cached sum of postings; updated under a row lock in the same transaction as the postings.
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0) | ~models.Q(kind__in=[k.value for k in NON_NEGATIVE]),
                name="account_wallet_escrow_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.balance})"


class JournalEntry(models.Model):
    """One money movement. The idempotency key makes running it twice a no-op by construction.

    Append-only, and its postings sum to zero: on PostgreSQL the database refuses anything else
    (migrations 0002 and 0003); corrections are reversing entries.
    """

    idempotency_key = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=32)  # an EntryKind
    memo = models.CharField(max_length=255, blank=True, default="")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField()


class Posting(models.Model):
    """One side of an entry (a leg, in django-hordak's words): one account, one signed amount."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField()  # positive: into the account; negative: out of it

    class Meta:
        indexes = [models.Index(fields=["account", "id"], name="posting_account")]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="posting_nonzero")]
