"""The buyer's three checks (三查) before paying: the platform (its protections and live
statistics), the merchant (credit, reviews) and the listing (its category's refund rule, terms and
the unfair clauses flagged on it)."""

from kameng.catalog.models import Listing
from kameng.policy.services import get_policy

from . import rules
from .models import Review
from .policies import refund_ratios
from .services import current_credit, review_out, review_summary
from .stats import platform_summary

RULES_URL = "/rules/"


def three_checks(listing: Listing) -> dict:
    """查平台、查商家、查商品: everything a buyer should see before paying, in one place."""
    shop = listing.shop
    record = current_credit(shop)
    policy = get_policy()
    category = policy.category(listing.category)
    reviews = review_summary(shop)
    latest = [
        review_out(r) for r in Review.objects.filter(shop=shop).select_related("buyer", "order").order_by("-pk")[:3]
    ]
    return {
        "platform": {
            "rules_url": RULES_URL,
            "policies_url": "/api/v1/policies",
            "stats_url": "/api/v1/stats",
            **platform_summary(),
            "protections": [
                "担保交易：货款由平台托管，确认收货或验货期结束后才放款给商家",
                f"商家须在 {policy.merchant_respond_hours} 小时内处理售后申请，超时不回复的小额标准化商品自动全额退款",
                f"平台仲裁 {policy.arbitration_working_days} 个工作日内出结果（¥{policy.fast_track_threshold_fen // 100} 以下标准化商品 {policy.fast_track_hours} 小时）",
                "退款只在平台内原路退回，不要站外付款或退款",
            ],
        },
        "merchant": {
            "shop": str(shop.pk),
            "name": shop.name,
            "status": shop.status,
            "profile_url": f"/merchants/{shop.pk}/",
            "tenure_days": record.tenure_days,
            "refund_rate": record.refund_rate,
            "dispute_rate": record.dispute_rate,
            "merchant_fault_rate": record.merchant_fault_rate,
            "credit": {"score": record.score, "grade": record.grade},
            "reviews": {**reviews, "latest": latest},
        },
        "listing": {
            "category": listing.category,
            "category_name": category.get("name", listing.category),
            "category_class": category["class"],
            "refund_rule": category.get("rule", ""),
            "refund_standards": refund_ratios(policy, listing.category),
            "no_reason_refund": listing.no_reason_refund,
            "after_sale_days": listing.after_sale_days,
            "trial_window_minutes": listing.verification_minutes,
            "deposit_percent": listing.deposit_percent,
            "special_terms": list(listing.special_terms),
            "unfair_clauses": list(listing.warnings),
            "used_goods_rule": rules.NO_DEFECT_AFTER_USE,
            "after_sale_contact": {
                "channel": "order_chat",
                "text": "下单后在订单页“交易留言”联系商家，售后在订单页“申请售后”",
                "contact": shop.contact or None,
                "response_promise_hours": shop.response_promise_hours,
                "refund_promise_hours": shop.refund_promise_hours,
            },
        },
    }
