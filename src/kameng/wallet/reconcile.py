"""对账: a gateway's daily statement against our books, line by line.

Statements are read as the gateways export them: Alipay's 业务明细 CSV (GBK, `#` comment lines
around the table; 业务类型 交易 or 退款) and WeChat Pay's 交易账单 (UTF-8, every value prefixed
with a backtick, a totals block at the end). Each payment is matched by 商户订单号 (our
out_trade_no), each refund by its request number (our out_refund_no); the day is Beijing's.

易支付 aggregators have no one statement format; we accept the order list they export (README
"Taking real payments"): a CSV (UTF-8 with or without BOM, or GBK) whose header names, in Chinese or
English, 商户订单号/out_trade_no, 订单号/trade_no, 金额/money, 状态/status, 时间/time, and optionally
退款金额/refund_money; `#` lines before the header are skipped. 状态 1/已支付 is a payment, 2/已退款 a
payment refunded (by 退款金额, else in full), 0/未支付 is skipped. The list is the day's orders with
their state when exported, so a refund is matched per order (key: its out_trade_no) against what
our books refunded of it through the gateway, whatever the day.

A payment whose amount matches is also matched on the gateway's own trade number (支付宝交易号, 微信订单号,
易支付 订单号) against the one its notification gave us: a different one means the gateway booked the
order on another transaction than the one we credited (a replayed or forged notification, a second
payment of the same order), which the amounts alone would not show.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .gateways.base import InvalidNotification, fen_from_yuan
from .models import Payment, PaymentRefund, PaymentStatus, RefundStatus

BEIJING = timezone(timedelta(hours=8))
FORMATS = ("alipay", "wechatpay", "epay")


class StatementError(Exception):
    """The file is not a statement this gateway exports."""


@dataclass(frozen=True)
class Line:
    kind: str  # payment | refund
    key: str  # out_trade_no or out_refund_no
    amount: int  # fen
    reference: str = ""  # the gateway's trade number of a payment, where known


@dataclass(frozen=True)
class Mismatch:
    # missing (in the statement, not in our books) | extra (ours only) | amount_differs | reference_differs
    problem: str
    kind: str
    key: str
    statement_amount: int | None
    ledger_amount: int | None
    statement_reference: str = ""
    ledger_reference: str = ""


def _fen(text: str) -> int:
    try:
        return abs(fen_from_yuan(text.strip().lstrip("-")))
    except InvalidNotification:
        raise StatementError(f"not an amount: {text!r}") from None


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Alipay exports GBK; WeChat UTF-8
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError("neither UTF-8 nor GBK")


def _table(text: str, first_column: str) -> list[dict[str, str]]:
    """The CSV table whose header starts with `first_column`, up to the first line that is not a row of it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lstrip("`").startswith(first_column)), None)
    if start is None:
        raise StatementError(f"no table starting with {first_column}")
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:]))))
    header = [h.strip() for h in rows[0]]
    table = []
    for row in rows[1:]:
        if not row or row[0].startswith("#") or len(row) < len(header):
            break  # the footer (#-lines, or WeChat's totals block)
        table.append({h: v.strip().lstrip("`").strip() for h, v in zip(header, row, strict=False)})
    return table


def alipay_lines(text: str) -> list[Line]:
    lines = []
    for row in _table(text, "支付宝交易号"):
        kind = row.get("业务类型", "")
        if kind == "交易":
            lines.append(Line("payment", row["商户订单号"], _fen(row["订单金额（元）"]), row["支付宝交易号"]))
        elif kind == "退款":
            lines.append(Line("refund", row["退款批次号/请求号"], _fen(row["订单金额（元）"])))
    return lines


def wechatpay_lines(text: str) -> list[Line]:
    lines = []
    for row in _table(text, "交易时间"):
        if row.get("交易状态") == "SUCCESS":
            lines.append(Line("payment", row["商户订单号"], _fen(row["订单金额"]), row.get("微信订单号", "")))
        elif row.get("交易状态") == "REFUND":
            lines.append(Line("refund", row["商户退款单号"], _fen(row["退款金额"])))
    return lines


EPAY_COLUMNS = {
    "out_trade_no": ("商户订单号", "out_trade_no"),
    "trade_no": ("订单号", "系统订单号", "trade_no"),
    "money": ("金额", "订单金额", "money"),
    "status": ("状态", "订单状态", "status"),
    "time": ("时间", "创建时间", "time", "addtime"),
}
EPAY_REFUND_COLUMN = ("退款金额", "refund_money")
EPAY_PAID = {"1", "已支付", "支付成功", "TRADE_SUCCESS", "3", "已冻结"}  # frozen: the aggregator has the money
EPAY_REFUNDED = {"2", "已退款", "TRADE_REFUND", "REFUND"}
EPAY_UNPAID = {"0", "未支付", "WAIT_BUYER_PAY"}


def _cell(text: str) -> str:
    return text.strip().strip("`=\"'\t").strip()  # Excel's ="…" and tab-suffixed cells, WeChat-style backticks


def epay_lines(text: str) -> list[Line]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "商户订单号" in line or "out_trade_no" in line), None)
    if start is None:
        raise StatementError("no header naming 商户订单号 (out_trade_no)")
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:]))))
    header = [_cell(h) for h in rows[0]]
    where = {}
    for field, names in EPAY_COLUMNS.items():
        found = next((header.index(n) for n in names if n in header), None)
        if found is None:
            raise StatementError(f"no column {'/'.join(names)}")
        where[field] = found
    refund_col = next((header.index(n) for n in EPAY_REFUND_COLUMN if n in header), None)
    table = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_cell(c) for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) < len(header):
            raise StatementError(f"line {number}: {len(cells)} cells, the header has {len(header)}")
        status, key = cells[where["status"]], cells[where["out_trade_no"]]
        if status in EPAY_UNPAID:
            continue
        if status not in EPAY_PAID | EPAY_REFUNDED:
            raise StatementError(f"line {number}: unknown 状态 {status!r}")
        money = _fen(cells[where["money"]])
        table.append(Line("payment", key, money, cells[where["trade_no"]]))
        if status in EPAY_REFUNDED:
            refunded = cells[refund_col] if refund_col is not None else ""
            table.append(Line("refund", key, _fen(refunded) if refunded else money))
    return table


def statement_lines(gateway: str, raw: bytes) -> list[Line]:
    if gateway not in FORMATS:
        raise StatementError(f"no statement format for {gateway}")
    text = _decode(raw)
    if gateway == "epay":
        return epay_lines(text)
    return alipay_lines(text) if gateway == "alipay" else wechatpay_lines(text)


def ledger_lines(gateway: str, day: date) -> list[Line]:
    """What our books say this gateway paid in and refunded on that Beijing day."""
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    end = start + timedelta(days=1)
    paid = Payment.objects.filter(
        gateway=gateway, status=PaymentStatus.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end
    )
    if gateway == "epay":  # the day's orders as they stand: each one's refunds, whatever their day
        refunds: dict[str, int] = {}
        for out_trade_no, amount in PaymentRefund.objects.filter(
            payment__in=paid, status=RefundStatus.SUCCEEDED
        ).values_list("payment__out_trade_no", "amount"):
            refunds[out_trade_no] = refunds.get(out_trade_no, 0) + amount
        return [_paid(p) for p in paid] + [Line("refund", key, amount) for key, amount in refunds.items()]
    refunded = PaymentRefund.objects.filter(
        payment__gateway=gateway, status=RefundStatus.SUCCEEDED, done_at__gte=start, done_at__lt=end
    )
    return [_paid(p) for p in paid] + [Line("refund", r.out_refund_no, r.amount) for r in refunded]


def _paid(payment: Payment) -> Line:
    return Line("payment", payment.out_trade_no, payment.amount, payment.gateway_reference)


def reconcile(gateway: str, day: date, raw: bytes) -> tuple[list[Mismatch], int]:
    """Every mismatch between the statement and our books, and how many lines were compared."""
    theirs = {(line.kind, line.key): line for line in statement_lines(gateway, raw)}
    ours = {(line.kind, line.key): line for line in ledger_lines(gateway, day)}
    problems = []
    for kind, key in sorted(theirs.keys() | ours.keys()):
        stated, booked = theirs.get((kind, key)), ours.get((kind, key))
        if booked is None:
            problems.append(Mismatch("missing", kind, key, stated.amount if stated else None, None))
        elif stated is None:
            problems.append(Mismatch("extra", kind, key, None, booked.amount))
        elif stated.amount != booked.amount:
            problems.append(Mismatch("amount_differs", kind, key, stated.amount, booked.amount))
        elif stated.reference and booked.reference and stated.reference != booked.reference:
            problems.append(
                Mismatch(
                    "reference_differs", kind, key, stated.amount, booked.amount, stated.reference, booked.reference
                )
            )
    return problems, len(theirs.keys() | ours.keys())
