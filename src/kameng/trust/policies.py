"""The published rules (退款标准 / 纠纷处理时效 / 信用公式) as one document, for /policies and /rules."""

import re

from kameng.catalog.clauses import published_clauses
from kameng.errors import DomainError, Error, is_english
from kameng.policy import rulebook
from kameng.policy.defaults import SPECIAL_TERMS
from kameng.policy.laws import PUBLISHED
from kameng.policy.services import get_policy
from kameng.security.offplatform import FLAG, WARNING, WARNING_EN

from . import rules

# The articles the rules page cites, worded once in kameng.policy.laws.
LAWS = [{"law": law.short, "text": law.gist, "text_en": law.gist_en} for law in PUBLISHED]


def refund_ratios(policy, code: str) -> list[dict]:
    """A category's refund ratios ({scenario, scenario_en, ratio}): the operator's, else the defaults."""
    return policy.category(code).get("ratios") or rules.REFUND_STANDARDS.get(code, [])


_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d+)?)\s*%$")


def parse_refund_ratios(text: str) -> list[dict]:
    """The policy page's refund ratios, one per line: "中文场景 | English scenario | ratio" (a percentage
    such as 100%, or words such as 未交付里程碑金额). At most 10; a percentage above 100% is refused."""
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[2] or any(len(p) > 120 for p in parts):
            raise DomainError(Error.POLICY_REFUND_RATIOS_INVALID, param="ratios")
        percent = _PERCENT.match(parts[2])
        if percent and float(percent.group(1)) > 100:
            raise DomainError(Error.POLICY_REFUND_RATIOS_INVALID, param="ratios")
        rows.append({"scenario": parts[0], "scenario_en": parts[1], "ratio": parts[2]})
    if len(rows) > 10:
        raise DomainError(Error.POLICY_REFUND_RATIOS_INVALID, param="ratios")
    return rows


def ratios_text(rows: list[dict]) -> str:
    return "\n".join(f"{r['scenario']} | {r.get('scenario_en', '')} | {r['ratio']}" for r in rows)


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
                "refund_ratios": refund_ratios(policy, code),
                "commission_bp": policy.commission_bp(code),
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
        "credit_formula": rules.published_formula(
            weights, suspend_after=suspend_after, floors=policy.values.get("grade_floors")
        ),
        "settlement": {"settlement_days": policy.settlement_days},
        "unfair_clauses": published_clauses(),
        "off_platform_payment": {"flag": FLAG, "warning": WARNING, "warning_en": WARNING_EN},
        "laws": LAWS,
        "rules": [rule.out(english) for rule in rulebook.all_rules(policy.categories)],
    }
