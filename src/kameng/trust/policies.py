"""The published rules (退款标准 / 纠纷处理时效 / 信用公式) as one document, for /policies and /rules."""

from kameng.catalog.clauses import published_clauses
from kameng.orders.offplatform import FLAG, WARNING, WARNING_EN
from kameng.policy.defaults import SPECIAL_TERMS
from kameng.policy.services import get_policy

from . import rules

LAWS = [
    {
        "law": "《消费者权益保护法》第二十四条",
        "text": "商品不符合质量要求的，消费者可以依照国家规定、当事人约定退货；没有规定或约定的，可在收货之日起七日内退货。",
    },
    {
        "law": "《消费者权益保护法》第二十五条",
        "text": "网络购买商品七日无理由退货；在线下载或者消费者拆封的计算机软件等数字化商品、定作商品等除外。",
    },
    {
        "law": "《消费者权益保护法》第二十六条",
        "text": "经营者不得以格式条款、通知、声明、店堂告示等方式作出排除或者限制消费者权利、减轻或者免除经营者责任的规定，其内容无效。",
    },
    {
        "law": "《电子商务法》第四十九条",
        "text": "电子商务经营者不得以格式条款等方式约定消费者支付价款后合同不成立；格式条款等含有该内容的，其内容无效。",
    },
    {
        "law": "《民法典》第四百九十七条",
        "text": "不合理地免除或者减轻其责任、加重对方责任、限制对方主要权利，或排除对方主要权利的格式条款无效。",
    },
]


def published_policies() -> dict:
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
            "deadline_reminder_hours": policy.deadline_reminder_hours,
            "default_verification_minutes": policy.default_verification_minutes,
            "default_after_sale_days": policy.default_after_sale_days,
        },
        "fast_track": {
            "threshold": policy.fast_track_threshold_fen,
            "currency": "CNY",
            "category_class": "standardized",
            "decide_within_hours": policy.fast_track_hours,
            "on_merchant_silence": "refund_full",
        },
        "credit_formula": rules.published_formula(weights, suspend_after=suspend_after),
        "unfair_clauses": published_clauses(),
        "off_platform_payment": {"flag": FLAG, "warning": WARNING, "warning_en": WARNING_EN},
        "laws": LAWS,
    }
