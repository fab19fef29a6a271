"""Settlement and statements (issue 17.6).

- T+N: money released to a merchant becomes withdrawable `settlement_days` (policy) after its
  release; `withdrawable_amount(user, now)` is the wallet balance less what was released since.
- A statement of a wallet over [from, to): opening balance + income − commission − refunds −
  withdrawals + other = closing balance, every figure summed from the ledger's own postings
  (income is what releases brought in before the platform's commission; `other` is anything else
  that moved the wallet: top-ups, purchases, gateway refunds).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Sum

from kameng.accounts.models import User
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind, Posting
from kameng.money import plain_yuan
from kameng.policy.services import get_policy
from kameng.spreadsheet import csv_document, csv_safe

CHINA = ZoneInfo("Asia/Shanghai")  # statement days are Beijing days
MAX_DAYS = 366


def withdrawable_amount(user: User, now: datetime) -> int:
    """What the user may withdraw now: the balance, less releases younger than the settlement delay."""
    code = ledger.wallet_code(user.pk)
    balance = ledger.balance(code)
    days = get_policy().settlement_days
    if not days:
        return max(0, balance)
    unsettled = (
        Posting.objects.filter(
            account__code=code,
            amount__gt=0,
            entry__kind=EntryKind.RELEASE,
            entry__created_at__gt=now - timedelta(days=days),
        ).aggregate(t=Sum("amount"))["t"]
        or 0
    )
    return max(0, balance - unsettled)


@dataclass
class Statement:
    start: date
    end: date  # inclusive
    opening: int = 0
    income: int = 0
    commission: int = 0
    refunds: int = 0
    withdrawals: int = 0
    other: int = 0
    closing: int = 0
    lines: list[dict] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        total = self.opening + self.income - self.commission - self.refunds - self.withdrawals + self.other
        return total == self.closing


def parse_day(text: str | None, param: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(Error.STATEMENT_DATE_INVALID, param=param) from None


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


def statement(user: User, start: date, end: date) -> Statement:
    if end < start or (end - start).days >= MAX_DAYS:
        raise DomainError(Error.STATEMENT_RANGE_INVALID, param="to")
    code = ledger.wallet_code(user.pk)
    since, until = _moment(start), _moment(end + timedelta(days=1))
    mine = Posting.objects.filter(account__code=code)
    result = Statement(start=start, end=end)
    result.opening = mine.filter(entry__created_at__lt=since).aggregate(t=Sum("amount"))["t"] or 0
    rows = (
        mine.filter(entry__created_at__gte=since, entry__created_at__lt=until)
        .select_related("entry")
        .order_by("entry__created_at", "id")
    )
    fees = _commissions(rows)
    for posting in rows:
        entry = posting.entry
        kind, amount = entry.kind, posting.amount
        fee = fees.get(entry.pk, 0)
        if kind == EntryKind.RELEASE:
            result.income += amount + fee
            result.commission += fee
        elif kind == EntryKind.REFUND:
            result.refunds -= amount
        elif kind in (EntryKind.WITHDRAWAL, EntryKind.WITHDRAWAL_FAILED):
            result.withdrawals -= amount
        else:
            result.other += amount
        result.lines.append(
            {
                "at": entry.created_at,
                "kind": kind,
                "amount": amount,
                "commission": fee,
                "order": entry.order_id,
                "memo": entry.memo,
            }
        )
    result.closing = result.opening + sum(p.amount for p in rows)
    return result


def _commissions(rows) -> dict[int, int]:
    """The platform's commission in each release entry among `rows`, by entry id."""
    entries = [p.entry_id for p in rows if p.entry.kind == EntryKind.RELEASE]
    return dict(
        Posting.objects.filter(entry_id__in=entries, account__code=ledger.PLATFORM_COMMISSION).values_list(
            "entry_id", "amount"
        )
    )


CSV_HEADER = ["时间", "类型", "金额(元)", "其中佣金(元)", "订单", "摘要"]


def statement_csv(result: Statement) -> bytes:
    rows = [
        [
            line["at"].astimezone(CHINA).isoformat(),
            line["kind"],
            plain_yuan(line["amount"]),
            plain_yuan(line["commission"]),
            line["order"] or "",
            csv_safe(line["memo"]),
        ]
        for line in result.lines
    ]
    summary = [
        ["期初余额", "", plain_yuan(result.opening)],
        ["收入(放款，佣金前)", "", plain_yuan(result.income)],
        ["平台佣金", "", plain_yuan(-result.commission)],
        ["退款", "", plain_yuan(-result.refunds)],
        ["提现", "", plain_yuan(-result.withdrawals)],
        ["其他", "", plain_yuan(result.other)],
        ["期末余额", "", plain_yuan(result.closing)],
    ]
    return csv_document(CSV_HEADER, [*rows, [], *summary])


def commission_by_day(days: int, now: datetime) -> list[dict]:
    """The operator's report: commission taken per Beijing day, the last `days` days, newest first."""
    today = now.astimezone(CHINA).date()
    start = _moment(today - timedelta(days=days - 1))
    totals: dict[date, int] = {}
    postings = Posting.objects.filter(
        account__code=ledger.PLATFORM_COMMISSION, entry__created_at__gte=start
    ).values_list("entry__created_at", "amount")
    for at, amount in postings.iterator(2000):
        day = at.astimezone(CHINA).date()
        totals[day] = totals.get(day, 0) + amount
    return [
        {"day": (today - timedelta(days=i)).isoformat(), "commission": totals.get(today - timedelta(days=i), 0)}
        for i in range(days)
    ]


def commission_by_order(days: int, now: datetime) -> dict[int | None, int]:
    """The same window as `commission_by_day`, summed per order (the entry's order; None if none):
    kameng.orders.reports groups it by the orders' categories."""
    today = now.astimezone(CHINA).date()
    start = _moment(today - timedelta(days=days - 1))
    by_order: dict[int | None, int] = {}
    postings = Posting.objects.filter(
        account__code=ledger.PLATFORM_COMMISSION, entry__created_at__gte=start
    ).values_list("entry__order_id", "amount")
    for order_id, amount in postings.iterator(2000):
        by_order[order_id] = by_order.get(order_id, 0) + amount
    return by_order


def commission_csv(by_day: list[dict], by_category: list[dict], names: dict[str, str]) -> bytes:
    """The operator's commission report as CSV (Excel-safe): by day, then by category, then the total."""
    rows: list[list[object]] = [[row["day"], plain_yuan(row["commission"])] for row in by_day]
    rows += [[], ["类目", "佣金(元)"]]
    rows += [
        [csv_safe(names.get(r["category"], r["category"]) or "—"), plain_yuan(r["commission"])] for r in by_category
    ]
    rows += [[], ["合计", plain_yuan(sum(r["commission"] for r in by_day))]]
    return csv_document(["日期", "佣金(元)"], rows)
