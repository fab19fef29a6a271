"""Pure trust rules: the published credit formula (商家信用评级), grades, sanctions, and which
credit facts a refund-case event produces. No ORM, no I/O — /policies and the rules page
publish exactly these numbers.
"""

from dataclasses import dataclass, field
from datetime import datetime

from kameng.policy.defaults import GRADE_FLOORS, SUSPEND_AFTER_OVERTURNED

WINDOW_DAYS = 90
FORMULA_VERSION = "2026-1"

# Every weight is a default an operator may override (policy key "credit_weights").
DEFAULT_WEIGHTS: dict[str, float] = {
    "base": 80,
    "tenure_max": 10,
    "tenure_full_days": 180,  # + up to 10 for 180 days on the platform
    "volume_max": 10,
    "volume_full_orders": 100,  # + up to 10 for 100 orders in 90 days
    "rating_per_star": 5,  # ± 5 per star away from 3 (average of the window's reviews)
    "dispute_max": 25,
    "dispute_per_rate": 100,
    "dispute_min_orders": 20,  # − 100 × cases / max(orders, 20)
    "fault_max": 30,
    "fault_per_rate": 30,
    "fault_min_cases": 3,  # − 30 × faults / max(cases, 3)
    "timeout_each": 5,
    "timeout_max": 20,
    "response_max": 10,
    "response_full_hours": 48,  # − 10 × median first response / 48 h
    "off_platform_each": 5,
    "off_platform_max": 15,
    "overturned_each": 5,
    "overturned_max": 15,
}
# The defaults; operators edit both on the policy page (policy keys "grade_floors" and
# "suspend_after_overturned_refusals").
GRADES = (*GRADE_FLOORS.items(), ("E", 0))

ACTIVE, RESTRICTED, SUSPENDED = "active", "restricted", "suspended"
SEVERITY = {ACTIVE: 0, RESTRICTED: 1, SUSPENDED: 2}


@dataclass(frozen=True)
class CreditInputs:
    """A merchant's last 90 days, as counted from credit facts."""

    orders: int = 0
    cases: int = 0  # opened: shown as the dispute rate, never scored (a claim is not a fault)
    resolved: int = 0  # cases that ended (any resolution, 补发 included)
    merchant_faults: int = 0  # cases decided against the merchant (see case_event_facts)
    timeouts: int = 0  # negotiation deadlines the merchant let pass
    refunds: int = 0  # cases that ended with money back to the buyer (accepted by the merchant or decided)
    median_response_seconds: float | None = None  # first response to a case
    tenure_days: int = 0
    rating_average: float | None = None
    rating_count: int = 0
    off_platform: int = 0  # merchant's chat messages flagged off_platform_payment
    overturned_refusals: int = 0  # rejections later overturned (accepted after all, or lost)


@dataclass(frozen=True)
class CreditResult:
    score: int
    grade: str
    dispute_rate: float
    merchant_fault_rate: float
    refund_rate: float
    parts: list[dict] = field(default_factory=list)  # {code, points, text}: why the score is what it is


def _ratio(part: int, whole: int) -> float:
    return round(min(1.0, part / whole), 4) if whole else (1.0 if part else 0.0)


def grades(floors: dict | None = None) -> tuple[tuple[str, int], ...]:
    """(grade, lowest score) from A down to E, with an operator's floors for A–D."""
    return tuple((grade, (floors or {}).get(grade, floor)) for grade, floor in GRADES[:-1]) + (("E", 0),)


def grade_for(score: int, floors: dict | None = None) -> str:
    for grade, floor in grades(floors):
        if score >= floor:
            return grade
    return "E"


def credit_score(inputs: CreditInputs, weights: dict | None = None, floors: dict | None = None) -> CreditResult:
    """The published formula. Parts below 0.05 points are left out of the explanation."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    i = inputs
    parts: list[tuple[str, float, str, str]] = [("base", w["base"], "基础分", "base score")]
    parts.append(
        (
            "tenure",
            min(w["tenure_max"], w["tenure_max"] * i.tenure_days / w["tenure_full_days"]),
            f"入驻 {i.tenure_days} 天",
            f"{i.tenure_days} days on the platform",
        )
    )
    parts.append(
        (
            "volume",
            min(w["volume_max"], w["volume_max"] * i.orders / w["volume_full_orders"]),
            f"近90天 {i.orders} 笔订单",
            f"{i.orders} orders in 90 days",
        )
    )
    if i.rating_count and i.rating_average is not None:
        parts.append(
            (
                "rating",
                (i.rating_average - 3) * w["rating_per_star"],
                f"{i.rating_count} 条评价，平均 {i.rating_average:.1f} 星",
                f"{i.rating_count} ratings, {i.rating_average:.1f} stars on average",
            )
        )
    # What the merchant did, never what a buyer merely claimed (rules.md): refunds that happened,
    # faults over the cases that ended. Open, withdrawn, replaced or rejected-and-unproven cases score nothing.
    parts.append(
        (
            "disputes",
            -min(w["dispute_max"], w["dispute_per_rate"] * i.refunds / max(i.orders, w["dispute_min_orders"])),
            f"近90天 {i.refunds} 个售后以退款结束",
            f"{i.refunds} cases ended in a refund in 90 days",
        )
    )
    parts.append(
        (
            "faults",
            -min(w["fault_max"], w["fault_per_rate"] * i.merchant_faults / max(i.resolved, w["fault_min_cases"])),
            f"{i.merchant_faults} 个案件判定商家责任",
            f"{i.merchant_faults} cases decided against the merchant",
        )
    )
    parts.append(
        (
            "timeouts",
            -min(w["timeout_max"], w["timeout_each"] * i.timeouts),
            f"{i.timeouts} 次协商超时未回复",
            f"{i.timeouts} negotiation deadlines missed",
        )
    )
    if i.median_response_seconds is not None:
        hours = i.median_response_seconds / 3600
        parts.append(
            (
                "response",
                -min(w["response_max"], w["response_max"] * hours / w["response_full_hours"]),
                f"首次响应中位时长 {hours:.1f} 小时",
                f"median first response {hours:.1f} hours",
            )
        )
    parts.append(
        (
            "off_platform",
            -min(w["off_platform_max"], w["off_platform_each"] * i.off_platform),
            f"{i.off_platform} 条引导站外交易的留言",
            f"{i.off_platform} chat messages pushing off-platform payment",
        )
    )
    parts.append(
        (
            "overturned",
            -min(w["overturned_max"], w["overturned_each"] * i.overturned_refusals),
            f"{i.overturned_refusals} 次拒绝退款后被推翻",
            f"{i.overturned_refusals} refusals later overturned",
        )
    )
    total = sum(points for _code, points, _zh, _en in parts)
    score = max(0, min(100, round(total)))
    return CreditResult(
        score=score,
        grade=grade_for(score, floors),
        dispute_rate=_ratio(i.cases, i.orders),
        merchant_fault_rate=_ratio(i.merchant_faults, i.cases),
        refund_rate=_ratio(i.refunds, i.orders),
        parts=[
            {"code": code, "points": round(points, 1), "text": text, "text_en": text_en}
            for code, points, text, text_en in parts
            if code == "base" or abs(points) >= 0.05
        ],
    )


# ---- sanctions -------------------------------------------------------------------------------


# The facts that are the merchant's own fault (商家责任): only these can sanction a shop.
FAULT_KINDS = ("fault", "timeout", "overturned", "off_platform")
# Which facts make up each scored part, so the breakdown can link the cases behind it.
PART_FACTS = {"disputes": "refund", "faults": "fault", "timeouts": "timeout", "overturned": "overturned"}


def sanction_target(
    grade: str, overturned_refusals: int, *, faults: int = 1, suspend_after: int = SUSPEND_AFTER_OVERTURNED
) -> str:
    """What the credit alone calls for: D → restricted (限制流量); E or repeated overturned refusals →
    suspended (清退) — and only with a merchant fault on record (`faults` facts of FAULT_KINDS): a low
    score made of refunds the merchant granted, without any fault, sanctions nobody."""
    if overturned_refusals >= suspend_after:
        return SUSPENDED
    if not faults:
        return ACTIVE
    if grade == "E":
        return SUSPENDED
    if grade == "D":
        return RESTRICTED
    return ACTIVE


def sanction_rule(target: str, overturned_refusals: int, *, suspend_after: int = SUSPEND_AFTER_OVERTURNED) -> str:
    """The rulebook id (kameng.policy.rulebook) a status change applies; "" when a sanction is lifted."""
    if target == SUSPENDED:
        return "credit.overturned" if overturned_refusals >= suspend_after else "credit.suspended"
    return "credit.restricted" if target == RESTRICTED else ""


def sanction_reason(
    grade: str,
    score: int,
    overturned_refusals: int,
    target: str,
    *,
    suspend_after: int = SUSPEND_AFTER_OVERTURNED,
    cases: tuple[int, ...] = (),
) -> str:
    behind = f"；依据规则 {sanction_rule(target, overturned_refusals, suspend_after=suspend_after)}" + (
        "，相关案件 " + "、".join(f"#{c}" for c in cases) if cases else ""
    )
    if target == SUSPENDED and overturned_refusals >= suspend_after:
        return f"近90天 {overturned_refusals} 次拒绝退款后被推翻（达到 {suspend_after} 次），清退{behind}"
    if target == SUSPENDED:
        return f"信用等级 E（{score} 分），清退{behind}"
    if target == RESTRICTED:
        return f"信用等级 D（{score} 分），限制流量{behind}"
    return f"信用等级恢复为 {grade}（{score} 分），解除限制流量"


def next_status(current: str, target: str, *, override_baseline: str | None) -> tuple[str, bool]:
    """Automatic sanctioning. Returns (new status, whether an operator's override ends).

    - Worse credit tightens at once: active → restricted → suspended.
    - Better credit lifts a restriction, never a suspension: 清退 is undone only by an operator.
    - After an operator's override the status holds, until the credit calls for something
      more severe than it did when the operator decided (new evidence).
    """
    if override_baseline is not None:
        if SEVERITY[target] > SEVERITY[override_baseline] and SEVERITY[target] > SEVERITY[current]:
            return target, True
        return current, False
    if SEVERITY[target] > SEVERITY[current]:
        return target, False
    if current == RESTRICTED and target == ACTIVE:
        return ACTIVE, False
    return current, False


# ---- facts from refund-case events -----------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """What the fact rules need to know about a case besides the event itself."""

    id: int
    created_at: datetime
    rejected: bool  # the merchant rejected the request at some point
    category: str


@dataclass(frozen=True)
class EventView:
    id: int
    type: str
    actor_role: str
    from_status: str
    to_status: str
    data: dict
    at: datetime


DECIDED_CLOSES = ("accept_decision", "appeal_timeout", "decide")  # a final arbitrator's decision


def case_event_facts(event: EventView, case: CaseView, *, decide_by: datetime | None = None) -> list[dict]:
    """The credit facts one case event produces: {kind, key, at, value?, outcome?}.

    Keys make them idempotent: a case has at most one response, timeout, fault, refund,
    overturned refusal and resolution fact, however often its events are read.
    merchant fault (商家责任) = the merchant accepts after rejecting or after arbitration began,
    an arbitrator's final decision refunds the buyer (first instance or appeal), or the merchant's
    silence was refunded automatically. An agreed compromise is not a fault.
    """
    facts: list[dict] = []
    cid = case.id

    def add(kind: str, key: str, value: float | None = None, outcome: str = "") -> None:
        facts.append({"kind": kind, "key": f"{key}:{cid}", "at": event.at, "value": value, "outcome": outcome})

    if event.type == "opened":
        add("case", "case")
    if (
        event.type in ("accept", "offer", "reject")
        and event.actor_role == "merchant"
        and event.from_status == "awaiting_merchant"
    ):
        add("response", "response", value=max(0.0, (event.at - case.created_at).total_seconds()))
    if event.type == "merchant_timeout":
        add("timeout", "timeout")
    if event.type == "decide" and event.actor_role == "arbitrator":
        within = None if decide_by is None else float(event.at <= decide_by)
        facts.append(
            {
                "kind": "decision",
                "key": f"decision:{cid}:{event.id}",
                "at": event.at,
                "value": within,
                "outcome": str(event.data.get("outcome", "")),
            }
        )
    if event.to_status == "closed":
        refund = int(event.data.get("refund") or 0)
        resolution = str(event.data.get("resolution") or "")
        add("resolved", "resolved", value=max(0.0, (event.at - case.created_at).total_seconds()), outcome=resolution)
        if refund > 0:
            add("refund", "refund", value=float(refund))
        fault = refund > 0 and (
            (
                event.type == "accept"
                and (
                    event.data.get("after_rejection")
                    or event.data.get("after_escalation")
                    or event.from_status == "in_arbitration"
                )
            )
            or event.type in DECIDED_CLOSES
            or event.type == "merchant_timeout"
        )
        if fault:
            add("fault", "fault")
            if case.rejected:
                add("overturned", "overturned")
    return facts


# ---- publication -----------------------------------------------------------------------------


def formula_terms(weights: dict | None = None) -> list[dict]:
    """The formula, term by term, in Chinese and English, generated from the weights in force."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    per_day = w["tenure_full_days"] / w["tenure_max"]
    per_order = w["volume_full_orders"] / w["volume_max"]
    per_hour = w["response_full_hours"] / w["response_max"]
    g = lambda v: f"{v:g}"  # noqa: E731
    return [
        {"code": "base", "zh": f"基础分 {g(w['base'])}", "en": f"base {g(w['base'])}"},
        {
            "code": "tenure",
            "zh": f"+ 入驻时长：每 {g(per_day)} 天 +1，最多 +{g(w['tenure_max'])}",
            "en": f"+ tenure: +1 per {g(per_day)} days, at most +{g(w['tenure_max'])}",
        },
        {
            "code": "volume",
            "zh": f"+ 近90天订单量：每 {g(per_order)} 单 +1，最多 +{g(w['volume_max'])}",
            "en": f"+ orders in 90 days: +1 per {g(per_order)} orders, at most +{g(w['volume_max'])}",
        },
        {
            "code": "rating",
            "zh": f"+ 评价：(平均星级 − 3) × {g(w['rating_per_star'])}",
            "en": f"+ ratings: (average stars − 3) × {g(w['rating_per_star'])}",
        },
        {
            "code": "disputes",
            "zh": f"− 退款率：{g(w['dispute_per_rate'])} × 以退款结束的售后数 ÷ max(订单数, {g(w['dispute_min_orders'])})，最多 −{g(w['dispute_max'])}（进行中、撤回、补发解决或驳回的案件不计）",
            "en": f"− refunds: {g(w['dispute_per_rate'])} × cases that ended in a refund ÷ max(orders, {g(w['dispute_min_orders'])}), at most −{g(w['dispute_max'])} (open, withdrawn, replaced or rejected cases do not count)",
        },
        {
            "code": "faults",
            "zh": f"− 商家责任：{g(w['fault_per_rate'])} × 判定商家责任的案件数 ÷ max(已结束案件数, {g(w['fault_min_cases'])})，最多 −{g(w['fault_max'])}",
            "en": f"− merchant fault: {g(w['fault_per_rate'])} × cases decided against the merchant ÷ max(cases ended, {g(w['fault_min_cases'])}), at most −{g(w['fault_max'])}",
        },
        {
            "code": "timeouts",
            "zh": f"− 协商超时：每次 −{g(w['timeout_each'])}，最多 −{g(w['timeout_max'])}",
            "en": f"− negotiation timeouts: −{g(w['timeout_each'])} each, at most −{g(w['timeout_max'])}",
        },
        {
            "code": "response",
            "zh": f"− 首次响应中位时长：每 {g(per_hour)} 小时 −1，最多 −{g(w['response_max'])}",
            "en": f"− median first response: −1 per {g(per_hour)} hours, at most −{g(w['response_max'])}",
        },
        {
            "code": "off_platform",
            "zh": f"− 引导站外交易的留言：每条 −{g(w['off_platform_each'])}，最多 −{g(w['off_platform_max'])}",
            "en": f"− chat messages pushing off-platform payment: −{g(w['off_platform_each'])} each, at most −{g(w['off_platform_max'])}",
        },
        {
            "code": "overturned",
            "zh": f"− 拒绝退款后被推翻：每次 −{g(w['overturned_each'])}，最多 −{g(w['overturned_max'])}",
            "en": f"− refusals later overturned: −{g(w['overturned_each'])} each, at most −{g(w['overturned_max'])}",
        },
    ]


def published_formula(
    weights: dict | None = None, *, suspend_after: int = SUSPEND_AFTER_OVERTURNED, floors: dict | None = None
) -> dict:
    floor = dict(grades(floors))
    return {
        "version": FORMULA_VERSION,
        "window_days": WINDOW_DAYS,
        "weights": {**DEFAULT_WEIGHTS, **(weights or {})},
        "terms": formula_terms(weights),
        "rounding": "四舍五入取整，限制在 0–100 / rounded, clamped to 0–100",
        "grades": [{"grade": grade, "min_score": floor} for grade, floor in grades(floors)],
        "merchant_fault": (
            "商家责任：驳回后又同意退款、平台介入后同意退款、仲裁或申诉裁决退款、超时未回复被自动退款；"
            "双方接受的折中方案不计入"
        ),
        "merchant_fault_en": (
            "merchant fault: refunding after a rejection or after arbitration began, an arbitrator's final "
            "decision to refund (first instance or appeal), an automatic refund for silence; an agreed "
            "compromise does not count"
        ),
        "sanctions": [
            {
                "when": "grade D",
                "status": RESTRICTED,
                "rule": "credit.restricted",
                "zh": f"D 级（低于 {floor['C']} 分）且有商家责任记录：限制流量（搜索排序靠后）",
                "en": f"grade D (below {floor['C']}) with a merchant fault on record: restricted "
                "(listed after everyone else in search)",
            },
            {
                "when": "grade E",
                "status": SUSPENDED,
                "rule": "credit.suspended",
                "zh": f"E 级（低于 {floor['D']} 分）且有商家责任记录：清退（商品下架、不能接新订单，进行中的订单和售后照常处理）",
                "en": f"grade E (below {floor['D']}) with a merchant fault on record: suspended (listings hidden, "
                "no new orders; open orders and cases continue)",
            },
            {
                "when": f"overturned_refusals >= {suspend_after}",
                "status": SUSPENDED,
                "rule": "credit.overturned",
                "zh": f"近90天 {suspend_after} 次及以上拒绝退款后被推翻：清退",
                "en": f"{suspend_after} or more refusals later overturned in 90 days: suspended",
            },
            {
                "when": "grade A-C",
                "status": ACTIVE,
                "zh": "信用恢复到 C 级及以上自动解除限制流量；清退须由平台运营复核后恢复",
                "en": "back to grade C or better lifts a restriction automatically; a suspension is lifted only by an operator",
            },
            {
                "when": "operator",
                "status": "any",
                "zh": "平台运营可写明理由调整店铺状态，所有变更记入审计日志并向商家公示",
                "en": "operators may change a shop's status with a written reason; every change is in the audit log shown to the merchant",
            },
        ],
    }


# Refund standards by category (退款标准): scenario → ratio, published beside the policy's rule text.
REFUND_STANDARDS: dict[str, list[dict]] = {
    "software_license": [
        {"scenario": "激活码无效或与描述不符", "scenario_en": "invalid or not as described", "ratio": "100%"},
        {
            "scenario": "订阅类部分期限可用",
            "scenario_en": "subscription worked for part of the term",
            "ratio": "未能使用的期限比例 / unused share of the term",
        },
    ],
    "game_currency": [
        {"scenario": "到账金额不足", "scenario_en": "shortfall credited", "ratio": "不足部分比例 / the missing share"},
        {"scenario": "完全未到账", "scenario_en": "nothing credited", "ratio": "100%"},
    ],
    "mobile_topup": [{"scenario": "未到账", "scenario_en": "not credited", "ratio": "100%"}],
    "gift_card": [
        {"scenario": "交付时已失效或已被使用", "scenario_en": "invalid or already used at delivery", "ratio": "100%"}
    ],
    "online_course": [
        {
            "scenario": "部分内容无法观看",
            "scenario_en": "content unavailable",
            "ratio": "无法观看的内容比例 / unavailable share",
        }
    ],
    "game_account": [
        {
            "scenario": "与描述不符（等级、道具、绑定）",
            "scenario_en": "not as described (level, items, binding)",
            "ratio": "100%",
        },
        {"scenario": "被卖家找回", "scenario_en": "reclaimed by the seller", "ratio": "100%"},
    ],
    "game_boosting": [
        {
            "scenario": "未完成约定进度",
            "scenario_en": "progress not delivered",
            "ratio": "未完成进度比例 / share not delivered",
        }
    ],
    "custom_design": [
        {
            "scenario": "里程碑未交付",
            "scenario_en": "milestone not delivered",
            "ratio": "未交付里程碑金额 / milestones not delivered",
        }
    ],
}
NO_DEFECT_AFTER_USE = "不影响主要功能的已使用商品不予退款；影响主要功能的缺陷即使已使用仍可退款。"
