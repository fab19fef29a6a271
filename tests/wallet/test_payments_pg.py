"""Exactly once under concurrency (PostgreSQL): eight deliveries at the same moment of one gateway
notification — 易支付, Alipay and WeChat Pay, each through its own simulator — credit the wallet once;
and a refused payment racing its own replays is refunded once."""

from urllib.parse import urlencode

from django.db.models import Count
from django.test import Client

from kameng.ledger import services as ledger
from kameng.ledger.models import JournalEntry
from kameng.wallet import payments
from kameng.wallet.gateways import get_gateway
from kameng.wallet.models import Payment, PaymentNotification, PaymentRefund

PARALLEL = 8


def delivery(path, body: bytes, content_type: str, headers=None):
    def call():
        res = Client(raise_request_exception=False).post(
            path, data=body, content_type=content_type, headers=headers or {}
        )
        return res.status_code, res.content

    return call


def assert_booked_once(payment, buyer, results, ok_body):
    assert all(status == 200 for status, _ in results), results
    assert all(ok_body(body) for _, body in results), results
    assert JournalEntry.objects.filter(idempotency_key=f"payment:{payment.pk}").count() == 1
    assert ledger.balance(ledger.wallet_code(buyer.pk)) == payment.amount
    assert PaymentNotification.objects.filter(valid=True).count() == PARALLEL  # every delivery is on record
    assert not JournalEntry.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).exists()
    result = ledger.check()
    assert result.ok, result.problems


def test_eight_concurrent_epay_notifications_credit_once(race, api, buyer, epay):
    topup = api.post("/wallet/topups", {"amount": 4321, "gateway": "epay"}, token=buyer.token).data
    body = urlencode(epay.pay(topup["pay_url"])).encode()
    form = "application/x-www-form-urlencoded"
    results = race([delivery("/api/v1/payments/notify/epay", body, form) for _ in range(PARALLEL)])
    assert_booked_once(Payment.objects.get(pk=topup["id"]), buyer, results, lambda b: b == b"success")


def test_eight_concurrent_alipay_notifications_credit_once(race, api, buyer, alipay):
    topup = api.post("/wallet/topups", {"amount": 9900, "gateway": "alipay"}, token=buyer.token).data
    body = urlencode(alipay.pay(topup["pay_url"])).encode()
    form = "application/x-www-form-urlencoded; charset=utf-8"
    results = race([delivery("/api/v1/payments/notify/alipay", body, form) for _ in range(PARALLEL)])
    assert_booked_once(Payment.objects.get(pk=topup["id"]), buyer, results, lambda b: b == b"success")


def test_eight_concurrent_wechat_notifications_credit_once(race, api, buyer, wechatpay):
    topup = api.post("/wallet/topups", {"amount": 1200, "gateway": "wechatpay"}, token=buyer.token).data
    payment = Payment.objects.get(pk=topup["id"])
    get_gateway("wechatpay").native_code(payment)
    headers, body = wechatpay.pay(payment.out_trade_no)
    results = race(
        [delivery("/api/v1/payments/notify/wechatpay", body, "application/json", headers) for _ in range(PARALLEL)]
    )
    assert_booked_once(payment, buyer, results, lambda b: b'"SUCCESS"' in b)


@payments.on_payment("test_pg_gift")
def _refuse(payment):
    raise payments.PaymentNotHonoured("withdrawn")


def test_a_refused_payment_replayed_eight_times_at_once_is_refunded_once(race, buyer, epay):
    payment = payments.start_payment(
        user=buyer, amount=5000, gateway="epay", purpose="test_pg_gift", ref="1", subject="x"
    )
    body = urlencode(epay.pay(payment.pay_url)).encode()
    form = "application/x-www-form-urlencoded"
    results = race([delivery("/api/v1/payments/notify/epay", body, form) for _ in range(PARALLEL)])
    assert all(status == 200 for status, _ in results), results
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == "succeeded" and len(epay.refund_calls) == 1  # the job ran once, after commit
    assert ledger.balance(ledger.wallet_code(buyer.pk)) == 0
    assert ledger.balance(ledger.gateway_code("epay")) == 0
    result = ledger.check()
    assert result.ok, result.problems
