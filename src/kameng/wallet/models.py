from django.conf import settings
from django.db import models


class PaymentStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"  # the gateway's verified money reached the buyer's wallet


class Payment(models.Model):
    """Money a user pays in through a gateway, for a purpose (a top-up, an order, …).

    The gateway-neutral record every adapter works on: `out_trade_no` is what the gateway knows it
    by, `purpose`/`ref` what the money is for (the handler registered for `purpose` decides; see
    `wallet.payments`). A top-up is a payment with purpose "topup" (the API's `/wallet/topups`).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveBigIntegerField()
    gateway = models.CharField(max_length=32, default="sandbox")
    purpose = models.CharField(max_length=32, default="topup")
    ref = models.CharField(max_length=64, blank=True, default="")  # the purpose's object, e.g. an order id
    subject = models.CharField(max_length=128, blank=True, default="")  # shown by the gateway (商品名称)
    out_trade_no = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=16, default=PaymentStatus.PENDING)
    gateway_reference = models.CharField(max_length=128, blank=True, default="")  # the gateway's trade_no
    pay_url = models.CharField(max_length=2048, blank=True, default="")
    code_url = models.CharField(max_length=512, blank=True, default="")  # WeChat Native: the QR code's content
    refunded_amount = models.PositiveBigIntegerField(default=0)  # sent back by the original route (原路退回)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["purpose", "ref"], name="payment_purpose_ref")]


class RefundStatus(models.TextChoices):
    PENDING = "pending"  # booked back to the gateway's clearing account; the gateway has not confirmed yet
    SUCCEEDED = "succeeded"  # the gateway confirmed: the money went back by the original route
    WALLET = "wallet"  # the gateway cannot refund: the money stays in the buyer's wallet (recorded)


class PaymentRefund(models.Model):
    """原路退回: part or all of a payment sent back through its gateway, once per key, retried until confirmed."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    key = models.CharField(max_length=128, unique=True)  # the caller's idempotency key (e.g. refund:case:7)
    out_refund_no = models.CharField(max_length=32, unique=True)  # what the gateway knows the refund by
    amount = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=16, default=RefundStatus.PENDING)
    gateway_reference = models.CharField(max_length=128, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)


class PaymentNotification(models.Model):
    """Every notification a gateway sent us, verified or not (for audit and replay detection)."""

    gateway = models.CharField(max_length=32)
    notification_id = models.CharField(max_length=128)
    payload = models.TextField()
    valid = models.BooleanField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["gateway", "notification_id"], name="notification_lookup")]


class WithdrawalStatus(models.TextChoices):
    PENDING = "pending"  # left the wallet; the payout gateway has not confirmed yet
    PAID = "paid"  # the payout gateway confirmed the transfer
    FAILED = "failed"  # the payout failed: the money went back to the wallet


class Withdrawal(models.Model):
    """提现: money paid out of a wallet through a payout gateway (`payout`: the sandbox, paid at once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.PositiveBigIntegerField()
    gateway = models.CharField(max_length=32, default="payout")
    account = models.CharField(max_length=128, blank=True, default="")  # Alipay login id / WeChat openid
    account_name = models.CharField(max_length=64, blank=True, default="")  # the payee's real name (实名校验)
    out_biz_no = models.CharField(max_length=32, unique=True)  # what the payout gateway knows it by
    status = models.CharField(max_length=16, default=WithdrawalStatus.PENDING)
    gateway_reference = models.CharField(max_length=128, blank=True, default="")
    failure_reason = models.CharField(max_length=200, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
