"""The rules a decision or a sanction can cite, with stable ids (GET /policies `rules`, the rules page's
#rule-<id> anchors, a decision's `rule`, a sanction's `rule`). Texts are plain Chinese and English;
the laws behind each come from the one law table. Ids never change meaning: a new rule gets a new id.
"""

from dataclasses import dataclass

from . import laws
from .laws import Law


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    text_en: str
    laws: tuple[Law, ...] = ()

    @property
    def anchor(self) -> str:
        """The rules page's anchor: /rules/#rule-<id>."""
        return f"rule-{self.id}"

    def text_for(self, english: bool) -> str:
        return self.text_en if english else self.text

    def out(self, english: bool = False) -> dict:
        """GET /policies `rules` item: `text` in the caller's language, `text_en` always."""
        return {
            "id": self.id,
            "text": self.text_for(english),
            "text_en": self.text_en,
            "laws": [law.short for law in self.laws],
        }

    def ref(self, english: bool = False) -> dict:
        """A decision's `rule`: {id, text}."""
        return {"id": self.id, "text": self.text_for(english)}


def _category_rules(categories: dict) -> list[Rule]:
    return [
        Rule(
            f"category.{code}",
            f"{data.get('name', code)}：{data.get('rule', '')}",
            f"{data.get('name_en', code)}: {data.get('rule_en', '')}",
            (laws.CPL_24,),
        )
        for code, data in categories.items()
    ]


GENERAL = (
    Rule(
        "quality.seven_days",
        "商品无效、有缺陷或与描述不符，交付后七日内申请售后一律受理，即使商品页的售后期更短。",
        "A claim that goods are invalid, defective or not as described is always accepted within seven days "
        "of delivery, even where the listing's after-sale window is shorter.",
        (laws.CPL_24, laws.ECL_51),
    ),
    Rule(
        "used_goods",
        "已使用但不影响主要功能的商品不予退款；影响主要功能的缺陷即使已使用仍可退款。使用痕迹由仲裁员与缺陷证据一并衡量，"
        "不会自动驳回。",
        "Goods used without a defect that affects their main function are not refunded; a defect that affects "
        "the main function is refunded even after use. Evidence of use is weighed with the defect evidence, "
        "never an automatic rejection.",
        (laws.CPL_24,),
    ),
    Rule(
        "no_reason.seven_days",
        "商品页写明支持无理由退款的，交付后七日内可以不说明理由退款；在线交付的数字化商品交付后依法不适用。",
        "Where the listing offers no-reason refunds, the buyer may return within seven days of delivery without "
        "a reason; digital goods delivered online are excluded by law once delivered.",
        (laws.CPL_25, laws.NO_REASON_MEASURES),
    ),
    Rule(
        "special_goods",
        "定制类商品（特殊商品）只有在买家下单时逐单确认特殊条款后才不适用无理由退货；未经确认，不得拒绝无理由退货。",
        "Customized (special) goods escape no-reason returns only if the buyer confirmed the special terms on "
        "that order; without the confirmation a no-reason return may not be refused.",
        (laws.REGULATION_19, laws.INTERPRETATION_10),
    ),
    Rule(
        "fast_track",
        "标准化商品、金额低于快速通道门槛（默认 ¥200）的案件 24 小时内裁决，商家沉默自动全额退款，申诉期 24 小时。",
        "Standardized goods under the fast-track threshold (default ¥200) are decided within 24 hours; a "
        "merchant's silence refunds in full; the appeal window is 24 hours.",
    ),
    Rule(
        "merchant_silence",
        "商家在时限内不回复退款申请：快速通道自动全额退款，其他案件转平台仲裁并记入商家超时。",
        "A merchant who does not answer a refund request in time: fast-track cases are refunded in full, "
        "others go to platform arbitration and the timeout is on the merchant's record.",
    ),
    Rule(
        "unfair_clause",
        "“一经售出概不退换”“虚拟商品不退不换”“最终解释权归本店所有”等格式条款无效，不作为拒绝退款的理由；"
        "“付款后订单不成立”“订单以发货为准”同样无效。",
        "Standard clauses such as 'no refunds once sold', 'virtual goods are never refunded' or 'the shop has "
        "the final say' are void and never a reason to refuse a refund; so are 'the order is not formed by "
        "payment' clauses.",
        (*laws.EXCLUSION_LAWS, *laws.FORMATION_LAWS),
    ),
    Rule(
        "false_promotion",
        "商品页的承诺（如“100%稳定激活”）是交易内容的一部分；交付的商品达不到承诺的，按与描述不符处理。",
        "A listing's promises (such as '100% stable activation') are part of the deal; goods that fail them "
        "are not as described.",
        (laws.ECL_17, laws.CPL_24),
    ),
)

SANCTIONS = (
    Rule(
        "credit.restricted",
        "信用等级 D 且近 90 天有商家责任记录（判定商家责任、超时未回复、拒绝后被推翻或引导站外交易）：限制流量。",
        "Grade D with a merchant fault on record in the last 90 days (a case decided against the merchant, a "
        "timeout, a refusal overturned, or off-platform solicitation): restricted.",
    ),
    Rule(
        "credit.suspended",
        "信用等级 E 且近 90 天有商家责任记录：清退（商品下架、不能接新订单，进行中的订单和售后照常处理）。",
        "Grade E with a merchant fault on record in the last 90 days: suspended (listings hidden, no new "
        "orders; open orders and cases continue).",
    ),
    Rule(
        "credit.overturned",
        "近 90 天多次（默认 3 次）拒绝退款后被推翻：清退。",
        "Refusals later overturned several times (default 3) in 90 days: suspended.",
    ),
)


def all_rules(categories: dict) -> list[Rule]:
    """Every rule in force: the category refund rules (from the policy's categories), then the rest."""
    return [*_category_rules(categories), *GENERAL, *SANCTIONS]


def find(rule_id: str, categories: dict) -> Rule | None:
    return next((rule for rule in all_rules(categories) if rule.id == rule_id), None)


def decision_rules(categories: dict, first_category: str | None = None) -> list[Rule]:
    """The rules a refund decision can cite (the credit rules are for sanctions): the category refund
    rules and the general ones; `first_category`'s own rule first (the decide form's order)."""
    rules = [*_category_rules(categories), *GENERAL]
    if first_category:
        own = f"category.{first_category}"
        rules.sort(key=lambda rule: rule.id != own)  # stable: the rest keep the rulebook's order
    return rules


def find_decision_rule(rule_id: str, categories: dict) -> Rule | None:
    return next((rule for rule in decision_rules(categories) if rule.id == rule_id), None)
