"""Refund-case pages (售后): the buyer's request form and "我的售后", the case page of each party
(timeline, countdowns, the allowed actions only, evidence by the four dimensions), the actions —
behind a confirmation step where they cannot be undone — evidence upload and download, the
merchant's inbox sorted by deadline, and in-app notifications. Every change goes through
kameng.aftersales.services; the transition table decides which buttons a page shows."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kameng.aftersales import rules
from kameng.aftersales import services as aftersales
from kameng.aftersales.models import OPEN_STATUSES, CaseStatus, Notification, RefundCase
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.evidence.uploads import inspect_upload
from kameng.orders import services as order_services
from kameng.policy.services import get_policy

from ..case_forms import AppealForm, CompromiseForm, EvidenceForm, OfferForm, OpenCaseForm, RejectForm
from ..case_labels import DEADLINES, EVIDENCE_CATEGORIES
from ..pages import error_text, login_required, not_found_from, role_required
from ..templatetags.kameng_web import yuan

# ---- shared helpers ----------------------------------------------------------------------------


def get_case(request, case_id) -> RefundCase:
    """The case if the signed-in user may see it (its buyer, its merchant, staff), else 404."""
    try:
        return aftersales.get_case_for(case_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None


def attach(
    form, exc: DomainError, *, by_code: dict[str, str] | None = None, messages_by_code: dict[str, str] | None = None
) -> None:
    """A service error next to its field: by `param`, or by error code for conflicts without one."""
    field = (by_code or {}).get(exc.code) or exc.param
    text = (messages_by_code or {}).get(exc.code) or error_text(exc)
    form.add_error(field if field in form.fields else None, text)


def deadlines(case: RefundCase, now) -> list[dict]:
    """The case's running deadlines, soonest first, with the seconds left for the live countdown."""
    out = []
    for field, label, waits_for in DEADLINES:
        at = getattr(case, field)
        if at is None:
            continue
        left = at - now
        seconds = int(left.total_seconds())
        out.append(
            {
                "field": field,
                "label": label,
                "at": at,
                "left": left,
                "seconds": max(0, seconds),
                "overdue": seconds <= 0,
                "waits_for": waits_for,
            }
        )
    return sorted(out, key=lambda d: d["at"])


def standing_decision(case: RefundCase) -> dict | None:
    """The decision that stands: the appeal's once it is decided, else the first one."""
    if case.appeal and case.appeal.get("decision"):
        return case.appeal["decision"]
    return case.decision


def case_url(case: RefundCase, user) -> str:
    if user.role == "arbitrator":
        return reverse("arbitration-case", args=[case.pk])
    return reverse("case", args=[case.pk])


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def finished(request, url: str):
    """Where a successful form goes: a redirect, or for the upload script a JSON answer naming it
    (the script follows it, so the flash message is read by the page, not by the script)."""
    if request.headers.get("X-Upload-Progress") == "1":
        return JsonResponse({"redirect": url})
    return redirect(url)


def available(case: RefundCase, role: str | None) -> list[str]:
    return rules.available_actions(
        case.status, role or "", case.decision, case.offer_amount, case.compromise_answers, case.decision_acceptances
    )


def evidence_groups(case: RefundCase) -> list[dict]:
    """Evidence by the four dimensions (listing / transaction / communication / problem)."""
    items = list(case.evidence.select_related("uploaded_by").order_by("seq"))
    return [
        {"code": code, "label": label, "items": [e for e in items if e.category == code]}
        for code, label in EVIDENCE_CATEGORIES.items()
    ]


def case_context(request, case: RefundCase, *, forms: dict | None = None, evidence_form=None) -> dict:
    user = request.user
    role = aftersales.role_on_case(case, user)
    now = clock_now()
    actions = available(case, role)
    forms = forms or {}
    action_forms = {
        "offer": forms.get("offer") or OfferForm(prefix="offer"),
        "reject": forms.get("reject") or RejectForm(prefix="reject"),
        "appeal": forms.get("appeal") or AppealForm(prefix="appeal"),
    }
    may_add_evidence = case.status != CaseStatus.CLOSED and role in (rules.BUYER, rules.MERCHANT, rules.ARBITRATOR)
    decision = standing_decision(case)
    return {
        "case": case,
        "order": case.order,
        "role": role,
        "now": now,
        "actions": actions,
        "forms": action_forms,
        "deadlines": deadlines(case, now),
        "events": list(case.events.select_related("actor").order_by("pk")),
        "evidence_groups": evidence_groups(case),
        "evidence_form": (evidence_form or EvidenceForm()) if may_add_evidence else None,
        "decision": decision,
        "decision_final": bool(decision and decision.get("final")) or case.status == CaseStatus.CLOSED,
        "compromise_pending": rules.is_compromise_pending(case.decision),
        "appeal_decided": bool(case.appeal and case.appeal.get("decision")),
        "refundable": case.order.paid_amount - case.order.refunded_amount,
        "is_open": case.status in OPEN_STATUSES,
    }


# ---- opening a case ----------------------------------------------------------------------------


@role_required("buyer")
@require_http_methods(["GET", "POST"])
def case_open(request, order_id: int):
    """申请售后: reason, description, amount in yuan, and problem evidence, in one form."""
    try:
        order = order_services.get_order_for(order_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None
    if order.buyer_id != request.user.pk:
        raise Http404(_("订单不存在"))
    refundable = order.paid_amount - order.refunded_amount
    open_case = order.refund_cases.filter(status__in=OPEN_STATUSES).first()
    ruled = order.refund_cases.filter(status=CaseStatus.CLOSED, decision__isnull=False).exists()
    kwargs = {"refundable": refundable, "no_reason_allowed": bool(order.snapshot.get("no_reason_refund"))}
    if request.method == "POST":
        form = OpenCaseForm(request.POST, request.FILES, **kwargs)
        if form.is_valid():
            case = _open(request, form, order)
            if case is not None:
                return finished(request, reverse("case", args=[case.pk]))
    else:
        form = OpenCaseForm(initial={"amount": f"{refundable // 100}.{refundable % 100:02d}"}, **kwargs)
    return render(
        request,
        "web/cases/open.html",
        {
            "order": order,
            "snap": order.snapshot,
            "form": form,
            "refundable": refundable,
            "open_case": open_case,
            "window_open": order.after_sale_until is None or order.after_sale_until > clock_now(),
            "merchant_hours": get_policy().merchant_respond_hours,
            "ruled": ruled,
            # Browsers never keep a chosen file across a page load: say so when the form comes back.
            "reselect_files": request.method == "POST" and bool(request.FILES) and bool(form.errors),
        },
    )


def _open(request, form: OpenCaseForm, order) -> RefundCase | None:
    data = form.cleaned_data
    files = data["evidence"]
    # Check every file before anything is stored, so a refused file never leaves a half-made case.
    for upload in files:
        try:
            inspect_upload(upload)
        except DomainError as exc:
            form.add_error("evidence", f"{upload.name}：{error_text(exc)}")
            return None
    try:
        case = aftersales.open_case(
            acting_user=request.user,
            order_id=order.pk,
            reason=data["reason"],
            description=data["description"],
            amount=data["amount"],
        )
    except DomainError as exc:
        attach(
            form,
            exc,
            by_code={"no_reason_not_allowed": "reason", "amount_exceeds_refundable": "amount"},
            messages_by_code={
                "amount_exceeds_refundable": _("退款金额不能超过可退金额 %(max)s") % {"max": yuan(form.refundable)}
            },
        )
        return None
    for upload in files:
        try:
            aftersales.add_evidence(
                case, acting_user=request.user, upload=upload, category="problem", note=data.get("note") or ""
            )
        except DomainError as exc:  # the case is open; say which file did not make it
            messages.error(
                request, _("证据“%(name)s”未能上传：%(error)s") % {"name": upload.name, "error": error_text(exc)}
            )
    messages.success(
        request,
        _("售后申请已提交，商家需在 %(due)s 前处理。")
        % {"due": f"{localtime(case.merchant_respond_by):%Y-%m-%d %H:%M}"},
    )
    return case


# ---- the case page -----------------------------------------------------------------------------


@login_required
@require_GET
def case_detail(request, case_id: int):
    case = get_case(request, case_id)
    if request.user.role == "arbitrator":
        return redirect("arbitration-case", case_id=case.pk)
    return render(request, "web/cases/detail.html", case_context(request, case))


# Actions taken from the case page. `confirm`: cannot be undone, so a second page asks first.
ACTIONS = {
    "accept": {"confirm": True, "done": gettext_lazy("已同意退款，款项已退回买家钱包。")},
    "offer": {"form": OfferForm, "done": gettext_lazy("已提出部分退款方案，等待买家答复。")},
    "reject": {"form": RejectForm, "done": gettext_lazy("已拒绝退款申请，等待买家答复。")},
    "accept_offer": {"confirm": True, "done": gettext_lazy("已接受部分退款，款项已退回你的钱包。")},
    "escalate": {"done": gettext_lazy("已申请平台介入，仲裁员将在时限内作出裁决。")},
    "withdraw": {"confirm": True, "done": gettext_lazy("已撤回售后申请。")},
    "claim": {"done": gettext_lazy("已接手该案件。")},
    "respond_compromise": {"confirm": True, "form": CompromiseForm, "done": gettext_lazy("已答复折中方案。")},
    "appeal": {"form": AppealForm, "done": gettext_lazy("已提起申诉，将由另一位仲裁员复核。")},
    "accept_decision": {"confirm": True, "done": gettext_lazy("已接受裁决，裁决已生效。")},
}


def _run(case: RefundCase, action: str, user, data: dict) -> RefundCase:
    service = getattr(aftersales, action)
    if action == "offer":
        return service(case, acting_user=user, amount=data["amount"])
    if action in ("reject", "appeal"):
        return service(case, acting_user=user, reason=data["reason"])
    if action == "respond_compromise":
        return service(case, acting_user=user, accept=data["accept"])
    return service(case, acting_user=user)


@login_required
@require_http_methods(["GET", "POST"])
def case_action(request, case_id: int, action: str):
    """One action on a case. GET shows the confirmation page of an irreversible action; POST does
    it (those need the confirmation page's `confirmed` field; without it the page asks first)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404(_("没有这个操作"))
    case = get_case(request, case_id)
    role = aftersales.role_on_case(case, request.user)
    if role not in rules.ACTION_ROLES.get(action, ()):
        raise PermissionDenied  # the role is checked before the status, as the API does
    form_class = spec.get("form")
    if request.method == "GET":
        if not spec.get("confirm"):
            return redirect(case_url(case, request.user))
        form = form_class(request.GET, prefix=None) if form_class else None
        return _confirm_page(request, case, action, role, form)
    form = (
        form_class(request.POST, prefix=action if action in ("offer", "reject", "appeal") else None)
        if form_class
        else None
    )
    if form is not None and not form.is_valid():
        return _action_failed(request, case, action, role, form)
    if spec.get("confirm") and request.POST.get("confirmed") != "yes":
        return _confirm_page(request, case, action, role, form)
    try:
        case = _run(case, action, request.user, form.cleaned_data if form is not None else {})
    except DomainError as exc:
        if form is not None:
            attach(form, exc)
            return _action_failed(request, case, action, role, form)
        if spec.get("confirm"):
            return _confirm_page(request, case, action, role, form, error=error_text(exc))
        messages.error(request, error_text(exc))
        return redirect(case_url(case, request.user))
    messages.success(request, str(spec["done"]))
    return redirect(safe_next(request, case_url(case, request.user)))


def _action_failed(request, case, action, role, form):
    """Show the form again with its errors next to the fields: on the confirmation page for
    confirmed actions, on the case (or review) page for the others."""
    if ACTIONS[action].get("confirm"):
        return _confirm_page(request, case, action, role, form)
    if request.user.role == "arbitrator":
        from .arbitration import review_context

        return render(request, "web/arbitration/review.html", review_context(request, case, forms={action: form}))
    return render(request, "web/cases/detail.html", case_context(request, case, forms={action: form}))


def _confirm_page(request, case, action, role, form, *, error: str | None = None):
    accept = None
    if action == "respond_compromise":
        accept = bool(form is not None and form.is_valid() and form.cleaned_data["accept"])
    decision = standing_decision(case)
    return render(
        request,
        "web/cases/confirm.html",
        {
            "case": case,
            "order": case.order,
            "action": action,
            "role": role,
            "error": error,
            "allowed": action in available(case, role),
            "form": form,
            "accept": accept,
            "decision": decision,
            "amount": {
                "accept": case.requested_amount,
                "accept_offer": case.offer_amount,
                "respond_compromise": (case.decision or {}).get("amount"),
                "accept_decision": (decision or {}).get("amount"),
            }.get(action),
            "next": safe_next(request, ""),
            "back": case_url(case, request.user),
        },
    )


# ---- evidence ----------------------------------------------------------------------------------


@login_required
@require_POST
def evidence_add(request, case_id: int):
    case = get_case(request, case_id)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            aftersales.add_evidence(
                case, acting_user=request.user, upload=data["file"], category=data["category"], note=data["note"]
            )
        except DomainError as exc:
            attach(form, exc)
        else:
            messages.success(request, _("证据已上传，已计入证据链。"))
            return finished(request, case_url(case, request.user) + "#evidence")
    if request.user.role == "arbitrator":
        from .arbitration import review_context

        return render(request, "web/arbitration/review.html", review_context(request, case, evidence_form=form))
    return render(request, "web/cases/detail.html", case_context(request, case, evidence_form=form))


def _evidence_item(request, case_id, evidence_id):
    case = get_case(request, case_id)
    item = case.evidence.filter(pk=evidence_id).first()
    if item is None:
        raise Http404(_("证据不存在"))
    return item


@login_required
@require_GET
def evidence_file(request, case_id: int, evidence_id: int):
    """The stored bytes as an attachment (nosniff, sandboxed): evidence is hostile input."""
    from kameng.evidence.services import download_name
    from kameng.ops.storage import download_response

    item = _evidence_item(request, case_id, evidence_id)
    return download_response(item.file, download_name(item), item.content_type)


@login_required
@require_GET
def evidence_preview(request, case_id: int, evidence_id: int):
    """The platform's own small JPEG of a picture or video (never the original), shown inline."""
    from kameng.arbitration.assist import preview_file
    from kameng.ops.storage import download_response

    item = _evidence_item(request, case_id, evidence_id)
    fieldfile = preview_file(item)
    if fieldfile is None:
        raise Http404(_("暂无预览"))
    response = download_response(fieldfile, f"preview-{item.pk}.jpg", "image/jpeg")
    if response.has_header("Content-Disposition"):
        response["Content-Disposition"] = response["Content-Disposition"].replace("attachment", "inline", 1)
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


# ---- lists -------------------------------------------------------------------------------------


def _with_due(qs):
    """Each case's nearest running deadline, for sorting by it."""
    return qs.annotate(
        due=Coalesce("merchant_respond_by", "buyer_respond_by", "compromise_respond_by", "decide_by", "appeal_by")
    )


@role_required("buyer")
@require_GET
def my_cases(request):
    """我的售后: the buyer's cases, open ones first by their nearest deadline."""
    now = clock_now()
    base = _with_due(aftersales.visible_cases(request.user).select_related("order", "shop"))
    open_cases = list(base.filter(status__in=OPEN_STATUSES).order_by(F("due").asc(nulls_last=True), "-pk"))
    closed = Paginator(base.filter(status=CaseStatus.CLOSED).order_by("-closed_at", "-pk"), 20)
    return render(
        request,
        "web/cases/list.html",
        {
            "open_rows": [_row(c, now) for c in open_cases],
            "closed_page": closed.get_page(request.GET.get("page")),
        },
    )


def _row(case: RefundCase, now) -> dict:
    due = getattr(case, "due", None)
    left = (due - now) if due else None
    return {
        "case": case,
        "due": due,
        "seconds": max(0, int(left.total_seconds())) if left is not None else None,
        "overdue": left is not None and left.total_seconds() <= 0,
        "left": left,
    }


@role_required("merchant")
@require_GET
def merchant_inbox(request):
    """The merchant's after-sales inbox: cases waiting for the merchant first, by deadline, with
    one-click accept (after its confirmation page), offer and reject."""
    now = clock_now()
    base = _with_due(aftersales.visible_cases(request.user).select_related("order", "buyer"))
    waiting = list(base.filter(status=CaseStatus.AWAITING_MERCHANT).order_by("merchant_respond_by", "pk"))
    waiting_rows = []
    for case in waiting:
        row = _row(case, now)
        # Each row has its own small forms: ids made unique per case, names as the action expects.
        row["offer_form"] = OfferForm(prefix="offer", auto_id=f"c{case.pk}-%s")
        row["reject_form"] = RejectForm(prefix="reject", auto_id=f"c{case.pk}-%s")
        waiting_rows.append(row)
    others = list(
        base.filter(status__in=[s for s in OPEN_STATUSES if s != CaseStatus.AWAITING_MERCHANT]).order_by(
            F("due").asc(nulls_last=True), "pk"
        )
    )
    closed = Paginator(base.filter(status=CaseStatus.CLOSED).order_by("-closed_at", "-pk"), 20)
    return render(
        request,
        "web/cases/inbox.html",
        {
            "waiting_rows": waiting_rows,
            "other_rows": [_row(c, now) for c in others],
            "closed_page": closed.get_page(request.GET.get("page")),
        },
    )


@login_required
@require_GET
def notifications(request):
    """In-app notices (also emailed): when a case needs you, and 24 h before a deadline."""
    mine = Notification.objects.filter(user=request.user).select_related("case").order_by("-pk")
    return render(
        request,
        "web/cases/notifications.html",
        {
            "page": Paginator(mine, 30).get_page(request.GET.get("page")),
        },
    )
