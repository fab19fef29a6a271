"""Arbitrator pages (平台介入): the queue by SLA (decide_by first, overdue and fast-track marked),
claiming, and the review page — evidence side by side by the four dimensions, the evidence
assist, both parties' history, the category's refund rule, the listing's void clauses — with
the decision form, whose rationale is required and which asks once more before deciding."""

from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kameng.aftersales import lifecycle
from kameng.aftersales import services as aftersales
from kameng.aftersales.models import CaseStatus, Phase
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError

from ..pages import role_required
from .cases import attach, decide_form_for, get_case, review_context

staff_only = role_required("arbitrator", "admin")


class _AmountFacts:
    """What the amount checks ask the database: only what the order can still refund."""

    def __init__(self, refundable: int):
        self._refundable = refundable

    def refundable(self) -> int:
        return self._refundable

    def new_evidence(self) -> bool:
        raise AssertionError("the amount checks never ask")

    def category_rule(self) -> str:
        raise AssertionError("the amount checks never ask")

    def decision_rule(self, rule_id: str) -> object:
        raise AssertionError("the amount checks never ask")

    def send_replacement(self, content: str, now: datetime) -> dict:
        raise AssertionError("the amount checks never ask")


AMOUNT_CHECKS = (lifecycle.decided_amount_valid, lifecycle.within_refundable)


def amount_refusal(case, user, data: dict) -> DomainError | None:
    """The lifecycle table's own amount checks of a decision, run before the confirmation page (the
    decision itself runs them again, under the case lock)."""
    given = lifecycle.clean("decide", data)
    attempt = lifecycle.Attempt(
        case, "arbitrator", user.pk, clock_now(), given, _AmountFacts(case.order.refundable_amount)
    )
    for guard in AMOUNT_CHECKS:
        if not guard.test(attempt):
            assert guard.refusal is not None
            return DomainError(guard.refusal, param=guard.param)
    return None


@staff_only
@require_GET
def queue(request):
    """Cases in arbitration or appeal, earliest decide_by first."""
    now = clock_now()
    cases = aftersales.arbitration_queue().select_related("order", "shop", "claimed_by")
    mine = request.GET.get("mine") == "1"
    if mine:
        cases = cases.filter(claimed_by=request.user)
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    rows = []
    for case in page:
        left = (case.decide_by - now) if case.decide_by else None
        rows.append(
            {
                "case": case,
                "left": left,
                "seconds": max(0, int(left.total_seconds())) if left is not None else None,
                "overdue": left is not None and left.total_seconds() <= 0,
                "mine": case.claimed_by_id == request.user.pk,
                "conflict": case.status == CaseStatus.IN_APPEAL and case.first_arbitrator_id == request.user.pk,
            }
        )
    overdue = aftersales.arbitration_queue().filter(decide_by__lt=now).count()
    return render(
        request,
        "web/arbitration/queue.html",
        {
            "page": page,
            "rows": rows,
            "mine": mine,
            "overdue_count": overdue,
            "is_arbitrator": request.user.role == "arbitrator",
        },
    )


@staff_only
@require_GET
def review(request, case_id: int):
    case = get_case(request, case_id)
    return render(request, "web/arbitration/review.html", review_context(request, case))


@role_required("arbitrator")
@require_POST
def decide(request, case_id: int):
    """The decision form posts here twice: first to show what will happen, then (confirmed) to decide."""
    case = get_case(request, case_id)
    form = decide_form_for(case, request.POST)
    if not form.is_valid() or request.POST.get("edit"):
        return render(request, "web/arbitration/review.html", review_context(request, case, decide_form=form))
    data = form.cleaned_data
    refusal = amount_refusal(case, request.user, data)
    if refusal is not None:  # on the first step, not after the confirmation
        attach(form, refusal)
        return render(request, "web/arbitration/review.html", review_context(request, case, decide_form=form))
    if request.POST.get("confirmed") != "yes":
        return render(
            request,
            "web/arbitration/decide_confirm.html",
            {
                "case": case,
                "order": case.order,
                "data": data,
                "raw": request.POST,
                "refund": {"refund_full": case.requested_amount, "no_refund": 0}.get(data["outcome"], data["amount"]),
                "final": lifecycle.leads_to(case.phase, "decide", Phase.CLOSED),  # on appeal: final at once
                "rule": dict(form.fields["rule"].choices).get(data.get("rule") or ""),  # type: ignore[attr-defined]
            },
        )
    try:
        aftersales.decide(
            case,
            acting_user=request.user,
            outcome=data["outcome"],
            rationale=data["rationale"],
            amount=data["amount"],
            rule=data.get("rule") or "",
        )
    except DomainError as exc:
        attach(form, exc)
        return render(request, "web/arbitration/review.html", review_context(request, case, decide_form=form))
    messages.success(request, _("裁决已作出，已通知买卖双方。"))
    return redirect("arbitration-case", case_id=case.pk)
