from enum import StrEnum

from django.conf import settings
from django.db import models


class CaseStatus(StrEnum):
    AWAITING_MERCHANT = "awaiting_merchant"  # merchant must accept, offer or reject by merchant_respond_by
    AWAITING_BUYER = "awaiting_buyer"  # buyer must answer the offer/rejection by buyer_respond_by
    IN_ARBITRATION = "in_arbitration"  # an arbitrator must decide by decide_by
    DECIDED = "decided"  # decision made; final when accepted, appeal window passes, or compromise agreed
    IN_APPEAL = "in_appeal"  # a different arbitrator must decide, finally
    CLOSED = "closed"  # final; money has moved


OPEN_STATUSES = (
    CaseStatus.AWAITING_MERCHANT,
    CaseStatus.AWAITING_BUYER,
    CaseStatus.IN_ARBITRATION,
    CaseStatus.DECIDED,
    CaseStatus.IN_APPEAL,
)


class Reason(StrEnum):
    NOT_AS_DESCRIBED = "not_as_described"  # 描述不符
    DEFECTIVE = "defective"  # 功能缺陷
    SERVICE_MISSING = "service_missing"  # 服务缺失
    NO_REASON = "no_reason"  # 无理由, only where the listing allows it


class Outcome(StrEnum):
    REFUND_FULL = "refund_full"
    REFUND_PARTIAL = "refund_partial"
    NO_REFUND = "no_refund"
    COMPROMISE = "compromise"  # a proposal both parties must accept within 48 h


class Resolution(StrEnum):
    REFUND_FULL = "refund_full"
    REFUND_PARTIAL = "refund_partial"
    NO_REFUND = "no_refund"
    WITHDRAWN = "withdrawn"


class RefundCase(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refund_cases")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refund_cases")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="refund_cases")
    status = models.CharField(max_length=20, default=CaseStatus.AWAITING_MERCHANT)
    reason = models.CharField(max_length=20)
    description = models.TextField()
    requested_amount = models.PositiveBigIntegerField()
    refunded_amount = models.PositiveBigIntegerField(default=0)
    fast_track = models.BooleanField(default=False)
    merchant_timed_out = models.BooleanField(default=False)
    offer_amount = models.PositiveBigIntegerField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True, default="")
    first_response_at = models.DateTimeField(null=True, blank=True)

    # Arbitration. `claimed_by` keeps two arbitrators off one case.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_cases"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    binding_required = models.BooleanField(default=False)  # a compromise failed: no second compromise
    decision = models.JSONField(null=True, blank=True)  # {outcome, amount, rationale, arbitrator, decided_at, final}
    first_arbitrator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="first_decisions"
    )
    compromise_answers = models.JSONField(default=dict)  # {"buyer": bool, "merchant": bool}
    decision_acceptances = models.JSONField(default=list)  # roles that sent accept_decision
    appeal = models.JSONField(null=True, blank=True)  # {by, reason, at, decision}
    resolution = models.CharField(max_length=16, null=True, blank=True)

    merchant_respond_by = models.DateTimeField(null=True, blank=True)
    buyer_respond_by = models.DateTimeField(null=True, blank=True)
    decide_by = models.DateTimeField(null=True, blank=True)
    compromise_respond_by = models.DateTimeField(null=True, blank=True)
    appeal_by = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "decide_by"], name="case_queue"),
            # The arbitration queue and the overdue count: an ordered scan that stops after one
            # page, however many cases there are (an IN over two statuses of case_queue must sort).
            models.Index(
                fields=["decide_by", "id"],
                name="case_arbitration_due",
                condition=models.Q(status__in=["in_arbitration", "in_appeal"]),
            ),
            models.Index(fields=["buyer", "-id"], name="case_buyer"),
            models.Index(fields=["shop", "-id"], name="case_shop"),
        ]
        constraints = [
            # One open case per order, enforced by the database too.
            models.UniqueConstraint(
                fields=["order"],
                name="one_open_case_per_order",
                condition=models.Q(status__in=[s.value for s in OPEN_STATUSES]),
            ),
        ]


class CaseEvent(models.Model):
    """Append-only timeline: every transition, timeout and money movement of a case."""

    case = models.ForeignKey(RefundCase, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_role = models.CharField(max_length=16)  # buyer | merchant | arbitrator | admin | system
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, blank=True, default="")
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["case", "id"], name="caseevent_case"),
            models.Index(fields=["type", "at"], name="caseevent_type_at"),
        ]


class Notification(models.Model):
    """In-app notice to a user (also emailed through Django's email backend)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(RefundCase, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=32)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="notification_user")]
