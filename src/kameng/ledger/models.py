from enum import StrEnum

from django.db import models


class AccountKind(StrEnum):
    WALLET = "wallet"  # a user's spendable balance (buyer or merchant); never negative
    ESCROW = "escrow"  # one per order: the buyer's money held until release or refund; never negative
    MERCHANT_DEBT = "merchant_debt"  # negative = what a merchant owes after 先行赔付
    GATEWAY = "gateway"  # a payment gateway's clearing account; negative = money brought in
    PLATFORM = "platform"  # the platform's own funds (advances, fees)


NON_NEGATIVE = (AccountKind.WALLET, AccountKind.ESCROW)


class Account(models.Model):
    code = models.CharField(max_length=64, unique=True)  # e.g. "wallet:user:7", "escrow:order:12"
    kind = models.CharField(max_length=16)
    # Cached sum of postings; updated under a row lock in the same transaction as the postings.
    balance = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.code} ({self.balance})"


class JournalEntry(models.Model):
    """One money movement. The idempotency key makes running it twice a no-op by construction."""

    idempotency_key = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=32)  # topup, purchase, release, refund, advance …
    memo = models.CharField(max_length=255, blank=True, default="")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    case_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField()


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField()  # positive: into the account; negative: out of it

    class Meta:
        indexes = [models.Index(fields=["account", "id"], name="posting_account")]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="posting_nonzero")]
