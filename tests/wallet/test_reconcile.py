"""对账: `kameng reconcile --gateway G --date D --statement FILE` reads the daily statement as Alipay
(业务明细, GBK) and WeChat Pay (交易账单, backtick-prefixed UTF-8) export it, and lists every mismatch
with the books (missing, extra, amount differs, the gateway's trade number differs), exit 1 on any."""

from datetime import timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

from django.db import transaction

from kameng.cli import main
from kameng.clock.services import now as clock_now
from kameng.wallet import payments
from kameng.wallet.models import Payment

BEIJING = timezone(timedelta(hours=8))
ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
    "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
    "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)
WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)


def alipay_statement(rows) -> bytes:
    """Alipay's 业务明细 CSV: GBK, #-lines around the table, a tab after each value."""
    lines = ["#支付宝业务明细查询", "#账号：[20885012345678900156]", "#-----业务明细列表-----", ALIPAY_HEADER]
    for trade_no, out_trade_no, kind, yuan_amount, request_no in rows:
        cells = [trade_no, out_trade_no, kind, "钱包充值", "2026-12-01 16:00:00", "2026-12-01 16:00:05"]
        cells += ["", "", "", "", "buyer@example.com", yuan_amount, yuan_amount] + ["0.00"] * 5
        cells += ["", "0.00", "0.00", request_no, "0.00", "0.00", ""]
        lines.append(",".join(f"{c}\t" for c in cells))
    lines += ["#-----业务明细列表结束-----", f"#交易合计：{len(rows)}笔", "#导出时间：[2026年12月02日 09:00:00]"]
    return "\r\n".join(lines).encode("gbk")


def wechat_statement(rows) -> bytes:
    """WeChat Pay's 交易账单 (ALL): every value prefixed with a backtick, then a totals block."""
    lines = [WECHAT_HEADER]
    for transaction_id, out_trade_no, state, total, refund_no, refund in rows:
        cells = ["2026-12-01 16:00:05", "wx8888888888888888", "1900000109", "0", "", transaction_id, out_trade_no]
        cells += ["oUpF8u", "NATIVE", state, "OTHERS", "CNY", total, "0.00", "", refund_no, refund, "0.00", ""]
        cells += ["", "钱包充值", "", "0.00", "0.60%", total, refund, ""]
        lines.append(",".join(f"`{c}" for c in cells))
    lines += [
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
        "`2,`1.00,`0.00,`0.00,`0.00,`1.00,`0.00",
    ]
    return "\n".join(lines).encode()


def paid_topup(api, user, amount, gateway, pay):
    res = api.post("/wallet/topups", {"amount": amount, "gateway": gateway}, token=user.token).data
    pay(res)
    payment = Payment.objects.get(pk=res["id"])
    assert payment.status == "succeeded"
    return payment


def run(tmp_path, capsys, gateway, day, statement: bytes):
    path = tmp_path / "statement.csv"
    path.write_bytes(statement)
    code = main(["reconcile", "--gateway", gateway, "--date", day.isoformat(), "--statement", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_alipay_statement_mismatches_are_listed_and_exit_1(
    api, buyer, alipay, alipay_notify, committing, tmp_path, capsys
):
    def pay(topup):
        alipay_notify(alipay.pay(topup["pay_url"]))

    a = paid_topup(api, buyer, 12345, "alipay", pay)
    b = paid_topup(api, buyer, 500, "alipay", pay)
    c = paid_topup(api, buyer, 700, "alipay", pay)
    with committing(), transaction.atomic():
        refund = payments.refund_payment(a, 345, key="test:recon", now=clock_now())
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    day = a.succeeded_at.astimezone(BEIJING).date()

    exact = alipay_statement(
        [
            (a.gateway_reference, a.out_trade_no, "交易", "123.45", ""),
            (b.gateway_reference, b.out_trade_no, "交易", "5.00", ""),
            (c.gateway_reference, c.out_trade_no, "交易", "7.00", ""),
            (a.gateway_reference, a.out_trade_no, "退款", "-3.45", refund.out_refund_no),
        ]
    )
    code, out = run(tmp_path, capsys, "alipay", day, exact)
    assert code == 0 and "4 lines, all match" in out

    wrong = alipay_statement(
        [
            (a.gateway_reference, a.out_trade_no, "交易", "123.45", ""),
            (b.gateway_reference, b.out_trade_no, "交易", "5.01", ""),  # amount differs
            ("2026120122009999", "KM-NOT-OURS", "交易", "9.99", ""),  # the gateway has it, we do not
            (a.gateway_reference, a.out_trade_no, "退款", "-3.45", refund.out_refund_no),
        ]  # c is ours only
    )
    code, out = run(tmp_path, capsys, "alipay", day, wrong)
    assert code == 1
    assert f"amount_differs\tpayment\t{b.out_trade_no}\tstatement=5.01\tledger=5.00" in out
    assert "missing\tpayment\tKM-NOT-OURS\tstatement=9.99\tledger=-" in out
    assert f"extra\tpayment\t{c.out_trade_no}\tstatement=-\tledger=7.00" in out
    assert "3 mismatches" in out
    code, out = run(tmp_path, capsys, "alipay", day + timedelta(days=1), exact)  # another day's books
    assert code == 1 and "4 mismatches" in out

    # Alipay booked c on another transaction than the one whose notification credited it: the amounts
    # agree, the trade numbers do not.
    other = alipay_statement(
        [
            (a.gateway_reference, a.out_trade_no, "交易", "123.45", ""),
            (b.gateway_reference, b.out_trade_no, "交易", "5.00", ""),
            ("2026120122007777", c.out_trade_no, "交易", "7.00", ""),
            (a.gateway_reference, a.out_trade_no, "退款", "-3.45", refund.out_refund_no),
        ]
    )
    code, out = run(tmp_path, capsys, "alipay", day, other)
    assert code == 1 and "1 mismatches" in out
    assert (
        f"reference_differs\tpayment\t{c.out_trade_no}\tstatement=7.00\tledger=7.00"
        f"\tstatement_ref=2026120122007777\tledger_ref={c.gateway_reference}"
    ) in out


def test_wechat_statement_is_read_as_wechat_exports_it(api, buyer, wechatpay, wechatpay_notify, tmp_path, capsys):
    from kameng.wallet.gateways import get_gateway

    def pay(topup):
        payment = Payment.objects.get(pk=topup["id"])
        get_gateway("wechatpay").native_code(payment)
        wechatpay_notify(*wechatpay.pay(payment.out_trade_no))

    p = paid_topup(api, buyer, 100, "wechatpay", pay)
    assert p.gateway_reference  # the notification's transaction_id
    day = p.succeeded_at.astimezone(BEIJING).date()
    paid = (p.gateway_reference, p.out_trade_no, "SUCCESS", "1.00", "", "0.00")
    code, out = run(tmp_path, capsys, "wechatpay", day, wechat_statement([paid]))
    assert code == 0 and "1 lines, all match" in out
    code, out = run(tmp_path, capsys, "wechatpay", day, wechat_statement([(*paid[:3], "1.10", "", "0.00")]))
    assert code == 1 and "amount_differs" in out
    code, out = run(tmp_path, capsys, "wechatpay", day, wechat_statement([("4200000009", *paid[1:])]))
    assert code == 1 and f"reference_differs\tpayment\t{p.out_trade_no}" in out and "statement_ref=4200000009" in out


def test_a_file_that_is_not_a_statement_is_an_error(tmp_path, capsys, db):
    code, out = run(tmp_path, capsys, "alipay", clock_now().date(), b"hello,world\n")
    assert code == 2 and "no table starting with 支付宝交易号" in out


def test_epay_order_export_is_reconciled_bom_and_all(api, buyer, epay, epay_notify, committing, tmp_path, capsys):
    """易支付: the aggregator's order export (README's accepted format: 商户订单号, 订单号, 金额, 状态, 时间,
    退款金额), written by the simulator from its own orders, UTF-8 with a BOM."""

    def pay(topup):
        assert epay_notify(epay.pay(topup["pay_url"])).content == b"success"

    a = paid_topup(api, buyer, 2000, "epay", pay)
    b = paid_topup(api, buyer, 350, "epay", pay)
    with committing(), transaction.atomic():
        payments.refund_payment(a, 500, key="test:epay-recon", now=clock_now())
    assert a.refunds.get().status == "succeeded"
    unpaid = api.post("/wallet/topups", {"amount": 100, "gateway": "epay"}, token=buyer.token).data
    epay._submit(dict(parse_qsl(urlsplit(unpaid["pay_url"]).query)))  # the buyer opened the cashier, never paid
    day = a.succeeded_at.astimezone(BEIJING).date()

    statement = epay.statement(day=day.isoformat())
    assert statement.startswith("\ufeff".encode())
    code, out = run(tmp_path, capsys, "epay", day, statement)
    assert code == 0 and "3 lines, all match" in out, out  # a, its refund, b; the unpaid order is skipped

    wrong = epay.statement(
        overrides={b.out_trade_no: {"金额": "3.60"}, a.out_trade_no: {"退款金额": "6.00"}},
        extra_rows=[["2026120999999999", "KM-NOT-OURS", "卡密", "9.99", "", "wxpay", "1", f"{day} 17:00:00"]],
        bom=False,
    )
    code, out = run(tmp_path, capsys, "epay", day, wrong)
    assert code == 1
    assert f"amount_differs\tpayment\t{b.out_trade_no}\tstatement=3.60\tledger=3.50" in out
    assert f"amount_differs\trefund\t{a.out_trade_no}\tstatement=6.00\tledger=5.00" in out
    assert "missing\tpayment\tKM-NOT-OURS\tstatement=9.99\tledger=-" in out
    assert "3 mismatches" in out
    # The aggregator's 订单号 for b is not the trade_no its notification gave us.
    code, out = run(tmp_path, capsys, "epay", day, epay.statement(overrides={b.out_trade_no: {"订单号": "T-OTHER"}}))
    assert code == 1 and "1 mismatches" in out
    assert f"reference_differs\tpayment\t{b.out_trade_no}\tstatement=3.50\tledger=3.50" in out
    assert f"statement_ref=T-OTHER\tledger_ref={b.gateway_reference}" in out
    # An export that leaves b out: b is ours only. GBK (an aggregator's Excel export) reads as well.
    gbk = epay.statement(bom=False).decode().replace(f"{b.out_trade_no}", "KM-GONE").encode("gbk")
    code, out = run(tmp_path, capsys, "epay", day, gbk)
    assert code == 1 and f"extra\tpayment\t{b.out_trade_no}\tstatement=-\tledger=3.50" in out


def test_an_epay_file_without_the_columns_or_with_an_unknown_state_is_an_error(tmp_path, capsys, db):
    code, out = run(tmp_path, capsys, "epay", clock_now().date(), "商户订单号,金额\nKM1,1.00\n".encode())
    assert code == 2 and "no column 订单号/系统订单号/trade_no" in out
    odd = "商户订单号,订单号,金额,状态,时间\nKM1,T1,1.00,处理中,2026-12-01 16:00:00\n".encode()
    code, out = run(tmp_path, capsys, "epay", clock_now().date(), odd)
    assert code == 2 and "line 2: unknown 状态 '处理中'" in out
