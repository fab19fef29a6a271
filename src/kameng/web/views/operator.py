"""Operator pages (平台运营): the overview with links to merchants and sanctions, the audit log and
the statistics, and the policy settings — deadlines and thresholds, each category's refund rule,
and the holiday table behind working-day deadlines. Admins only; every change goes through
kameng.policy.services, which writes the audit log."""

from datetime import date

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kameng.aftersales import services as aftersales
from kameng.aftersales.models import OPEN_STATUSES, CaseStatus, RefundCase
from kameng.arbitration import staff
from kameng.catalog.models import Shop
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.money import plain_yuan
from kameng.policy import services as policy_services
from kameng.policy.defaults import DEFAULTS
from kameng.policy.models import Holiday
from kameng.trust import services as trust_services
from kameng.trust.policies import parse_refund_ratios, ratios_text, refund_ratios
from kameng.trust.rules import grades

from ..case_forms import ArbitratorForm, CategoryRuleForm, CommissionForm, DeadlinesForm, HolidayForm, SanctionsForm
from ..pages import attach_error, error_text, role_required
from ..templatetags.kameng_web import category_name

admin_only = role_required("admin")
NUMBER_KEYS = tuple(DeadlinesForm.base_fields)


@admin_only
@require_GET
def home(request):
    now = clock_now()
    cases = RefundCase.objects
    return render(
        request,
        "web/operator/home.html",
        {
            "open_cases": cases.filter(status__in=OPEN_STATUSES).count(),
            "awaiting_merchant": cases.filter(status=CaseStatus.AWAITING_MERCHANT).count(),
            "in_arbitration": aftersales.arbitration_queue().count(),
            "overdue": aftersales.arbitration_queue().filter(decide_by__lt=now).count(),
            "shops_restricted": Shop.objects.filter(status="restricted").count(),
            "shops_suspended": Shop.objects.filter(status="suspended").count(),
        },
    )


def _category_forms(policy, bound: CategoryRuleForm | None = None) -> list[dict]:
    rows = []
    for code, category in policy.categories.items():
        if bound is not None and bound.prefix == f"cat-{code}":
            form = bound
        else:
            form = CategoryRuleForm(
                prefix=f"cat-{code}",
                initial={
                    "rule": category.get("rule", ""),
                    "rule_en": category.get("rule_en", ""),
                    "ratios": ratios_text(refund_ratios(policy, code)),
                },
            )
        rows.append({"code": code, "category": category, "form": form})
    return rows


@admin_only
@require_http_methods(["GET", "POST"])
def policy(request):
    current = policy_services.get_policy()
    deadlines_form = category_form = holiday_form = sanctions_form = commission_form = None
    categories = [(code, category_name(code)) for code in current.categories]
    if request.method == "POST":
        kind = request.POST.get("form")
        if kind == "sanctions":
            sanctions_form = SanctionsForm(request.POST)
            if sanctions_form.is_valid() and _save_sanctions(request, current, sanctions_form):
                return redirect(f"{request.path}#sanctions")
        elif kind == "commission":
            commission_form = CommissionForm(request.POST, categories=categories)
            if commission_form.is_valid() and _save_commission(request, current, commission_form):
                return redirect(f"{request.path}#commission")
        elif kind == "deadlines":
            deadlines_form = DeadlinesForm(request.POST)
            if deadlines_form.is_valid() and _save_numbers(request, current, deadlines_form):
                return redirect("operator-policy")
        elif kind == "category":
            code = request.POST.get("category_code", "")
            if code in current.categories:
                category_form = CategoryRuleForm(request.POST, prefix=f"cat-{code}")
                if category_form.is_valid() and _save_rule(request, current, code, category_form):
                    return redirect(f"{request.path}#cat-{code}")
        elif kind == "holiday_add":
            holiday_form = HolidayForm(request.POST)
            if holiday_form.is_valid():
                data = holiday_form.cleaned_data
                try:
                    policy_services.add_holiday(
                        data["date"],
                        name=data["name"],
                        is_workday=data["is_workday"],
                        acting_user=request.user,
                        now=clock_now(),
                    )
                except DomainError as exc:
                    attach_error(holiday_form, exc)
                else:
                    messages.success(request, _("已保存 %(date)s 的日历设置。") % {"date": data["date"].isoformat()})
                    return redirect(f"{request.path}#holidays")
        elif kind == "holiday_remove":
            try:
                day = date.fromisoformat(request.POST.get("date", ""))
            except ValueError:
                messages.error(request, _("日期无效"))
            else:
                if policy_services.remove_holiday(day, acting_user=request.user, now=clock_now()):
                    messages.success(request, _("已删除 %(date)s 的日历设置。") % {"date": day.isoformat()})
            return redirect(f"{request.path}#holidays")
    if deadlines_form is None:
        initial = {key: getattr(current, key) for key in NUMBER_KEYS}
        threshold = initial["fast_track_threshold_fen"]  # shown in yuan, like every amount on the pages
        initial["fast_track_threshold_fen"] = plain_yuan(threshold)
        deadlines_form = DeadlinesForm(initial=initial)
    if sanctions_form is None:
        floors = dict(grades(current.grade_floors))
        sanctions_form = SanctionsForm(
            initial={
                **{f"grade_{g.lower()}": floors[g] for g in "ABCD"},
                "suspend_after": current.suspend_after_overturned_refusals,
            }
        )
    if commission_form is None:
        commission_form = CommissionForm(
            categories=categories,
            initial={
                "settlement_days": current.settlement_days,
                **{f"bp_{code}": current.commission_bp(code) for code, _name in categories},
            },
        )
    year = clock_now().astimezone(policy_services.CHINA).year
    return render(
        request,
        "web/operator/policy.html",
        {
            "deadlines_form": deadlines_form,
            "sanctions_form": sanctions_form,
            "commission_form": commission_form,
            "categories": _category_forms(current, category_form),
            "holiday_form": holiday_form or HolidayForm(),
            "holidays": Holiday.objects.order_by("-date")[:200],
            "calendar": [
                {"year": y, "covered": policy_services.calendar_covers(y), "days": policy_services.calendar_in_force(y)}
                for y in (year, year + 1)
            ],
            "defaults": DEFAULTS,
        },
    )


def _save(request, form, key: str, value, *, field: str | None = None) -> bool:
    """One policy value through set_policy (audited); its refusal shown on the form. True if saved."""
    try:
        policy_services.set_policy(key, value, acting_user=request.user, now=clock_now())
    except DomainError as exc:
        form.add_error(field, error_text(exc))
        return False
    return True


def _save_changed(request, form, changes: list[tuple[str, object, object, str | None]]) -> int | None:
    """Save each (key, new, current, field) whose new value differs, in order; how many were saved,
    or None as soon as one is refused (its error is on the form)."""
    saved = 0
    for key, value, current, field in changes:
        if value != current:
            if not _save(request, form, key, value, field=field):
                return None
            saved += 1
    return saved


def _save_sanctions(request, current, form: SanctionsForm) -> bool:
    data = form.cleaned_data
    floors = {g: data[f"grade_{g.lower()}"] for g in "ABCD"}
    changed = _save_changed(
        request,
        form,
        [
            ("grade_floors", floors, dict(grades(current.grade_floors)[:4]), None),
            (
                "suspend_after_overturned_refusals",
                data["suspend_after"],
                current.suspend_after_overturned_refusals,
                "suspend_after",
            ),
        ],
    )
    if changed is None:
        return False
    if changed:
        trust_services.credit_rules_changed(clock_now())  # effective at once, not at the daily refresh
        messages.success(request, _("已保存处罚阈值；所有店铺的信用和处罚按新阈值重新计算。"))
    else:
        messages.info(request, _("没有改动。"))
    return True


def _save_commission(request, current, form: CommissionForm) -> bool:
    data = form.cleaned_data
    rates = {code: data[f"bp_{code}"] for code in current.categories if data[f"bp_{code}"]}
    changed = _save_changed(
        request,
        form,
        [
            ("commission_bp", rates, {code: bp for code, bp in current.values["commission_bp"].items() if bp}, None),
            ("settlement_days", data["settlement_days"], current.settlement_days, "settlement_days"),
        ],
    )
    if changed is None:
        return False
    if changed:
        messages.success(request, _("已保存佣金与结算周期，之后的放款按新设置计算。"))
    else:
        messages.info(request, _("没有改动。"))
    return True


def _save_numbers(request, current, form: DeadlinesForm) -> bool:
    changed = [key for key in NUMBER_KEYS if form.cleaned_data[key] != getattr(current, key)]
    now = clock_now()
    for key in changed:
        try:
            policy_services.set_policy(key, int(form.cleaned_data[key]), acting_user=request.user, now=now)
        except (KeyError, TypeError):
            form.add_error(key, _("无法保存这个值"))
            return False
    if changed:
        messages.success(request, _("已保存 %(n)d 项设置，之后新产生的时限按新设置计算。") % {"n": len(changed)})
    else:
        messages.info(request, _("没有改动。"))
    return True


def _save_rule(request, current, code: str, form: CategoryRuleForm) -> bool:
    categories = {c: dict(v) for c, v in current.categories.items()}
    rule, rule_en = form.cleaned_data["rule"].strip(), form.cleaned_data["rule_en"].strip()
    if not rule:
        form.add_error("rule", _("退款标准不能为空"))
        return False
    try:
        ratios = parse_refund_ratios(form.cleaned_data["ratios"])
    except DomainError as exc:
        attach_error(form, exc)
        return False
    unchanged = ratios == refund_ratios(current, code)
    if categories[code].get("rule") == rule and categories[code].get("rule_en", "") == rule_en and unchanged:
        messages.info(request, _("没有改动。"))
        return True
    categories[code]["rule"] = rule
    categories[code]["rule_en"] = rule_en
    if not unchanged:
        categories[code]["ratios"] = ratios  # an emptied list falls back to the published defaults
    policy_services.set_policy("categories", categories, acting_user=request.user, now=clock_now())
    messages.success(request, _("已更新“%(name)s”的退款标准。") % {"name": categories[code].get("name", code)})
    return True


@admin_only
@require_http_methods(["GET", "POST"])
def arbitrators(request):
    """仲裁员管理: add an arbitrator account, disable or enable one (each change audited)."""
    now = clock_now()
    form = ArbitratorForm()
    if request.method == "POST" and request.POST.get("form") == "create":
        form = ArbitratorForm(request.POST)
        if form.is_valid():
            try:
                user = staff.create_arbitrator(acting_user=request.user, now=now, **form.cleaned_data)
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("已创建仲裁员账号 %(name)s。") % {"name": user.username})
                return redirect("operator-arbitrators")
    elif request.method == "POST":
        active = request.POST.get("active") == "1"
        try:
            user = staff.set_active(
                acting_user=request.user, arbitrator_id=_int(request.POST.get("user")), active=active, now=now
            )
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            done = _("已启用仲裁员 %(name)s。") if active else _("已停用仲裁员 %(name)s，其接手的案件已退回队列。")
            messages.success(request, done % {"name": user.username})
        return redirect("operator-arbitrators")
    people = list(staff.arbitrators())
    claimed = dict(
        RefundCase.objects.filter(claimed_by__in=people, status__in=[CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL])
        .values_list("claimed_by")
        .annotate(n=Count("pk"))
        .values_list("claimed_by", "n")
    )
    rows = [{"user": u, "claimed": claimed.get(u.pk, 0)} for u in people]
    return render(request, "web/operator/arbitrators.html", {"rows": rows, "form": form})


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
