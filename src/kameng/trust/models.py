"""Trust data: credit facts (one row per countable happening), the stored credit per shop,
sanctions (the audit log of shop status changes), reviews, and the sync cursors."""

from django.conf import settings
from django.db import models


class CreditFact(models.Model):
    """One countable happening for a shop's credit or the platform statistics.

    kind: order | case | response (value = seconds) | timeout | fault | refund | overturned |
    resolved (value = seconds to close, outcome = resolution) | decision (value = 1 inside SLA,
    0 outside, null unknown) | off_platform | rating (value = stars).
    `key` makes every fact idempotent: reading the same event twice adds nothing.
    """

    shop = models.ForeignKey("catalog.Shop", on_delete=models.CASCADE, related_name="credit_facts")
    kind = models.CharField(max_length=16)
    at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    category = models.CharField(max_length=32, blank=True, default="")
    outcome = models.CharField(max_length=24, blank=True, default="")
    key = models.CharField(max_length=80, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "kind", "at"], name="creditfact_shop"),
            models.Index(fields=["kind", "at"], name="creditfact_kind"),
        ]


class MerchantCredit(models.Model):
    """The shop's current credit over the last 90 days, refreshed when its facts change."""

    shop = models.OneToOneField("catalog.Shop", on_delete=models.CASCADE, related_name="credit_record")
    score = models.PositiveSmallIntegerField(default=0)
    grade = models.CharField(max_length=1, default="C")
    orders_90d = models.PositiveIntegerField(default=0)
    cases_90d = models.PositiveIntegerField(default=0)
    faults_90d = models.PositiveIntegerField(default=0)
    timeouts_90d = models.PositiveIntegerField(default=0)
    refunds_90d = models.PositiveIntegerField(default=0)
    off_platform_90d = models.PositiveIntegerField(default=0)
    overturned_refusals_90d = models.PositiveIntegerField(default=0)
    dispute_rate = models.FloatField(default=0)
    merchant_fault_rate = models.FloatField(default=0)
    refund_rate = models.FloatField(default=0)
    median_response_seconds = models.FloatField(null=True, blank=True)
    rating_average = models.FloatField(null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    tenure_days = models.PositiveIntegerField(default=0)
    parts = models.JSONField(default=list)  # the formula's terms, for the merchant's credit page
    sanction_target = models.CharField(max_length=16, default="active")  # what the credit alone calls for
    # An operator's override holds the status; the baseline is what the credit called for then.
    override_baseline = models.CharField(max_length=16, null=True, blank=True)
    computed_at = models.DateTimeField()
    refresh_due_at = models.DateTimeField()  # next day, or when the oldest fact leaves the window

    class Meta:
        indexes = [models.Index(fields=["refresh_due_at"], name="credit_refresh_due")]


class SanctionEvent(models.Model):
    """Audit log of every shop status change (限制流量 / 清退 / 恢复), automatic or by an operator."""

    shop = models.ForeignKey("catalog.Shop", on_delete=models.CASCADE, related_name="sanction_events")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    source = models.CharField(max_length=8)  # auto | admin
    reason = models.TextField()
    rule = models.CharField(max_length=48, blank=True, default="")  # kameng.policy.rulebook id applied
    cases = models.JSONField(default=list)  # the refund cases whose faults it rests on
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    grade = models.CharField(max_length=1, blank=True, default="")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["shop", "-id"], name="sanction_shop")]


class Review(models.Model):
    """A buyer's rating of one finished order: once, 1–5 stars and text."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="review")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="reviews")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    stars = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["shop", "-id"], name="review_shop")]
        constraints = [models.CheckConstraint(condition=models.Q(stars__gte=1, stars__lte=5), name="review_stars_1_5")]


class SyncCursor(models.Model):
    """How far the credit sync has read a source table (orders, case events, messages)."""

    source = models.CharField(max_length=32, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
