"""Arbitrator pages (平台介入): the queue by SLA (decide_by first, overdue and fast-track marked),
claiming, and the review page — evidence side by side by the four dimensions, the evidence
assist, both parties' history, the category's refund rule, the listing's void clauses — with
the decision form, whose rationale is required and which asks once more before deciding."""

import logging

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kameng.aftersales import services as aftersales
from kameng.aftersales.models import CaseStatus, RefundCase
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.evidence.models import EvidenceExtract

from ..case_forms import DecideForm
from ..pages import role_required
from .cases import attach, case_context, get_case

log = logging.getLogger(__name__)

staff_only = role_required("arbitrator", "admin")
TEXT_PREVIEW_CHARS = 4000


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


def review_context(
    request, case: RefundCase, *, forms: dict | None = None, evidence_form=None, decide_form=None
) -> dict:
    from kameng.arbitration.assist import assist_for
    from kameng.trust.credit import credit_for_shop

    context = case_context(request, case, forms=forms, evidence_form=evidence_form)
    user = request.user
    order = case.order
    snapshot = order.snapshot or {}
    try:
        assist = assist_for(case)
    except Exception:  # context for a human decision: the page must still open without it
        log.exception("evidence assist for case %s failed", case.pk)
        assist = None
    if assist is not None:  # the same promise against the same problem, found in several items: once
        seen, pairs = set(), []
        for pair in assist["contradictions"]:
            key = (pair["promise"], pair.get("finding_kind"), pair["finding"])
            if key not in seen:
                seen.add(key)
                pairs.append(pair)
        assist = {**assist, "contradictions": pairs}
    texts = dict(
        EvidenceExtract.objects.filter(evidence__case=case, text_source="text").values_list("evidence_id", "text")
    )
    for group in context["evidence_groups"]:
        for item in group["items"]:
            text = texts.get(item.pk)
            item.text_preview = text[:TEXT_PREVIEW_CHARS] if text else ""
            item.text_truncated = bool(text) and len(text or "") > TEXT_PREVIEW_CHARS
    conflict = case.status == CaseStatus.IN_APPEAL and case.first_arbitrator_id == user.pk
    claimed_by_other = bool(case.claimed_by_id) and case.claimed_by_id != user.pk
    allow_compromise = case.status == CaseStatus.IN_ARBITRATION and not case.binding_required
    buyer_cases = (
        RefundCase.objects.filter(buyer_id=case.buyer_id)
        .exclude(pk=case.pk)
        .select_related("order")
        .order_by("-pk")[:5]
    )
    context.update(
        {
            "snap": snapshot,
            "category": snapshot.get("category", ""),
            "warnings": snapshot.get("warnings") or [],
            "assist": assist,
            "credit": credit_for_shop(case.shop),
            "buyer_cases": list(buyer_cases),
            "buyer_case_count": RefundCase.objects.filter(buyer_id=case.buyer_id).exclude(pk=case.pk).count(),
            "conflict": conflict,
            "claimed_by_other": claimed_by_other,
            "can_claim": "claim" in context["actions"] and not case.claimed_by_id and not conflict,
            "can_decide": "decide" in context["actions"] and not claimed_by_other and not conflict,
            "decide_form": decide_form or DecideForm(allow_compromise=allow_compromise),
            "is_arbitrator": user.role == "arbitrator",
        }
    )
    return context


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
    allow_compromise = case.status == CaseStatus.IN_ARBITRATION and not case.binding_required
    form = DecideForm(request.POST, allow_compromise=allow_compromise)
    if not form.is_valid() or request.POST.get("edit"):
        return render(request, "web/arbitration/review.html", review_context(request, case, decide_form=form))
    data = form.cleaned_data
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
                "final": case.status == CaseStatus.IN_APPEAL,
            },
        )
    try:
        aftersales.decide(
            case, acting_user=request.user, outcome=data["outcome"], rationale=data["rationale"], amount=data["amount"]
        )
    except DomainError as exc:
        attach(form, exc)
        return render(request, "web/arbitration/review.html", review_context(request, case, decide_form=form))
    messages.success(request, _("裁决已作出，已通知买卖双方。"))
    return redirect("arbitration-case", case_id=case.pk)
