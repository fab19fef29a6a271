from django.conf import settings
from django.db import models


class Topup(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups")
    amount = models.PositiveBigIntegerField()
    gateway = models.CharField(max_length=32, default="sandbox")
    status = models.CharField(max_length=16, default="pending")  # pending | succeeded
    gateway_reference = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)


class PaymentNotification(models.Model):
    """Every notification a gateway sent us, verified or not (for audit and replay detection)."""

    gateway = models.CharField(max_length=32)
    notification_id = models.CharField(max_length=128)
    payload = models.TextField()
    valid = models.BooleanField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["gateway", "notification_id"], name="notification_lookup")]


class Withdrawal(models.Model):
    """提现: money paid out of a wallet through the payout gateway (sandbox: at once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.PositiveBigIntegerField()
    gateway = models.CharField(max_length=32, default="payout")
    status = models.CharField(max_length=16, default="succeeded")  # succeeded: left the wallet through the gateway
    created_at = models.DateTimeField()
