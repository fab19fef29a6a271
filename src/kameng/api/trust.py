"""Trust endpoints: published policies and statistics, shop credit, reviews, sanctions."""

from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import Field, StrictInt, WithJsonSchema

from kameng.accounts.models import Role
from kameng.aftersales import precedents
from kameng.aftersales.models import Outcome, Precedent, Reason
from kameng.catalog.models import Shop, ShopStatus
from kameng.errors import DomainError, Error, is_english
from kameng.orders.services import get_order_for
from kameng.trust import services
from kameng.trust.models import Review, SanctionEvent
from kameng.trust.policies import published_policies
from kameng.trust.stats import platform_stats

from .base import iso, paginate, require_role
from .catalog import Credit, RefundRatio, ReviewOut, ReviewSummary, UnfairClause
from .contract import Cursor, Fen, Id, Limit, Out, PathId, QueryInt, Timestamp, enum_of, page_of, raises

ShopStatusName = Annotated[str, enum_of(ShopStatus)]

router = Router(tags=["trust"])


class ReviewIn(Schema):
    stars: StrictInt  # 1–5; true/"5" are not stars
    text: str = ""


class SanctionIn(Schema):
    status: ShopStatusName
    reason: str


class ShopCredit(Credit):
    shop: Id
    status: ShopStatusName


class SanctionOut(Out):
    id: Id
    shop: Id
    from_status: ShopStatusName
    to_status: ShopStatusName
    source: str
    reason: str
    rule: str | None  # the rulebook id it applied (GET /policies `rules`); None for an operator's own reason
    cases: list[Id]  # the refund cases it rests on
    actor: Id | None
    score: int | None
    grade: str | None
    at: Timestamp


class SanctionResult(Out):
    shop: Id
    status: ShopStatusName
    event: SanctionOut


# ---- /policies and /stats --------------------------------------------------------------------------


class PolicyCategory(Out):
    code: str
    name: str
    name_en: str
    class_: Annotated[str, enum_of("standardized", "customized")] = Field(alias="class")
    no_reason_refund: str
    special_goods: bool
    refund_rule: str
    refund_rule_en: str
    refund_ratios: list[RefundRatio]
    commission_bp: int  # the platform's commission on each release, in basis points (100 = 1%)


class SettlementPolicy(Out):
    settlement_days: int  # T+N: released money becomes withdrawable N days after its release


class PolicyDeadlines(Out):
    merchant_respond_hours: int
    buyer_respond_days: int
    arbitration_working_days: int
    fast_track_hours: int
    fast_track_appeal_hours: int
    compromise_respond_hours: int
    appeal_days: int
    deadline_reminder_hours: int
    default_verification_minutes: int
    default_after_sale_days: int


class FastTrackPolicy(Out):
    threshold: Fen
    currency: str
    category_class: str
    decide_within_hours: int
    appeal_within_hours: int
    on_merchant_silence: str


class FormulaTerm(Out):
    code: str
    zh: str
    en: str


class GradeBand(Out):
    grade: str
    min_score: int


class SanctionRule(Out):
    when: str
    status: str
    rule: str | None = None
    zh: str
    en: str


class CreditFormula(Out):
    version: str
    window_days: int
    weights: dict[str, int]
    terms: list[FormulaTerm]
    rounding: str
    grades: list[GradeBand]
    merchant_fault: str
    merchant_fault_en: str
    sanctions: list[SanctionRule]


class OffPlatformPolicy(Out):
    flag: str
    warning: str
    warning_en: str


class LawOut(Out):
    law: str
    text: str
    text_en: str


class RuleOut(Out):
    """A rule a decision or a sanction cites, by its stable id (the rules page's #rule-<id>)."""

    id: str
    text: str  # in the caller's language (Accept-Language)
    text_en: str
    laws: list[str]  # the articles behind it, from the law table


class PoliciesOut(Out):
    """The published rules: categories and refund standards, deadlines, fast track, the credit formula."""

    categories: list[PolicyCategory]
    special_terms: list[str]
    used_goods_rule: str
    deadlines: PolicyDeadlines
    fast_track: FastTrackPolicy
    credit_formula: CreditFormula
    unfair_clauses: list[UnfairClause]
    off_platform_payment: OffPlatformPolicy
    laws: list[LawOut]
    rules: list[RuleOut]
    settlement: SettlementPolicy


class CategoryStats(Out):
    orders: int
    cases: int
    dispute_rate: float | None
    resolved: int
    median_resolution_seconds: float | None
    decided_within_sla_share: float | None


class WeekStats(Out):
    week_start: str
    orders: int
    cases: int
    dispute_rate: float | None
    resolved: int
    median_resolution_seconds: float | None
    decided: int
    decided_within_sla_share: float | None


class StatsOut(Out):
    window_days: int
    since: Timestamp
    until: Timestamp
    orders: int
    cases: int
    dispute_rate: float | None
    resolved: int
    median_resolution_seconds: float | None
    decided: int
    decided_within_sla: int
    decided_within_sla_share: float | None
    by_category: dict[str, CategoryStats]
    by_outcome: dict[str, int]
    weekly: list[WeekStats]


def _shop(shop_id: str) -> Shop:
    try:
        return Shop.objects.get(pk=int(shop_id))
    except (ValueError, Shop.DoesNotExist):
        raise DomainError(Error.SHOP_NOT_FOUND) from None


@router.get("/policies", response=PoliciesOut, auth=None, by_alias=True)
def policies(request):
    """The published rules (退款标准, 纠纷处理时效, the credit formula)."""
    return published_policies()


@router.get("/stats", response=StatsOut, auth=None)
@raises(Error.STATS_DAYS_INVALID, Error.STATS_WEEKS_INVALID)
def stats(
    request,
    days: Annotated[QueryInt, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 365})] = 90,
    weeks: Annotated[QueryInt, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 52})] = 12,
):
    """Platform statistics: dispute rate, time to resolution, share decided inside the SLA."""
    if not (1 <= days <= 365):
        raise DomainError(Error.STATS_DAYS_INVALID, param="days")
    if not (1 <= weeks <= 52):
        raise DomainError(Error.STATS_WEEKS_INVALID, param="weeks")
    return platform_stats(days=days, weeks=weeks)


@router.get("/shops/{shop_id}/credit", response=ShopCredit, auth=None)
@raises(Error.SHOP_NOT_FOUND)
def shop_credit(request, shop_id: PathId):
    """A shop's credit and the figures behind it."""
    shop = _shop(shop_id)
    data = services.credit_for_shop(shop)
    return {"shop": str(shop.pk), "status": shop.status, **data}


@router.get("/shops/{shop_id}/reviews", response=page_of(ReviewOut, summary=(ReviewSummary, ...)), auth=None)
@raises(Error.SHOP_NOT_FOUND, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def shop_reviews(request, shop_id: PathId, limit: Limit = 20, starting_after: Cursor = None):
    """A shop's reviews, newest first, with their count and average."""
    shop = _shop(shop_id)
    qs = Review.objects.filter(shop=shop).select_related("buyer", "order")
    page = paginate(qs, limit, starting_after, services.review_out)
    page["summary"] = services.review_summary(shop)
    return page


@router.post("/orders/{order_id}/review", response={201: ReviewOut})
@raises(Error.ORDER_NOT_FOUND, Error.REVIEW_BUYER_ONLY, Error.REVIEW_STARS_INVALID, Error.REVIEW_TEXT_TOO_LONG)
@raises(Error.REVIEW_ALREADY_WRITTEN, Error.REVIEW_NOT_ALLOWED_YET)
def create_review(request, order_id: PathId, payload: ReviewIn):
    """The buyer reviews a completed order (once)."""
    order = get_order_for(order_id, request.auth)
    review = services.add_review(order, acting_user=request.auth, stars=payload.stars, text=payload.text)
    return Status(201, services.review_out(review))


@router.get("/orders/{order_id}/review", response=ReviewOut)
@raises(Error.ORDER_NOT_FOUND, Error.REVIEW_NOT_FOUND)
def get_review(request, order_id: PathId):
    """The order's review."""
    order = get_order_for(order_id, request.auth)
    review = Review.objects.filter(order=order).select_related("buyer", "order").first()
    if review is None:
        raise DomainError(Error.REVIEW_NOT_FOUND)
    return services.review_out(review)


@router.post("/shops/{shop_id}/sanction", response=SanctionResult)
@raises(Error.WRONG_ROLE, Error.SHOP_NOT_FOUND, Error.SANCTION_STATUS_INVALID, Error.SANCTION_REASON_REQUIRED)
def sanction(request, shop_id: PathId, payload: SanctionIn):
    """An admin restricts, suspends or restores a shop (recorded with the reason)."""
    require_role(request, Role.ADMIN)
    shop = _shop(shop_id)
    event = services.set_sanction(shop, acting_user=request.auth, status=payload.status, reason=payload.reason)
    shop.refresh_from_db()
    return {"shop": str(shop.pk), "status": shop.status, "event": services.sanction_out(event)}


@router.get("/shops/{shop_id}/sanctions", response=page_of(SanctionOut))
@raises(Error.WRONG_ROLE, Error.SHOP_NOT_FOUND, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def shop_sanctions(request, shop_id: PathId, limit: Limit = 20, starting_after: Cursor = None):
    """A shop's sanction history (its merchant and staff)."""
    shop = _shop(shop_id)
    if not services.can_see_sanctions(shop, request.auth):
        require_role(request, Role.ADMIN)  # 403: the shop is public, its audit log is not
    return paginate(SanctionEvent.objects.filter(shop=shop), limit, starting_after, services.sanction_out)


@router.get("/sanctions", response=page_of(SanctionOut))
@raises(Error.WRONG_ROLE, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def all_sanctions(request, limit: Limit = 20, starting_after: Cursor = None):
    """Every sanction, newest first (admins and arbitrators)."""
    require_role(request, Role.ADMIN, Role.ARBITRATOR)
    return paginate(SanctionEvent.objects.all(), limit, starting_after, services.sanction_out)


class PrecedentRuleOut(Out):
    """The rule the decision applied, as worded when it was made (GET /policies `rules`)."""

    id: str
    text: str


class PrecedentOut(Out):
    """A final decision, anonymized: no names, shop names, order numbers, contacts or evidence."""

    id: Id
    category: str
    reason: Annotated[str, enum_of(Reason)]
    outcome: Annotated[str, enum_of(Outcome)]
    requested_amount: Fen
    refunded_amount: Fen
    rule: PrecedentRuleOut | None
    rationale: str
    decided_at: Timestamp


def precedent_out(precedent: Precedent, english: bool) -> dict:
    return {
        "id": str(precedent.pk),
        "category": precedent.category,
        "reason": precedent.reason,
        "outcome": precedent.outcome,
        "requested_amount": precedent.requested_amount,
        "refunded_amount": precedent.refunded_amount,
        "rule": precedents.rule_ref(precedent, english),
        "rationale": precedent.rationale,
        "decided_at": iso(precedent.decided_at),
    }


@router.get("/precedents", response=page_of(PrecedentOut), auth=None)
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID, Error.PRECEDENT_REASON_INVALID, Error.PRECEDENT_OUTCOME_INVALID)
def list_precedents(
    request,
    category: str = "",
    reason: Annotated[str, enum_of(Reason)] | None = None,
    outcome: Annotated[str, enum_of(Outcome)] | None = None,
    limit: Limit = 20,
    starting_after: Cursor = None,
):
    """Final decisions, published anonymized, newest first; filters by category, reason and outcome."""
    if reason and reason not in Reason.values:
        raise DomainError(Error.PRECEDENT_REASON_INVALID, param="reason")
    if outcome and outcome not in Outcome.values:
        raise DomainError(Error.PRECEDENT_OUTCOME_INVALID, param="outcome")
    english = is_english()
    qs = precedents.published(category=category, reason=reason or "", outcome=outcome or "")
    return paginate(qs, limit, starting_after, lambda p: precedent_out(p, english))


class ConsistencyOut(Out):
    """One arbitrator's first decisions that became final, and what appeals did to them."""

    arbitrator: Id
    username: str
    decisions: int
    appealed: int
    changed: int  # the appeal changed the outcome or the amount
    reversed: int  # the appeal changed the outcome
    changed_share: float | None
    reversed_share: float | None


class ConsistencyList(Out):
    data: list[ConsistencyOut]


@router.get("/arbitration/consistency", response=ConsistencyList)
@raises(Error.WRONG_ROLE)
def arbitration_consistency(request):
    """Per arbitrator: the share of final decisions changed or reversed on appeal (admins)."""
    require_role(request, Role.ADMIN)
    return {"data": precedents.consistency()}
