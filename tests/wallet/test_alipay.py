"""支付宝 through the official SDK against a local Alipay simulator (RSA2 keys made in the test): the
pay URL signed locally, the 异步通知 verified with Alipay's public key, trade.query for 补单,
trade.refund for 原路退回, and 转账 payouts — the SDK's own signing and verification run each time."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from kameng.ledger import services as ledger
from kameng.wallet import payments
from kameng.wallet.models import Payment, PaymentRefund, Withdrawal


def balance(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def books_hold():
    result = ledger.check()
    assert result.ok, result.problems


def topup(api, user, amount):
    res = api.post("/wallet/topups", {"amount": amount, "gateway": "alipay"}, token=user.token)
    assert res.status_code == 201, res.data
    return res.data


def test_an_alipay_topup_is_signed_verified_and_credited_once(api, buyer, alipay, alipay_notify):
    t = topup(api, buyer, 12345)
    url = urlsplit(t["pay_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{alipay.url}/gateway.do"
    params = dict(parse_qsl(url.query))
    assert params["method"] == "alipay.trade.page.pay" and params["sign_type"] == "RSA2"
    assert params["notify_url"].endswith("/api/v1/payments/notify/alipay")
    notification = alipay.pay(t["pay_url"])
    assert notification["total_amount"] == "123.45"
    for _ in range(3):
        res = alipay_notify(notification)
        assert res.status_code == 200 and res.content == b"success"
    assert balance(buyer) == 12345
    assert api.get(f"/wallet/topups/{t['id']}", token=buyer.token).data["status"] == "succeeded"
    books_hold()


def test_a_pkcs8_app_key_from_alipays_key_tool_works_too(api, buyer, alipay, alipay_notify, settings, tmp_path):
    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "alipay": alipay.write_keys(tmp_path, pkcs8=True)}
    t = topup(api, buyer, 100)
    assert alipay_notify(alipay.pay(t["pay_url"])).content == b"success"
    assert balance(buyer) == 100


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda sim, url: {**sim.pay(url), "total_amount": "0.01"}, id="amount-changed-after-signing"),
        pytest.param(lambda sim, url: sim.pay(url, sign_with=sim.app_key), id="signed-by-another-key"),
        pytest.param(lambda sim, url: {**sim.pay(url), "sign": "bm90IGEgc2lnbmF0dXJl"}, id="garbage-signature"),
        pytest.param(lambda sim, url: {**sim.pay(url), "sign_type": "RSA"}, id="not-rsa2"),
    ],
)
def test_a_forged_alipay_notification_credits_nothing(api, buyer, alipay, alipay_notify, forge):
    t = topup(api, buyer, 5000)
    res = alipay_notify(forge(alipay, t["pay_url"]))
    assert res.status_code == 400 and res.content == b"fail"
    assert balance(buyer) == 0 and Payment.objects.get(pk=t["id"]).status == "pending"
    books_hold()


def test_wrong_app_id_or_wrong_amount_is_refused_though_alipay_signed_it(api, buyer, alipay, alipay_notify):
    t = topup(api, buyer, 5000)
    assert alipay_notify(alipay.pay(t["pay_url"], app_id="2021000000009999")).status_code == 400
    assert alipay_notify(alipay.pay(t["pay_url"], total_amount="49.99")).status_code == 400
    # WAIT_BUYER_PAY is a signed status report, not money: answered, nothing credited.
    assert alipay_notify(alipay.pay(t["pay_url"], status="WAIT_BUYER_PAY")).content == b"success"
    assert balance(buyer) == 0
    assert alipay_notify(alipay.pay(t["pay_url"])).content == b"success"
    assert balance(buyer) == 5000
    books_hold()


def test_recheck_asks_trade_query_and_books_a_lost_notification(api, buyer, admin, alipay):
    t = topup(api, buyer, 880)
    payment = Payment.objects.get(pk=t["id"])
    assert payments.recheck_payment(payment, by=admin).paid is False  # ACQ.TRADE_NOT_EXIST
    alipay.pay(t["pay_url"])  # paid; the notification never reaches us
    result = payments.recheck_payment(payment, by=admin)
    assert result.paid and result.amount == 880 and result.reference.startswith("2026120122001")
    assert balance(buyer) == 880
    books_hold()


def test_refund_goes_back_through_trade_refund_and_a_gateway_error_is_retried(
    api, buyer, alipay, alipay_notify, committing, advance
):
    from django.db import transaction

    from kameng.clock.services import now as clock_now

    t = topup(api, buyer, 3000)
    alipay_notify(alipay.pay(t["pay_url"]))
    payment = Payment.objects.get(pk=t["id"])
    alipay.fail_next["alipay.trade.refund"] = 1  # 20000 Service Currently Unavailable, once
    with committing(), transaction.atomic():
        payments.refund_payment(payment, 1000, key="test:alipay-refund", now=clock_now(), reason="测试退款")
    refund = PaymentRefund.objects.get()
    assert refund.status == "pending" and "isp.unknow-error" in refund.last_error
    with committing():
        advance(3 * 60)
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert alipay.refunds == {refund.out_refund_no: {"refund_amount": "10.00", "out_trade_no": payment.out_trade_no}}
    assert balance(buyer) == 2000
    books_hold()


def test_a_merchant_withdraws_to_alipay_and_a_failed_transfer_comes_back(api, merchant, alipay, committing):
    from django.db import transaction

    from kameng.ledger.models import EntryKind

    with transaction.atomic():
        ledger.transfer(
            "test:seed", EntryKind.TOPUP, ledger.gateway_code("sandbox"), ledger.wallet_code(merchant.pk), 50000
        )

    def withdraw(**body):
        with committing():
            res = api.post("/wallet/withdrawals", {"gateway": "alipay", **body}, token=merchant.token)
        assert res.status_code == 201, res.data
        return res.data

    paid = withdraw(amount=20000, account="shop-owner@example.com", account_name="王小明")
    assert api.get(f"/wallet/withdrawals/{paid['id']}", token=merchant.token).data["status"] == "paid"
    assert list(alipay.transfers.values())[0]["amount"] == "200.00"
    assert balance(merchant) == 30000

    failed = withdraw(amount=10000, account="nobody@example.com", account_name="李四")
    got = api.get(f"/wallet/withdrawals/{failed['id']}", token=merchant.token).data
    assert got["status"] == "failed" and got["failure_reason"] == "收款账号不存在"
    assert balance(merchant) == 30000  # the failed payout came back to the wallet
    assert Withdrawal.objects.get(pk=failed["id"]).done_at is not None
    missing = api.post("/wallet/withdrawals", {"amount": 1, "gateway": "alipay"}, token=merchant.token)
    assert missing.status_code == 400 and missing.data["error"]["param"] == "account"
    books_hold()
