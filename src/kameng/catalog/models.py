from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ShopStatus(models.TextChoices):
    ACTIVE = "active", _("正常经营")  # trades normally
    RESTRICTED = "restricted", _("限制流量")  # grade D: listings demoted in search (限制流量)
    SUSPENDED = "suspended", _("已清退")  # grade E or repeated unreasonable refusals (清退): hidden, no new orders


class ListingKind(models.TextChoices):
    CARD_KEY = "card_key", _("自动发卡")  # delivered automatically from stock
    ACCOUNT = "account", _("账号交付")  # the merchant hands over an account by hand
    DIRECT_TOPUP = "direct_topup", _("直充")  # the merchant tops up the buyer's account (topup_target)
    SERVICE = "service", _("人工服务")  # boosting, design …: delivered by hand, confirmed by the buyer


class DeliveryOrder(models.TextChoices):
    """Which unsold card key a purchase takes (发卡顺序)."""

    OLDEST = "oldest", _("先入库先发")  # first in, first out: the oldest unsold key
    RANDOM = "random", _("随机发卡")  # any unsold key: a leaked import order does not predict the next key


class ListingStatus(models.TextChoices):
    ACTIVE = "active", _("在售")  # buyers find and buy it
    INACTIVE = "inactive", _("已下架")  # hidden from buyers; orders already made are unaffected


class Shop(models.Model):
    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shop")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, default=ShopStatus.ACTIVE)
    # Merchant's published service promise (问题响应时限 / 退款处理时限).
    response_promise_hours = models.PositiveIntegerField(default=1)
    refund_promise_hours = models.PositiveIntegerField(default=24)
    contact = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Listing(models.Model):
    """The current version of a listing; every edit also writes a ListingVersion."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="listings")
    version = models.PositiveIntegerField(default=1)
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=32)
    kind = models.CharField(max_length=16)
    price = models.PositiveBigIntegerField()  # fen
    description = models.TextField(blank=True, default="")
    promises = models.JSONField(default=list)
    after_sale_days = models.PositiveIntegerField(default=7)
    verification_minutes = models.PositiveIntegerField(default=24 * 60)
    no_reason_refund = models.BooleanField(default=False)
    deposit_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    special_terms = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    status = models.CharField(max_length=16, default="active")  # active | inactive
    # Card keys: which key a purchase takes, and the unsold count at which the merchant is told (0: never).
    delivery_order = models.CharField(max_length=8, choices=DeliveryOrder.choices, default=DeliveryOrder.OLDEST)
    low_stock_threshold = models.PositiveIntegerField(default=0)
    # 找回包赔: that many days after delivery, warranty_amount (null: the whole price) stays in escrow.
    warranty_days = models.PositiveIntegerField(default=0)
    warranty_amount = models.PositiveBigIntegerField(null=True, blank=True)  # fen, per unit
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["category", "status"], name="listing_category")]

    def __str__(self) -> str:
        return self.title


class ListingVersion(models.Model):
    """An immutable copy of a listing as it was; orders point at the one they bought."""

    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["listing", "version"], name="listing_version_unique")]


class StockItem(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="stock")
    secret = models.TextField()
    secret_hash = models.CharField(max_length=64)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_items"
    )
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)  # 作废: the merchant withdrew the unsold key

    class Meta:
        constraints = [models.UniqueConstraint(fields=["listing", "secret_hash"], name="stock_unique_per_listing")]
        indexes = [
            models.Index(
                fields=["listing", "id"],
                name="stock_unsold",
                condition=models.Q(order__isnull=True, voided_at__isnull=True),
            ),
        ]
