"""Statements and commission (issue 17.6): the wallet statement that reconciles (JSON or CSV), the
operator's commission by day (HTTP only: the use cases are kameng.wallet.statement)."""

from django.http import HttpResponse
from ninja import Router

from kameng.accounts.models import Role
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.wallet import statement as statements

from .base import iso, require_role

router = Router(tags=["wallet"])


@router.get("/wallet/statement", response=dict)
def wallet_statement(request, format: str = "json"):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (Beijing days, inclusive; default: this month to today)."""
    today = clock_now().astimezone(statements.CHINA).date()
    start = statements.parse_day(request.GET.get("from"), "from") or today.replace(day=1)
    end = statements.parse_day(request.GET.get("to"), "to") or today
    result = statements.statement(request.auth, start, end)
    if format == "csv":
        response = HttpResponse(statements.statement_csv(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="kameng-statement-{start}-{end}.csv"'
        return response
    if format != "json":
        raise DomainError(Error.EXPORT_FORMAT_UNSUPPORTED, param="format")
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "opening_balance": result.opening,
        "income": result.income,
        "commission": result.commission,
        "refunds": result.refunds,
        "withdrawals": result.withdrawals,
        "other": result.other,
        "closing_balance": result.closing,
        "withdrawable": statements.withdrawable_amount(request.auth, clock_now()),
        "currency": "CNY",
        "lines": [
            {**line, "at": iso(line["at"]), "order": str(line["order"]) if line["order"] else None}
            for line in result.lines
        ],
    }


@router.get("/stats/commission", response=dict)
def commission_report(request, days: int = 30):
    """The platform's commission by Beijing day (admin)."""
    require_role(request, Role.ADMIN)
    if not 1 <= days <= 366:
        raise DomainError(Error.LIMIT_OUT_OF_RANGE, param="days")
    rows = statements.commission_by_day(days, clock_now())
    return {"data": rows, "total": sum(r["commission"] for r in rows), "currency": "CNY"}
