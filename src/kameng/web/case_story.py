"""What the case page tells a party about where the case stands: the step bar (申请 → 协商 → 平台介入 →
裁决 → 申诉 → 结案), one sentence saying who must act by when and what the platform does if nobody does,
when the money arrives, and — when arbitration is late — an apology, a new expected time and what the
buyer can still do. Every sentence is read from the case's `next_step` (kameng.aftersales.lifecycle),
so the page and the API never disagree about what happens next."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.aftersales import lifecycle
from kameng.aftersales.models import CaseStatus, RefundCase
from kameng.policy.services import add_working_days

from .templatetags.kameng_web import yuan

STEPS: tuple[tuple[str, Promise], ...] = (
    ("applied", gettext_lazy("申请")),
    ("negotiation", gettext_lazy("协商")),
    ("arbitration", gettext_lazy("平台介入")),
    ("decided", gettext_lazy("裁决")),
    ("appeal", gettext_lazy("申诉")),
    ("closed", gettext_lazy("结案")),
)
STEP_OF: dict[str, str] = {  # the contract's status → the step it is
    CaseStatus.AWAITING_MERCHANT: "negotiation",
    CaseStatus.AWAITING_BUYER: "negotiation",
    CaseStatus.IN_ARBITRATION: "arbitration",
    CaseStatus.DECIDED: "decided",
    CaseStatus.IN_APPEAL: "appeal",
    CaseStatus.CLOSED: "closed",
}


@dataclass(frozen=True)
class Step:
    code: str
    label: str
    state: str  # done | current | skipped (the case never went through it) | todo


def steps(case: RefundCase, visited_statuses: set[str]) -> list[Step]:
    """The step bar: the steps the case went through (its events' statuses), the one it is in, the rest."""
    visited = {"applied"} | {STEP_OF[s] for s in visited_statuses if s in STEP_OF}
    current = STEP_OF[case.status]
    codes = [code for code, _label in STEPS]
    out = []
    for code, name in STEPS:
        if code == current:
            state = "current"
        elif codes.index(code) > codes.index(current):
            state = "todo"
        else:
            state = "done" if code in visited else "skipped"
        out.append(Step(code, str(name), state))
    return out


def when(moment: datetime) -> str:
    return date_format(localtime(moment), "Y-m-d H:i")


def who_acts(step: lifecycle.NextStep, role: str | None, due: str) -> str:
    """Who must act by when, said to this reader."""
    if step.actor == role:
        return _("需要你在 %(due)s 前处理。") % {"due": due}
    return {
        "merchant": _("等待商家在 %(due)s 前处理。"),
        "buyer": _("等待买家在 %(due)s 前答复。"),
        "arbitrator": _("平台仲裁员将在 %(due)s 前作出裁决。"),
        "parties": _("%(due)s 前，双方都可以答复。"),
    }[step.actor or ""] % {"due": due}


def if_nobody_acts(step: lifecycle.NextStep) -> str:
    """What the platform does when the deadline passes (next_step.on_timeout)."""
    refund = yuan(step.refund or 0)
    texts = {
        lifecycle.Then.TO_ARBITRATION: _("逾期不处理，案件自动转入平台仲裁。"),
        lifecycle.Then.BACK_TO_ARBITRATOR: _("逾期未获双方同意，折中方案作废，由仲裁员作出有约束力的裁决。"),
        lifecycle.Then.OVERDUE: _("如果逾期，平台会通知管理员优先处理。"),
        lifecycle.Then.FINAL: (
            _("逾期无人申诉，裁决生效，%(refund)s 退回买家钱包。") if step.refund else _("逾期无人申诉，裁决生效。")
        ),
        "refund_full": _("逾期不处理，平台自动全额退款 %(refund)s。"),
        "withdrawn": _("逾期不答复，售后单按撤回处理，担保款照常结算给商家。"),
        "replaced": _("逾期不答复，售后单按已补发结束，不退款，担保款照常结算给商家。"),
    }
    return texts.get(step.on_timeout or "", "") % {"refund": refund}


def money_arrives(case: RefundCase, step: lifecycle.NextStep, due: str) -> str:
    """When the refund reaches the buyer's wallet (or that it has)."""
    if case.status == CaseStatus.CLOSED:
        if case.refunded_amount:
            return _("%(refund)s 已于 %(at)s 退回买家钱包。") % {
                "refund": yuan(case.refunded_amount),
                "at": when(case.closed_at) if case.closed_at else "",
            }
        return _("本案没有退款。")
    if step.money_moves:
        return _("即使无人操作，%(refund)s 也会在 %(due)s 自动退回买家钱包。") % {
            "refund": yuan(step.refund),
            "due": due,
        }
    return _("退款在商家同意、买家接受方案或裁决生效时立即退回买家钱包，无需等待。")


def story(case: RefundCase, role: str | None, now: datetime, visited_statuses: set[str]) -> dict:
    """Everything the case page's "where it stands" card shows."""
    step = lifecycle.next_step(case)
    due = when(step.due_by) if step.due_by else ""
    overdue = bool(step.on_timeout == lifecycle.Then.OVERDUE and step.due_by and step.due_by < now)
    return {
        "steps": steps(case, visited_statuses),
        "next_step": step,
        "who": who_acts(step, role, due) if step.actor else "",
        "otherwise": "" if overdue else if_nobody_acts(step),
        "money": money_arrives(case, step, due),
        "overdue": overdue,
        # late arbitration: staff are told when it passes (decision_overdue); we promise one more working day
        "new_expected": when(add_working_days(max(now, step.due_by), 1)) if overdue and step.due_by else "",
    }
