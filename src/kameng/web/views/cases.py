"""Refund-case pages (售后): the buyer's request form and "我的售后", the case page of each party
(timeline, countdowns, the allowed actions only, evidence by the four dimensions), the actions —
behind a confirmation step where they cannot be undone — evidence upload and download, the
merchant's inbox sorted by deadline, and in-app notifications. Every change goes through
kameng.aftersales.services; the lifecycle table decides which actions a page offers, and
case_forms.ACTION_PAGES how each one looks."""

import logging
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F
from django.db.models.functions import Coalesce
from django.forms import Form
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kameng.accounts.services import mask_email
from kameng.aftersales import lifecycle, precedents
from kameng.aftersales import services as aftersales
from kameng.aftersales.models import OPEN_STATUSES, Actor, CaseStatus, Notification, Outcome, Phase, RefundCase
from kameng.arbitration.assist import assist_for, preview_file
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.evidence.models import EvidenceExtract
from kameng.evidence.services import download_name
from kameng.evidence.uploads import inspect_upload
from kameng.labels import label
from kameng.money import plain_yuan
from kameng.notify.models import ChannelKind
from kameng.ops.storage import download_response
from kameng.orders import services as order_services
from kameng.policy import rulebook
from kameng.policy.services import get_policy
from kameng.trust.credit import credit_for_shop

from ..case_forms import ACTION_PAGES, ActionPage, DecideForm, EvidenceForm, OfferForm, OpenCaseForm, RejectForm, filled
from ..case_labels import DEADLINES, EVIDENCE_CATEGORIES
from ..case_story import story
from ..pages import error_text, login_required, not_found_from, role_required
from ..templatetags.kameng_web import yuan

log = logging.getLogger(__name__)
TEXT_PREVIEW_CHARS = 4000
# Errors about the evidence an action needs sit next to the form's file field.
UPLOAD_ERRORS_AT = {"new_evidence_required": "evidence"}
ACTIONS = ACTION_PAGES  # the actions the pages take (web.urls routes /refunds/<id>/<action> for each)

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
    for field, name, waits_for in DEADLINES:
        at = getattr(case, field)
        if at is None:
            continue
        left = at - now
        seconds = int(left.total_seconds())
        out.append(
            {
                "field": field,
                "label": name,
                "at": at,
                "left": left,
                "seconds": max(0, seconds),
                "overdue": seconds <= 0,
                "waits_for": waits_for,
            }
        )
    return sorted(out, key=lambda d: d["at"])


def case_url(case: RefundCase, user) -> str:
    if user.role == Actor.ARBITRATOR:
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


def evidence_groups(case: RefundCase) -> list[dict]:
    """Evidence by the four dimensions (listing / transaction / communication / problem)."""
    items = list(case.evidence.select_related("uploaded_by").order_by("seq"))
    return [
        {"code": code, "label": name, "items": [e for e in items if e.category == code]}
        for code, name in EVIDENCE_CATEGORIES.items()
    ]


def case_context(request, case: RefundCase, *, forms: dict | None = None, evidence_form=None) -> dict:
    user = request.user
    role = aftersales.role_on_case(case, user)
    now = clock_now()
    actions = lifecycle.offered(case, role, now)
    may_add_evidence = case.phase != Phase.CLOSED and role in (Actor.BUYER, Actor.MERCHANT, Actor.ARBITRATOR)
    decision = lifecycle.standing_decision(case)
    english = (get_language() or "").startswith("en")
    decision_rule = (
        {
            "id": decision["rule"],
            "text": decision.get("rule_text_en" if english else "rule_text") or decision["rule"],
        }
        if decision and decision.get("rule")
        else None
    )
    events = list(case.events.select_related("actor").order_by("pk"))
    return {
        "case": case,
        "order": case.order,
        "role": role,
        "now": now,
        "actions": actions,
        "action_items": action_items(case, actions, forms or {}),
        "deadlines": deadlines(case, now),
        "events": events,
        "story": story(case, role, now, {e.to_status for e in events}),
        "evidence_groups": evidence_groups(case),
        "evidence_form": (evidence_form or EvidenceForm()) if may_add_evidence else None,
        "decision": decision,
        "decision_rule": decision_rule,
        "decision_final": bool(decision and decision.get("final")) or case.phase == Phase.CLOSED,
        "compromise_pending": case.phase == Phase.COMPROMISE_PROPOSED,
        "appeal_decided": bool(case.appeal and case.appeal.get("decision")),
        "refundable": case.order.refundable_amount,
        "is_open": case.status in OPEN_STATUSES,
        "replacement": replacement_view(case, user),
        "order_chat": list(case.order.messages.select_related("author").order_by("pk")),  # cases/_chat.html
    }


def replacement_view(case: RefundCase, user) -> dict | None:
    """补发 as the case page shows it: the new keys or content to the parties, only the fact to staff."""
    if not case.replacement:
        return None
    items = aftersales.replacement_items(case, user)
    return {
        "visible": items is not None,
        "items": items or [],
        "content": case.replacement.get("content", ""),
        "at": datetime.fromisoformat(case.replacement["at"]),
    }


def action_items(case: RefundCase, actions: list[str], forms: dict[str, Form]) -> list[dict]:
    """The case page's actions, in ACTION_PAGES' order, each with its texts and (inline) form."""
    items = []
    for name, page in ACTION_PAGES.items():
        if not page.on_case_page or name not in actions:
            continue
        amount = lifecycle.at_stake(name, case)
        form = forms.get(name) or (page.form(prefix=name) if page.inline and page.form else None)
        items.append(
            {
                "name": name,
                "page": page,
                "label": filled(page.label, amount=amount),
                "help": filled(page.help),
                "intro": filled(page.intro, amount=amount),
                "form": form,
                "choice_field": next(iter(page.form.base_fields)) if page.choices and page.form else "",
                "url": reverse("case-action", args=[case.pk, name]),
            }
        )
    return items


def review_context(
    request, case: RefundCase, *, forms: dict | None = None, evidence_form=None, decide_form=None
) -> dict:
    """The arbitrator's review page (kameng.web.views.arbitration): the case page's context, and the
    evidence assist, both parties' history, the rule, the claim and the decision form."""
    context = case_context(request, case, forms=forms, evidence_form=evidence_form)
    user = request.user
    order = case.order
    snapshot = order.snapshot or {}
    try:
        assist = assist_for(case)
    except Exception:  # context for a human decision: the page must still open without it
        log.exception("evidence assist for case %s failed", case.pk)
        assist = None
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
            "decide_form": decide_form or decide_form_for(case),
            "similar_cases": similar_cases(case),
            "is_arbitrator": user.role == Actor.ARBITRATOR,
        }
    )
    return context


def similar_cases(case: RefundCase) -> list[dict]:
    """Final cases like this one (same category and reason, nearest amount) and how they were decided."""
    english = (get_language() or "").startswith("en")
    return [
        {
            "precedent": p,
            "rule": precedents.rule_ref(p, english),
            "same_amount": p.requested_amount == case.requested_amount,
        }
        for p in precedents.similar_to(case)
    ]


def decide_form_for(case: RefundCase, data=None) -> DecideForm:
    """The decision form: its outcomes for the case's phase, and the rules a decision can cite, the
    case's own category rule first (kameng.policy.rulebook)."""
    english = (get_language() or "").startswith("en")
    category = (case.order.snapshot or {}).get("category", "")
    rules = [
        (rule.id, f"{rule.id} · {rule.text_for(english)}")
        for rule in rulebook.decision_rules(get_policy().categories, first_category=category)
    ]
    return DecideForm(data, allow_compromise=may_propose_compromise(case), rules=rules)


def may_propose_compromise(case: RefundCase) -> bool:
    """Whether a decision in the case's phase may propose a compromise (not after one failed, not on appeal)."""
    return lifecycle.leads_to(case.phase, "decide", Phase.COMPROMISE_PROPOSED)


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
    refundable = order.refundable_amount
    open_case = order.refund_cases.filter(status__in=OPEN_STATUSES).first()
    ruled = order.refund_cases.filter(status=CaseStatus.CLOSED, decision__isnull=False).exists()
    no_reason_allowed = bool(order.snapshot.get("no_reason_refund"))
    in_warranty = order.warranty_until is not None and clock_now() <= order.warranty_until
    if request.method == "POST":
        form = OpenCaseForm(
            request.POST,
            request.FILES,
            refundable=refundable,
            no_reason_allowed=no_reason_allowed,
            in_warranty=in_warranty,
        )
        if form.is_valid():
            case = _open(request, form, order)
            if case is not None:
                return finished(request, reverse("case", args=[case.pk]))
    else:
        form = OpenCaseForm(
            initial={"amount": plain_yuan(refundable)},
            refundable=refundable,
            no_reason_allowed=no_reason_allowed,
            in_warranty=in_warranty,
        )
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
    if request.user.role == Actor.ARBITRATOR:
        return redirect("arbitration-case", case_id=case.pk)
    return render(request, "web/cases/detail.html", case_context(request, case))


@login_required
@require_http_methods(["GET", "POST"])
def case_action(request, case_id: int, action: str):
    """Every action on a case, as ACTION_PAGES shows it. GET shows the confirmation page of an
    irreversible action; POST does it (those need the confirmation page's `confirmed` field; without
    it the page asks first)."""
    page = ACTION_PAGES.get(action)
    if page is None:
        raise Http404(_("没有这个操作"))
    case = get_case(request, case_id)
    role = aftersales.role_on_case(case, request.user)
    if role not in lifecycle.roles_for(action):
        raise PermissionDenied  # the role is checked before the phase, as the API does
    if request.method == "GET":
        if not page.confirms:
            return redirect(case_url(case, request.user))
        return _confirm_page(request, case, action, role, page.form(request.GET) if page.form else None)
    form = page.form(request.POST, request.FILES, prefix=action if page.inline else None) if page.form else None
    if form is not None and not form.is_valid():
        return _action_failed(request, case, action, role, form)
    if page.confirms and request.POST.get("confirmed") != "yes":
        return _confirm_page(request, case, action, role, form)
    given = dict(form.cleaned_data) if form else {}
    uploads = [f for name in getattr(form, "UPLOADS", ()) for f in given.pop(name, [])]
    try:
        for upload in uploads:  # the new evidence an appeal rests on, in the same step
            aftersales.add_evidence(case, acting_user=request.user, upload=upload, category="problem")
        case = aftersales.act(case, action, acting_user=request.user, **given)
    except DomainError as exc:
        if form is not None:
            attach(form, exc, by_code=UPLOAD_ERRORS_AT)
            return _action_failed(request, case, action, role, form)
        if page.confirms:
            return _confirm_page(request, case, action, role, form, error=error_text(exc))
        messages.error(request, error_text(exc))
        return redirect(case_url(case, request.user))
    messages.success(request, str(page.done))
    return redirect(safe_next(request, case_url(case, request.user)))


def _action_failed(request, case: RefundCase, action: str, role: str | None, form: Form) -> HttpResponse:
    """Show the form again with its errors next to the fields: on the confirmation page for
    confirmed actions, on the case page for the others (only the parties take actions with forms)."""
    page = ACTION_PAGES[action]
    if page.confirms and not page.inline:  # an inline form's errors show where it was filled in
        return _confirm_page(request, case, action, role, form)
    return render(request, "web/cases/detail.html", case_context(request, case, forms={action: form}))


def _confirm_page(
    request, case: RefundCase, action: str, role: str | None, form: Form | None, *, error: str | None = None
):
    page: ActionPage = ACTION_PAGES[action]
    choice = None
    if page.choices:  # the answer chosen; without a valid one, the last choice (the one that refuses)
        field = next(iter(form.fields)) if form is not None else ""
        value = form.data.get(field) if form is not None and form.is_valid() else None
        choice = next((c for c in page.choices if c.value == value), page.choices[-1])
    confirm = choice.confirm if choice else page.confirm
    decision = lifecycle.standing_decision(case)
    amount = lifecycle.at_stake(action, case)
    assert confirm is not None
    return render(
        request,
        "web/cases/confirm.html",
        {
            "case": case,
            "order": case.order,
            "action": action,
            "role": role,
            "error": error,
            "allowed": action in lifecycle.offered(case, role, clock_now()),
            "form": form,
            "title": confirm.title,
            "warning": filled(confirm.warning, amount=amount, outcome=label(Outcome, (decision or {}).get("outcome"))),
            "advice": filled(confirm.advice),
            "button": confirm.button,
            "hidden": {next(iter(form.fields)): choice.value} if choice and form is not None else _carried(page, form),
            "said": _said(page, form),
            "next": safe_next(request, ""),
            "back": case_url(case, request.user),
        },
    )


def _carried(page: ActionPage, form: Form | None) -> dict[str, str]:
    """An inline form's valid input, carried through the confirmation page as hidden fields."""
    if not page.inline or form is None or not form.is_bound or not form.is_valid():
        return {}
    return {form.add_prefix(n): form.data.get(form.add_prefix(n), "") for n in form.fields}


def _said(page: ActionPage, form: Form | None) -> list[tuple[str, str]]:
    """What the party wrote in an inline form, shown back on its confirmation page."""
    if form is None or not _carried(page, form):
        return []
    return [(str(form[n].label), form.cleaned_data[n]) for n in form.fields]


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
    if request.user.role == Actor.ARBITRATOR:
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
    item = _evidence_item(request, case_id, evidence_id)
    return download_response(item.stored(), download_name(item), item.content_type)


@login_required
@require_GET
def evidence_preview(request, case_id: int, evidence_id: int):
    """The platform's own small JPEG of a picture or video (never the original), shown inline."""
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


SENT_VIA = {"in_app": gettext_lazy("站内信"), **dict(ChannelKind.choices)}  # email: 邮件


@login_required
@require_GET
def notifications(request):
    """In-app notices, each saying where else it was sent (the e-mail address masked, channels)."""
    mine = Notification.objects.filter(user=request.user).select_related("case").order_by("-pk")
    page = Paginator(mine, 30).get_page(request.GET.get("page"))
    for notice in page.object_list:
        notice.sent_to = [
            {"label": SENT_VIA.get(d["channel"], d["channel"]), "to": d.get("to", "")}
            for d in (notice.delivered_to or [{"channel": "in_app", "to": ""}])
        ]
    return render(
        request,
        "web/cases/notifications.html",
        {"page": page, "email": mask_email(request.user.email) if request.user.email else ""},
    )
