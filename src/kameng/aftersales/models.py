"""Refund cases: the case row (its phase, the public status derived from it, the deadlines
running in it), its append-only events, and in-app notices. The lifecycle itself is data, in
kameng.aftersales.lifecycle; the labels of the codes live on the enums below."""

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    """The contract's public status; each Phase shows exactly one of them."""

    AWAITING_MERCHANT = (
        "awaiting_merchant",
        _("待商家处理"),
    )  # merchant accepts, offers or rejects by merchant_respond_by
    AWAITING_BUYER = "awaiting_buyer", _("待买家答复")  # buyer answers the offer/rejection by buyer_respond_by
    IN_ARBITRATION = "in_arbitration", _("平台仲裁中")  # an arbitrator must decide by decide_by
    DECIDED = "decided", _("已裁决")  # final when accepted, the appeal window passes, or a compromise is agreed
    IN_APPEAL = "in_appeal", _("申诉复核中")  # a different arbitrator must decide, finally
    CLOSED = "closed", _("已结束")  # final; money has moved


class Phase(StrEnum):
    """Every real state of a case (the sub-states a status hides are states of their own here)."""

    AWAITING_MERCHANT = "awaiting_merchant"  # the merchant accepts, offers or rejects by merchant_respond_by
    AWAITING_BUYER_OFFER = "awaiting_buyer_offer"  # the buyer accepts the offer, escalates or withdraws
    AWAITING_BUYER_REJECTED = "awaiting_buyer_rejected"  # no offer to accept: the buyer escalates or withdraws
    AWAITING_BUYER_REPLACEMENT = "awaiting_buyer_replacement"  # 补发: the buyer accepts the new goods or escalates
    IN_ARBITRATION = "in_arbitration"  # an arbitrator decides (or proposes a compromise) by decide_by
    IN_ARBITRATION_BINDING = "in_arbitration_binding"  # a compromise failed: only a binding decision now
    COMPROMISE_PROPOSED = "compromise_proposed"  # both parties answer the compromise by compromise_respond_by
    APPEAL_WINDOW = "appeal_window"  # decided: the losing side accepts, or either appeals once, by appeal_by
    IN_APPEAL = "in_appeal"  # a different arbitrator decides, finally, by decide_by
    CLOSED = "closed"  # final; money has moved


OPEN_STATUSES = (
    CaseStatus.AWAITING_MERCHANT,
    CaseStatus.AWAITING_BUYER,
    CaseStatus.IN_ARBITRATION,
    CaseStatus.DECIDED,
    CaseStatus.IN_APPEAL,
)


class Actor(models.TextChoices):
    """Who acts on a case (an event's actor_role); the system acts when a deadline passes."""

    BUYER = "buyer", _("买家")
    MERCHANT = "merchant", _("商家")
    ARBITRATOR = "arbitrator", _("仲裁员")
    ADMIN = "admin", _("平台运营")
    SYSTEM = "system", _("系统")


class Reason(models.TextChoices):
    NOT_AS_DESCRIBED = "not_as_described", _("描述不符")
    DEFECTIVE = "defective", _("功能缺陷")
    SERVICE_MISSING = "service_missing", _("服务缺失")
    NO_REASON = "no_reason", _("无理由退款")  # only where the listing allows it
    RECLAIMED = "reclaimed", _("账号被找回")  # 找回: a game account taken back, only inside the warranty


class Outcome(models.TextChoices):
    REFUND_FULL = "refund_full", _("全额退款")
    REFUND_PARTIAL = "refund_partial", _("部分退款")
    NO_REFUND = "no_refund", _("不予退款")
    COMPROMISE = "compromise", _("折中方案")  # a proposal both parties must accept within 48 h


class Resolution(models.TextChoices):
    REFUND_FULL = "refund_full", _("全额退款")
    REFUND_PARTIAL = "refund_partial", _("部分退款")
    NO_REFUND = "no_refund", _("不予退款")
    WITHDRAWN = "withdrawn", _("买家撤回")
    REPLACED = "replaced", _("商家已补发")  # no money moved: the merchant sent new goods and the buyer kept them


class RefundCase(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refund_cases")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refund_cases")
    shop = models.ForeignKey("catalog.Shop", on_delete=models.PROTECT, related_name="refund_cases")
    phase = models.CharField(max_length=32, default=Phase.AWAITING_MERCHANT)  # lifecycle.PHASES
    status = models.CharField(max_length=20, default=CaseStatus.AWAITING_MERCHANT)  # always PHASES[phase].status
    reason = models.CharField(max_length=20)
    description = models.TextField()
    requested_amount = models.PositiveBigIntegerField()
    refunded_amount = models.PositiveBigIntegerField(default=0)
    fast_track = models.BooleanField(default=False)
    merchant_timed_out = models.BooleanField(default=False)
    offer_amount = models.PositiveBigIntegerField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True, default="")
    # 补发: {items: [stock item ids], content, at} — the keys themselves stay in stock, secret
    replacement = models.JSONField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)

    # Arbitration. `claimed_by` keeps two arbitrators off one case.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="claimed_cases"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
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
    text = models.CharField(max_length=500)  # the Chinese rendering (emails, rows older than `template`)
    # What the notice is made of, rendered in the reader's language (aftersales.notifications).
    template = models.CharField(max_length=500, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Where it went besides this inbox: [{channel: "in_app"|"email"|a notification channel's kind,
    # to: the masked address}] (kameng.aftersales.inbox); empty for notices older than the field.
    delivered_to = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="notification_user")]

    def shown(self) -> str:
        """The notice in the active language (its stored Chinese text when it has no template)."""
        if not self.template:
            return self.text
        from .notifications import render

        return render(self.template, self.params)


class Precedent(models.Model):
    """A final decision, published anonymized (GET /precedents, /precedents/): written in the transaction
    that makes the decision final (kameng.aftersales.precedents.publish), once per case. The parties, the
    shop, the order and the evidence are not in it; the rationale is scrubbed of names and contacts.
    The first decision and what the appeal did to it are kept for the arbitrators' consistency figures."""

    case = models.OneToOneField(RefundCase, on_delete=models.PROTECT, related_name="precedent")
    category = models.CharField(max_length=40)
    reason = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20)  # the standing decision's Outcome
    requested_amount = models.PositiveBigIntegerField()
    refunded_amount = models.PositiveBigIntegerField()
    rule = models.CharField(max_length=64, blank=True, default="")  # a kameng.policy.rulebook id
    rule_text = models.TextField(blank=True, default="")
    rule_text_en = models.TextField(blank=True, default="")
    rationale = models.TextField()  # scrubbed
    decided_at = models.DateTimeField()  # when the standing decision was made
    published_at = models.DateTimeField()  # when it became final
    first_arbitrator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="first_precedents"
    )
    first_outcome = models.CharField(max_length=20)
    first_amount = models.PositiveBigIntegerField()
    appealed = models.BooleanField(default=False)
    changed_on_appeal = models.BooleanField(default=False)  # the appeal changed the outcome or the amount
    reversed_on_appeal = models.BooleanField(default=False)  # the appeal changed the outcome

    class Meta:
        indexes = [
            # the public list's filters, newest first (each filter alone or with the others)
            models.Index(fields=["category", "reason", "outcome", "-id"], name="precedent_filters"),
            models.Index(fields=["category", "-id"], name="precedent_category"),
            models.Index(fields=["reason", "-id"], name="precedent_reason"),
            models.Index(fields=["outcome", "-id"], name="precedent_outcome"),
            # similar cases: same category and reason, nearest amount (two ordered scans)
            models.Index(fields=["category", "reason", "requested_amount"], name="precedent_similar"),
            # the consistency figures, per arbitrator
            models.Index(fields=["first_arbitrator", "appealed"], name="precedent_arbitrator"),
        ]
