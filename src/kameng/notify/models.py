"""Merchants' integrations: notification channels (one apprise URL per channel) with the log of
every sending, and signed webhook endpoints with the log of every delivery. Both logs are the
outbox: a row is written in the transaction of the event it tells of and sent after it commits,
retried with back-off (kameng.notify.outbox) while it fails."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("邮件")
    TELEGRAM = "telegram", _("Telegram")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")
    BARK = "bark", _("Bark")
    SERVERCHAN = "serverchan", _("Server酱")
    JSON = "json", _("自定义 JSON 接口")  # apprise's json:// — any HTTP endpoint of the merchant's


class SendStatus(models.TextChoices):
    PENDING = "pending", _("待发送")  # queued, or waiting for its next attempt
    SENT = "sent", _("已送达")
    FAILED = "failed", _("发送失败")  # every attempt failed (24 h of back-off): shown on the settings page


class Attempts(models.Model):
    """One message to one destination and its attempts (the outbox row)."""

    event = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        abstract = True


class Channel(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    url = models.CharField(max_length=1000)  # a secret (tokens, passwords): shown masked, never logged
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notify_channel_per_kind")]


class Dispatch(Attempts):
    """A notice sent to one channel."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_dispatches")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    # null once the merchant removed the channel: its log stays
    channel = models.ForeignKey(Channel, null=True, on_delete=models.SET_NULL, related_name="dispatches")
    title = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="dispatch_user")]


class Endpoint(models.Model):
    """A merchant's webhook: Standard Webhooks deliveries of the events it subscribed to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=1000)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=80)  # whsec_<base64>
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)


class WebhookDelivery(Attempts):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40)  # webhook-id: the same on every retry and resend
    payload = models.TextField()  # the exact body signed and sent
    response_status = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["endpoint", "-id"], name="delivery_endpoint")]
