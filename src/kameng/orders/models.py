"""Orders, their event log and their chat. The statuses are the lifecycle's (orders/lifecycle.py)."""

from django.conf import settings
from django.db import models

from .lifecycle import EscrowStatus, OrderStatus

__all__ = ["EscrowStatus", "GuestAccess", "GuestToken", "Message", "Order", "OrderEvent", "OrderStatus"]


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True, null=True)
    # db_index=False: the indexes order_buyer and order_shop below lead with these columns.
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="orders", db_index=False)
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


class GuestAccess(models.Model):
    """免注册购买: an order bought without an account. The buyer is a user of its own that can never
    log in; the order is found again by its number and the query password (stored hashed), and each
    lookup issues a bearer token scoped to this one order (GuestToken)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="guest")
    contact = models.CharField(max_length=120)  # an email address or a mainland mobile number
    password_hash = models.CharField(max_length=128)  # Django's password hasher
    created_at = models.DateTimeField()


class GuestToken(models.Model):
    """A lookup_token: a bearer token for one guest order (its page, chat and refund request), stored hashed."""

    access = models.ForeignKey(GuestAccess, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
