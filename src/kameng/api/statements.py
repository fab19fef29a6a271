"""Statements and commission (issue 17.6): the wallet statement that reconciles (JSON or CSV), the
operator's commission by day (HTTP only: the use cases are kameng.wallet.statement)."""

from django.http import HttpResponse
from ninja import Router

from kameng.accounts.models import Role
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.orders import reports
from kameng.wallet import statement as statements

from .base import iso, require_role
from .contract import Fen, Id, Out, Timestamp, download, raises


class StatementLine(Out):
    at: Timestamp
    kind: str  # the journal entry's kind: release, refund, withdrawal, …
    amount: Fen  # into (+) or out of (−) the wallet
    commission: Fen  # the platform's commission in a release
    order: Id | None
    memo: str


class StatementOut(Out):
    """opening_balance + income − commission − refunds − withdrawals + other = closing_balance."""

    start: str
    end: str
    opening_balance: Fen
    income: Fen
    commission: Fen
    refunds: Fen
    withdrawals: Fen
    other: Fen
    closing_balance: Fen
    withdrawable: Fen
    currency: str
    lines: list[StatementLine]


class CommissionDay(Out):
    day: str
    commission: Fen


class CommissionCategory(Out):
    category: str  # the order's category when it was bought ("" for commission tied to no order)
    commission: Fen


class CommissionReport(Out):
    data: list[CommissionDay]
    by_category: list[CommissionCategory]
    total: Fen
    currency: str


router = Router(tags=["wallet"])


@router.get(
    "/wallet/statement",
    response=StatementOut,
    openapi_extra={
        **download("text/csv", "With format=csv: the statement as CSV"),
        "parameters": [
            {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
            {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
        ],
    },
)
@raises(Error.STATEMENT_DATE_INVALID, Error.STATEMENT_RANGE_INVALID, Error.EXPORT_FORMAT_UNSUPPORTED)
def wallet_statement(request, format: str = "json"):
    """The wallet's statement `?from=YYYY-MM-DD&to=YYYY-MM-DD` (Beijing days; default this month), JSON or CSV."""
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
        "start": start.isoformat(),
        "end": end.isoformat(),
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


@router.get("/stats/commission", response=CommissionReport)
@raises(Error.WRONG_ROLE, Error.LIMIT_OUT_OF_RANGE)
def commission_report(request, days: int = 30):
    """The platform's commission by Beijing day and by category (admin)."""
    require_role(request, Role.ADMIN)
    if not 1 <= days <= 366:
        raise DomainError(Error.LIMIT_OUT_OF_RANGE, param="days")
    now = clock_now()
    rows = statements.commission_by_day(days, now)
    return {
        "data": rows,
        "by_category": reports.commission_by_category(days, now),
        "total": sum(r["commission"] for r in rows),
        "currency": "CNY",
    }
