"""The wallet statement page (对账单: from/to, opening balance + income − commission − refunds −
withdrawals + other = closing balance, shown true, the lines, a CSV download) and the operator's
commission report (by Beijing day and by category, the total, CSV). Reads only: the figures are
kameng.wallet.statement's (the same as `GET /wallet/statement` and `GET /stats/commission`)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.orders import reports
from kameng.policy.services import get_policy
from kameng.wallet import statement as statements

from ..pages import error_text, login_required, role_required

REPORT_DAYS = (7, 30, 90, 366)
ENTRY_LABELS = {
    "topup": _("充值 / 渠道付款"),
    "purchase": _("购买"),
    "purchase_balance": _("支付尾款"),
    "release": _("订单放款"),
    "refund": _("退款"),
    "withdrawal": _("提现"),
    "withdrawal_failed": _("提现失败退回"),
    "gateway_refund": _("原路退回"),
    "gateway_refund_undone": _("原路退回失败，退回钱包"),
}


def _csv(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
def statement(request):
    today = clock_now().astimezone(statements.CHINA).date()
    start_text, end_text = request.GET.get("from", ""), request.GET.get("to", "")
    result, error = None, ""
    try:
        start = statements.parse_day(start_text, "from") or today.replace(day=1)
        end = statements.parse_day(end_text, "to") or today
        result = statements.statement(request.user, start, end)
    except DomainError as exc:
        error = error_text(exc)
    if result is not None and request.GET.get("format") == "csv":
        return _csv(statements.statement_csv(result), f"kameng-statement-{result.start}-{result.end}.csv")
    lines = [{**line, "label": ENTRY_LABELS.get(line["kind"], line["kind"])} for line in result.lines] if result else []
    return render(
        request,
        "web/merchant/statement.html",
        {
            "result": result,
            "lines": lines,
            "error": error,
            "start": result.start.isoformat() if result else start_text,
            "end": result.end.isoformat() if result else end_text,
            "withdrawable": statements.withdrawable_amount(request.user, clock_now()),
            "settlement_days": get_policy().settlement_days,
        },
        status=400 if error else 200,
    )


@require_GET
@role_required("admin")
def commission(request):
    text = request.GET.get("days", "30")
    days = int(text) if text.isdigit() and 1 <= int(text) <= 366 else 30
    now = clock_now()
    by_day = statements.commission_by_day(days, now)
    by_category = reports.commission_by_category(days, now)
    if request.GET.get("format") == "csv":
        policy = get_policy()
        names = {}
        for row in by_category:
            try:
                names[row["category"]] = policy.category(row["category"]).get("name") or row["category"]
            except KeyError:
                names[row["category"]] = row["category"]
        return _csv(statements.commission_csv(by_day, by_category, names), f"kameng-commission-{days}d.csv")
    return render(
        request,
        "web/operator/commission.html",
        {
            "days": days,
            "choices": REPORT_DAYS,
            "by_day": by_day,
            "by_category": by_category,
            "total": sum(r["commission"] for r in by_day),
            "rates": sorted(get_policy().values["commission_bp"].items()),
        },
    )
