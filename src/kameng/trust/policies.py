"""The published rules (退款标准 / 纠纷处理时效 / 信用公式) as one document, for /policies and /rules."""

from kameng.catalog.clauses import published_clauses
from kameng.errors import is_english
from kameng.policy import rulebook
from kameng.policy.defaults import SPECIAL_TERMS
from kameng.policy.laws import PUBLISHED
from kameng.policy.services import get_policy
from kameng.security.offplatform import FLAG, WARNING, WARNING_EN

from . import rules

# The articles the rules page cites, worded once in kameng.policy.laws.
LAWS = [{"law": law.short, "text": law.gist, "text_en": law.gist_en} for law in PUBLISHED]


def published_policies(english: bool | None = None) -> dict:
    """`english`: the language of each rule's `text` (None: the active language; `text_en` is always there)."""
    english = is_english() if english is None else english
    policy = get_policy()
    weights = policy.values.get("credit_weights") or {}
    suspend_after = int(policy.values.get("suspend_after_overturned_refusals") or rules.SUSPEND_AFTER_OVERTURNED)
    categories = []
    for code, data in policy.categories.items():
        categories.append(
            {
                "code": code,
                "name": data.get("name", code),
                "name_en": data.get("name_en", code),
                "class": data["class"],
                "no_reason_refund": data.get("no_reason", ""),
                "special_goods": data["class"] == "customized",
                "refund_rule": data.get("rule", ""),
                "refund_rule_en": data.get("rule_en", ""),
                "refund_ratios": data.get("ratios") or rules.REFUND_STANDARDS.get(code, []),
            }
        )
    return {
        "categories": categories,
        "special_terms": list(SPECIAL_TERMS),
        "used_goods_rule": rules.NO_DEFECT_AFTER_USE,
        "deadlines": {
            "merchant_respond_hours": policy.merchant_respond_hours,
            "buyer_respond_days": policy.buyer_respond_days,
            "arbitration_working_days": policy.arbitration_working_days,
            "fast_track_hours": policy.fast_track_hours,
            "compromise_respond_hours": policy.compromise_respond_hours,
            "appeal_days": policy.appeal_days,
            "fast_track_appeal_hours": policy.fast_track_appeal_hours,
            "deadline_reminder_hours": policy.deadline_reminder_hours,
            "default_verification_minutes": policy.default_verification_minutes,
            "default_after_sale_days": policy.default_after_sale_days,
        },
        "fast_track": {
            "threshold": policy.fast_track_threshold_fen,
            "currency": "CNY",
            "category_class": "standardized",
            "decide_within_hours": policy.fast_track_hours,
            "appeal_within_hours": policy.fast_track_appeal_hours,
            "on_merchant_silence": "refund_full",
        },
        "credit_formula": rules.published_formula(weights, suspend_after=suspend_after),
        "unfair_clauses": published_clauses(),
        "off_platform_payment": {"flag": FLAG, "warning": WARNING, "warning_en": WARNING_EN},
        "laws": LAWS,
        "rules": [rule.out(english) for rule in rulebook.all_rules(policy.categories)],
    }
