"""Trust pages: the public rules-and-statistics page, a merchant's public credit profile (with
its sanction history for the merchant and staff), and the operators' sanctions page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kameng.accounts.models import Role
from kameng.aftersales import precedents
from kameng.aftersales.models import Outcome, Reason, Resolution
from kameng.catalog.models import Shop, ShopStatus
from kameng.clock.services import now as clock_now
from kameng.complaints.rules import arbitration_clause
from kameng.errors import DomainError
from kameng.labels import label
from kameng.policy import rulebook
from kameng.policy.services import get_policy
from kameng.trust import services
from kameng.trust.models import MerchantCredit, Review, SanctionEvent
from kameng.trust.policies import published_policies
from kameng.trust.stats import platform_stats

from .. import charts

STATUS_LABELS = dict(ShopStatus.choices)
SOURCE_LABELS = {"auto": gettext_lazy("系统（信用规则）"), "admin": gettext_lazy("平台运营")}


def _english() -> bool:
    return (get_language() or "").startswith("en")


def agreement_page(request):
    """用户协议（争议解决）: how disputes leave the platform. The arbitration clause is shown only when
    the operator's agreement has one (KAMENG_ARBITRATION_COMMISSION), as an option for the buyer."""
    commission = settings.ARBITRATION_COMMISSION
    operator = settings.PLATFORM_OPERATOR.get("name", "")
    return render(
        request,
        "web/trust/agreement.html",
        {
            "operator": operator,
            "commission": commission,
            "clause": arbitration_clause(commission, operator) if commission else "",
        },
    )


def duration_text(seconds: float | None) -> str | None:
    """A median resolution time people can read: minutes under an hour (never "0.0 小时")."""
    if seconds is None:
        return None
    if seconds < 3600:
        return _("%(m)s 分钟") % {"m": max(1, round(seconds / 60))}
    return _("%(h)s 小时") % {"h": f"{seconds / 3600:.1f}"}


def rulebook_view(english: bool) -> list[dict]:
    """Every rule a decision or a sanction can cite, with the laws behind it from the law table."""
    sanctions = {rule.id for rule in rulebook.SANCTIONS}
    return [
        {
            "id": rule.id,
            "text": rule.text,
            "text_en": rule.text_en,
            "for_sanctions": rule.id in sanctions,
            "laws": [
                {"cite": law.cite_en if english else law.short, "gist": law.gist_en if english else law.gist}
                for law in rule.laws
            ],
        }
        for rule in rulebook.all_rules(get_policy().categories)
    ]


def rules_page(request):
    """平台规则与统计: refund standards, deadlines, the credit formula and live statistics."""
    english = _english()
    policies = published_policies()
    stats = platform_stats()
    weekly = stats["weekly"]
    week_label = lambda w: w["week_start"][5:]  # noqa: E731  (MM-DD of the week's Monday)
    outcome_rows = [(label(Resolution, k), v) for k, v in sorted(stats["by_outcome"].items())]
    names = {c["code"]: (c["name_en"] if english else c["name"]) for c in policies["categories"]}
    category_rows = [{"name": names.get(code, code or "—"), **row} for code, row in stats["by_category"].items()]
    context = {
        "english": english,
        "p": policies,
        "stats": stats,
        "fast_track_yuan": policies["fast_track"]["threshold"] // 100,
        "median_text": duration_text(stats["median_resolution_seconds"]),
        "categories": [
            {
                **c,
                "display_name": c["name_en"] if english else c["name"],
                "display_rule": c["refund_rule_en"] if english and c["refund_rule_en"] else c["refund_rule"],
                "commission_percent": f"{c['commission_bp'] / 100:g}%",
            }
            for c in policies["categories"]
        ],
        "formula_terms": [t["en"] if english else t["zh"] for t in policies["credit_formula"]["terms"]],
        "sanction_rules": [s["en"] if english else s["zh"] for s in policies["credit_formula"]["sanctions"]],
        "category_rows": category_rows,
        "rulebook": rulebook_view(english),
        "chart_dispute": charts.bar_chart(
            [(week_label(w), w["dispute_rate"]) for w in weekly],
            title=_("每周纠纷率（售后案件数 ÷ 订单数）"),
            fmt=charts.percent,
            chart_id="chart-dispute",
            reference=(
                (
                    stats["dispute_rate"],
                    _("近 %(d)s 天整体 %(r)s")
                    % {"d": stats["window_days"], "r": charts.percent(stats["dispute_rate"])},
                )
                if stats["dispute_rate"] is not None
                else None
            ),
        ),
        "chart_resolution": charts.bar_chart(
            [(week_label(w), w["median_resolution_seconds"]) for w in weekly],
            title=_("每周售后处理时长中位数（小时）"),
            fmt=charts.hours,
            chart_id="chart-resolution",
            # at least an hour tall: a quiet week's few minutes must not make an axis of "0m, 0m, 0"
            max_value=max([3600, *(w["median_resolution_seconds"] or 0 for w in weekly)]),
        ),
        "chart_sla": charts.bar_chart(
            [(week_label(w), w["decided_within_sla_share"]) for w in weekly],
            title=_("每周在时限内作出的仲裁裁决占比"),
            fmt=charts.percent,
            max_value=1,
            chart_id="chart-sla",
        ),
        "chart_outcomes": charts.hbar_chart(
            outcome_rows, title=_("已结案件的处理结果"), fmt=charts.count, chart_id="chart-outcomes"
        )
        if outcome_rows
        else None,
    }
    return render(request, "web/trust/rules.html", context)


PRECEDENTS_PER_PAGE = 20


def precedents_page(request):
    """已公开的裁决 (判例): final decisions, anonymized, newest first; filters by category, reason and
    outcome; keyset paging (?before=<id>) so a million precedents page as fast as ten."""
    english = _english()
    policy = get_policy()
    category = request.GET.get("category", "")
    reason = request.GET.get("reason", "")
    outcome = request.GET.get("outcome", "")
    category = category if category in policy.categories else ""
    reason = reason if reason in Reason.values else ""
    outcome = outcome if outcome in Outcome.values else ""
    qs = precedents.published(category=category, reason=reason, outcome=outcome).order_by("-pk")
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    rows = list(qs[: PRECEDENTS_PER_PAGE + 1])
    items = [{"p": p, "rule": precedents.rule_ref(p, english)} for p in rows[:PRECEDENTS_PER_PAGE]]
    more = len(rows) > PRECEDENTS_PER_PAGE
    return render(
        request,
        "web/trust/precedents.html",
        {
            "items": items,
            "more": more,
            "next_before": items[-1]["p"].pk if more and items else None,
            "paged": before.isdigit(),
            "filters": {"category": category, "reason": reason, "outcome": outcome},
            "categories": [
                (code, (data.get("name_en") if english else data.get("name")) or code)
                for code, data in policy.categories.items()
            ],
            "reasons": [(r.value, r.label) for r in Reason],
            "outcomes": [(o.value, o.label) for o in Outcome],
        },
    )


def staff_consistency(request):
    """Admins: per arbitrator, the share of final decisions the appeal changed or reversed."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.role != Role.ADMIN:
        raise PermissionDenied
    return render(request, "web/trust/staff_consistency.html", {"rows": precedents.consistency()})


def merchant_profile(request, shop_id: int):
    """A merchant's public profile: credit, its reasons, reviews; the sanction log for the merchant and staff."""
    shop = Shop.objects.filter(pk=shop_id).select_related("owner").first()
    if shop is None:
        raise Http404(_("店铺不存在"))
    credit = services.credit_for_shop(shop)
    reviews = Review.objects.filter(shop=shop).select_related("buyer", "order").order_by("-pk")[:20]
    show_sanctions = services.can_see_sanctions(shop, request.user)
    sanctions = (
        SanctionEvent.objects.filter(shop=shop).select_related("actor").order_by("-pk")[:50] if show_sanctions else []
    )
    return render(
        request,
        "web/trust/merchant.html",
        {
            "shop": shop,
            "credit": credit,
            "status_label": STATUS_LABELS.get(shop.status, shop.status),
            "reviews": [services.review_out(r) for r in reviews],
            "summary": services.review_summary(shop),
            "show_sanctions": show_sanctions,
            "sanctions": [
                {
                    **services.sanction_out(e),
                    "from_label": STATUS_LABELS.get(e.from_status, e.from_status),
                    "to_label": STATUS_LABELS.get(e.to_status, e.to_status),
                    "source_label": SOURCE_LABELS.get(e.source, e.source),
                    "actor_name": e.actor.username if e.actor is not None else "",
                }
                for e in sanctions
            ],
            "is_owner": request.user.is_authenticated and request.user.pk == shop.owner_id,
            "english": _english(),
        },
    )


@require_http_methods(["GET", "POST"])
def staff_sanctions(request):
    """Operators: every shop's credit and status, overrides with a reason, and the audit log."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.role != Role.ADMIN:
        raise PermissionDenied
    if request.method == "POST":
        shop_id = request.POST.get("shop") or ""
        shop = Shop.objects.filter(pk=int(shop_id)).first() if shop_id.isdigit() else None
        if shop is None:
            messages.error(request, _("店铺不存在"))
        else:
            try:
                services.set_sanction(
                    shop,
                    acting_user=request.user,
                    status=request.POST.get("status", ""),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, _("已调整店铺“%(name)s”的状态") % {"name": shop.name})
            except DomainError as exc:
                messages.error(request, exc.message())
        return redirect("trust-staff-sanctions")
    services.sync_if_behind()
    rows = []
    now = clock_now()
    for shop in Shop.objects.select_related("owner").order_by("pk")[:500]:
        record = MerchantCredit.objects.filter(shop=shop).first()
        if record is not None and record.refresh_due_at <= now:  # a case event since: recount before showing it
            record = services.refresh_shop(shop.pk, now, wait=False)
            shop.refresh_from_db(fields=["status"])
        rows.append(
            {
                "shop": shop,
                "record": record,
                "status_label": STATUS_LABELS.get(shop.status, shop.status),
                "target_label": STATUS_LABELS.get(record.sanction_target, "") if record else "",
                "pinned": bool(record and record.override_baseline),
            }
        )
    events = SanctionEvent.objects.select_related("shop", "actor").order_by("-pk")[:100]
    return render(
        request,
        "web/trust/staff_sanctions.html",
        {
            "rows": rows,
            "statuses": list(STATUS_LABELS.items()),
            "events": [
                {
                    "e": e,
                    "to_label": STATUS_LABELS.get(e.to_status, e.to_status),
                    "from_label": STATUS_LABELS.get(e.from_status, e.from_status),
                    "source_label": SOURCE_LABELS.get(e.source, e.source),
                }
                for e in events
            ],
        },
    )
