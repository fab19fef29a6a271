"""Orders, their event log and their chat. The statuses are the lifecycle's (orders/lifecycle.py)."""

from django.conf import settings
from django.db import models

from .lifecycle import EscrowStatus, OrderStatus

__all__ = ["EscrowStatus", "Message", "Order", "OrderEvent", "OrderStatus"]


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True, null=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="orders")
    listing = models.ForeignKey("catalog.Listing", on_delete=models.PROTECT, related_name="orders")
    listing_version = models.ForeignKey("catalog.ListingVersion", on_delete=models.PROTECT, related_name="orders")
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    amount = models.PositiveBigIntegerField()  # fen, price × quantity
    deposit_amount = models.PositiveBigIntegerField(default=0)  # staged payment: paid up front
    balance_due = models.PositiveBigIntegerField(default=0)  # staged payment: still to pay
    refunded_amount = models.PositiveBigIntegerField(default=0)
    # Both change only through orders.services.transition, by the lifecycle table ("" until the purchase).
    status = models.CharField(max_length=24, choices=OrderStatus.choices)
    escrow_status = models.CharField(max_length=16, choices=EscrowStatus.choices)
    release_at = models.DateTimeField(null=True, blank=True)
    special_terms_accepted = models.BooleanField(default=False)
    # {terms, sha256, confirmed_at}: exactly the special terms the buyer ticked (实施条例第十九条)
    special_terms_confirmation = models.JSONField(null=True, blank=True)
    topup_target = models.CharField(max_length=120, blank=True, default="")
    delivery_content = models.TextField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    after_sale_until = models.DateTimeField(null=True, blank=True)
    warranty_until = models.DateTimeField(null=True, blank=True)  # 找回包赔: the kept share is released then
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Direct checkout: the gateway the buyer pays through ("wallet": paid at once from the balance),
    # and the moment its reserved stock is released if no payment came.
    pay_with = models.CharField(max_length=16, default="wallet")
    payment_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["buyer", "-id"], name="order_buyer"),
            models.Index(fields=["shop", "-id"], name="order_shop"),
        ]

    @property
    def paid_amount(self) -> int:
        return self.amount - self.balance_due

    @property
    def refundable_amount(self) -> int:
        """What can still go back to the buyer: what was paid, less what was refunded already."""
        return self.paid_amount - self.refunded_amount


class OrderEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_role = models.CharField(max_length=16)  # buyer | merchant | system …
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["order", "id"], name="orderevent_order")]


class Message(models.Model):
    """Order chat (交易留言). Immutable: evidence for any later case."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    body = models.TextField()
    flags = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["order", "id"], name="message_order")]
