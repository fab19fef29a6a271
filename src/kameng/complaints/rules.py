"""What a complaint package claims, and on which law: pure decisions over a case's facts (no ORM, no I/O).

外部维权 (external channels): when the platform fails a buyer, the buyer files a 12315 complaint,
an online-arbitration application (only where the user agreement has an arbitration clause), a
small-claims 民事起诉状 for a court, or a police report. This module decides, from the facts alone,
the demands (诉求/仲裁请求) and the legal basis; `documents` words them for each recipient.

The fraud rule (欺诈, 《消费者权益保护法》第五十五条): the package claims three times the price,
at least ¥500, on top of the refund, when fraud is alleged, that is when
  - the channel is `police`: a report to the police is an allegation of fraud by definition; or
  - the buyer says the goods are not as described (`not_as_described`) and the listing as bought
    carried an absolute promise ("100%…", "百分百…", "百分之百…"): goods that fail a promise of
    certainty make that promise false promotion (虚假宣传), the textbook case of 欺诈.
Defects, missing service, no-reason returns, and not-as-described without such a promise claim
the refund only; a buyer who has proof of fraud there can still add the claim by hand.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from kameng.catalog import clauses
from kameng.money import rmb, yuan
from kameng.policy.laws import (
    CLAUSE_LAWS,
    CPL_24,
    CPL_25,
    CPL_44,
    CPL_55,
    ECL_17,
    EXCLUSION_LAWS,
    NO_REASON_MEASURES,
    REGULATION_19,
    Law,
)

CHANNELS = ("12315", "arbitration", "court", "police")
# Who the seller and the platform are in each channel's document.
SELLER = {"12315": "被投诉人一", "arbitration": "被申请人一", "court": "被告一", "police": "对方"}

NOT_AS_DESCRIBED, DEFECTIVE, SERVICE_MISSING, NO_REASON = (
    "not_as_described",
    "defective",
    "service_missing",
    "no_reason",
)
QUALITY_REASONS = (NOT_AS_DESCRIBED, DEFECTIVE, SERVICE_MISSING)

TREBLE_FACTOR = 3
TREBLE_MINIMUM_FEN = 50000  # 第五十五条: 增加赔偿的金额不足五百元的，为五百元

# The complainant's details every recipient asks for (《市场监督管理投诉举报处理暂行办法》 names
# name, phone and address for a 12315 complaint; arbitration and the police ask for the same).
PROFILE_FIELDS = {"real_name": "姓名", "phone": "联系电话", "address": "通讯地址"}
REQUIRED_PROFILE_FIELDS = {channel: tuple(PROFILE_FIELDS) for channel in CHANNELS}


def arbitration_clause(commission: str, operator: str) -> str:
    """The user agreement's optional arbitration clause (仲裁法第十六条: the wish to arbitrate, the matters,
    the commission). Optional for the buyer, who may always go to court instead; binding on merchants."""
    return (
        f"买家与商家因在{operator}达成的交易发生争议，协商或平台处理不成的，买家可以选择将争议提交{commission}"
        f"按照其网络仲裁规则仲裁，仲裁裁决是终局的；买家也可以不选择仲裁，依法向人民法院起诉。"
        "商家入驻时同意：买家选择仲裁的，商家接受仲裁。"
    )


def blank(label: str) -> str:
    """A clearly marked blank for the buyer to fill in by hand; never an invented value."""
    return f"【请填写：{label}】"


# The clause detector (kameng.catalog.clauses) records, per unfair clause, the laws that void it
# (their short citations); the documents cite the same laws formally.


@dataclass(frozen=True)
class Decision:
    """The platform's own decision on the case (the appeal decision when there is one); local time."""

    outcome: str  # refund_full | refund_partial | no_refund | compromise
    amount: int
    decided_at: datetime
    final: bool
    rationale: str = ""
    appeal: bool = False


@dataclass(frozen=True)
class CaseFacts:
    reason: str
    price: int  # 价款: what the goods cost (order amount, fen)
    requested: int  # what the buyer asked back
    refunded: int  # what the platform has already paid back on this case
    promises: tuple[str, ...] = ()
    warnings: tuple[dict, ...] = ()  # unfair clauses flagged on the listing: {text, law}
    delivered: bool = True
    category: str = ""
    description: str = ""
    decision: Decision | None = None


@dataclass(frozen=True)
class Basis:
    law: Law
    point: str  # why it applies to these facts


@dataclass(frozen=True)
class Demand:
    kind: str  # refund | treble_damages | void_clause | platform_decision | mediation | costs | investigate
    text: str
    amount: int | None = None


@dataclass(frozen=True)
class Claims:
    demands: list[Demand] = field(default_factory=list)
    basis: list[Basis] = field(default_factory=list)
    fraud_alleged: bool = False

    @property
    def total_amount(self) -> int:
        return sum(d.amount or 0 for d in self.demands)


# ---- facts → findings ----------------------------------------------------------------------


def absolute_promises(promises) -> list[str]:
    """Promises of certainty ("100%稳定激活", "百分百到账"), full-width forms included."""
    found = []
    for promise in promises:
        norm = unicodedata.normalize("NFKC", promise or "").replace(" ", "")
        if "100%" in norm or "百分百" in norm or "百分之百" in norm:
            found.append(promise)
    return found


def promises_contradicted(f: CaseFacts) -> bool:
    """The buyer says the goods are not as described, and the listing made promises about them."""
    return f.reason == NOT_AS_DESCRIBED and bool(f.promises)


def fraud_alleged(f: CaseFacts, channel: str) -> bool:
    """See the module docstring: police channel, or not-as-described against an absolute promise."""
    return channel == "police" or (f.reason == NOT_AS_DESCRIBED and bool(absolute_promises(f.promises)))


def treble_damages(price: int) -> int:
    """第五十五条: three times the price, and never less than ¥500."""
    return max(TREBLE_FACTOR * price, TREBLE_MINIMUM_FEN)


def unpaid_refund(f: CaseFacts) -> int:
    """What the buyer asked back and has not received yet."""
    return max(f.requested - f.refunded, 0)


_RECLAIM_WORDS = ("找回", "收回", "被改密", "改了密码", "改密码", "换绑", "被盗回", "封号", "冻结")


def fraud_conduct(f: CaseFacts) -> list[str]:
    """The kinds of fraud the facts point at, for the police report (涉嫌的行为)."""
    conduct = []
    if not f.delivered:
        conduct.append("收款后未交付商品")
    if f.category == "game_account" and any(w in (f.description or "") for w in _RECLAIM_WORDS):
        conduct.append("出售游戏账号后又将账号找回（找回包赔承诺未兑现）")
    if promises_contradicted(f):
        conduct.append("虚假宣传：商品页面承诺与实际交付不符")
    if f.reason == DEFECTIVE and f.delivered:
        conduct.append("出售无效或虚假的商品（疑似售假）")
    if not conduct:
        conduct.append("收取货款后未按约定提供商品或服务")
    return conduct


def clause_laws(warnings) -> list[Law]:
    """The laws that void the unfair clauses the platform flagged: by the clause's kind (so a warning
    stored before a citation was corrected is cited rightly now), else as the warning recorded them."""
    laws: list[Law] = []
    for warning in warnings:
        if not isinstance(warning, dict):
            continue
        matched = clauses.laws_for(warning.get("text", "")) or [
            law for law in CLAUSE_LAWS if law.short in warning.get("law", "")
        ]
        for law in matched or EXCLUSION_LAWS:
            if law not in laws:
                laws.append(law)
    return sorted(laws, key=CLAUSE_LAWS.index)


def clause_texts(warnings) -> list[str]:
    return [w.get("text", "") for w in warnings if isinstance(w, dict) and w.get("text")]


def legal_basis(f: CaseFacts, channel: str) -> list[Basis]:
    """Each law the facts call for, with the reason it applies. Order: the claim, the clauses, the fraud."""
    basis: list[Basis] = []
    if f.reason in QUALITY_REASONS:
        what = {
            NOT_AS_DESCRIBED: "商品与描述不符",
            DEFECTIVE: "商品存在功能缺陷、无法正常使用",
            SERVICE_MISSING: "商家未提供承诺的服务",
        }[f.reason]
        basis.append(Basis(CPL_24, f"{what}，不符合质量要求和双方约定，消费者有权退货并要求退款。"))
    elif f.reason == NO_REASON:
        basis.append(Basis(CPL_25, "本商品为网络购买，且商品页面明示支持无理由退货，消费者有权在七日内无理由退货。"))
        basis.append(
            Basis(REGULATION_19, "经营者未以显著方式标注并经消费者在购买时确认该商品不宜退货，不得拒绝无理由退货。")
        )
        basis.append(
            Basis(NO_REASON_MEASURES, "数字化商品只有经消费者在购买时单独确认不宜退货，才不适用七日无理由退货。")
        )
    clauses = clause_texts(f.warnings)
    if f.warnings:
        quoted = "、".join(f"“{c}”" for c in clauses) or "排除消费者权利的条款"
        for law in clause_laws(f.warnings):
            basis.append(
                Basis(
                    law,
                    f"商品页面所载{quoted}属于排除消费者权利、免除经营者责任的格式条款，依法无效，"
                    "不能作为拒绝退款的理由。",
                )
            )
    if promises_contradicted(f):
        promised = "、".join(f"“{p}”" for p in f.promises)
        basis.append(
            Basis(ECL_17, f"商家在商品页面承诺{promised}，实际交付的商品与之不符，属于虚假或者引人误解的商业宣传。")
        )
    if fraud_alleged(f, channel):
        basis.append(
            Basis(
                CPL_55,
                f"经营者的上述行为构成欺诈，消费者有权要求退还货款，并要求按价款三倍增加赔偿"
                f"（不足五百元的为五百元），即 {yuan(treble_damages(f.price))}。",
            )
        )
    if channel in ("12315", "arbitration", "court"):
        basis.append(
            Basis(
                CPL_44,
                "本人通过网络交易平台购买商品，平台经营者应当提供销售者的真实名称、地址和有效联系方式，"
                "不能提供的，应当承担赔偿责任，故一并列为"
                + {"12315": "被投诉人", "arbitration": "被申请人", "court": "被告"}[channel]
                + "。",
            )
        )
    return basis


def _decision_label(decision: Decision) -> str:
    return {
        "refund_full": "全额退款",
        "refund_partial": "部分退款",
        "no_refund": "不予退款",
        "compromise": "折中方案",
    }.get(decision.outcome, decision.outcome)


def decision_summary(decision: Decision) -> str:
    when = f"{decision.decided_at:%Y年%m月%d日}"
    what = _decision_label(decision)
    money = f" {yuan(decision.amount)}" if decision.outcome != "no_refund" else ""
    kind = "申诉复核裁决" if decision.appeal else "裁决"
    return f"平台于{when}作出{kind}：{what}{money}"


def demands(f: CaseFacts, channel: str) -> list[Demand]:
    """The specific demands (诉求 / 仲裁请求 / 报案请求), worded for the channel's recipient."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    out: list[Demand] = []
    unpaid = unpaid_refund(f)
    fraud = fraud_alleged(f, channel)
    seller = SELLER[channel]
    if channel == "police":
        if unpaid:
            out.append(
                Demand("investigate", f"请求公安机关依法立案侦查，追回本人被骗取的款项 {yuan(unpaid)}。", unpaid)
            )
        else:
            out.append(Demand("investigate", "请求公安机关依法立案侦查。"))
        out.append(
            Demand(
                "treble_damages",
                f"本人保留依据{CPL_55.cite}要求经营者按价款三倍增加赔偿 "
                f"{yuan(treble_damages(f.price))}（不足五百元的按五百元计）的权利。",
            )
        )
    else:
        verb = {"12315": "要求", "arbitration": "请求裁决", "court": "判令"}[channel]
        if unpaid:
            text = f"{verb}{seller}退还货款{rmb(unpaid)}"
            if f.refunded:
                text += f"（申请退款 {yuan(f.requested)}，已退 {yuan(f.refunded)}）"
            out.append(Demand("refund", text + "。", unpaid))
        if fraud:
            treble = treble_damages(f.price)
            out.append(
                Demand(
                    "treble_damages",
                    f"{verb}{seller}按价款 {yuan(f.price)} 的三倍增加赔偿{rmb(treble)}"
                    f"（{CPL_55.cite}，不足五百元的为五百元）。",
                    treble,
                )
            )
        if f.warnings:
            clauses = "、".join(f"“{c}”" for c in clause_texts(f.warnings))
            verb_void = {"12315": "要求确认", "arbitration": "请求确认", "court": "确认"}[channel]
            out.append(Demand("void_clause", f"{verb_void}商品页面所载格式条款{clauses}无效。"))
    if f.decision is not None:
        out.append(Demand("platform_decision", _decision_demand(f, f.decision, channel)))
    if channel == "12315":
        out.append(Demand("mediation", "请求市场监督管理部门依法组织调解，并对被投诉人的上述违法行为依法调查处理。"))
    elif channel == "arbitration":
        out.append(Demand("costs", "请求裁决本案仲裁费用由被申请人承担。"))
    elif channel == "court":
        out.append(Demand("costs", "本案诉讼费用由被告承担。"))
    return out


def _decision_demand(f: CaseFacts, decision: Decision, channel: str) -> str:
    parts = [decision_summary(decision)]
    unexecuted = decision.outcome != "no_refund" and decision.amount > f.refunded
    if unexecuted:
        parts.append(f"至今未执行完毕（已退 {yuan(f.refunded)}）")
    if decision.amount < f.requested:
        ask = {
            "12315": "请求依法重新处理",
            "arbitration": "请求仲裁庭依法重新认定",
            "court": "请求人民法院依法认定",
            "police": "请予查明",
        }[channel]
        parts.append(f"本人对此不服，{ask}")
    elif unexecuted:
        parts.append("请求督促其履行")
    return "，".join(parts) + "。"


def claims(f: CaseFacts, channel: str) -> Claims:
    return Claims(demands=demands(f, channel), basis=legal_basis(f, channel), fraud_alleged=fraud_alleged(f, channel))
