"""The gateway-neutral payment interface, end to end through the 易支付 simulator (a real HTTP server):
top-ups through a gateway, notifications booked exactly once, handlers that refuse the money,
late payments, refunds by the original route retried until the gateway confirms."""

from datetime import timedelta

import pytest

from kameng.clock.services import now as clock_now
from kameng.ledger import services as ledger
from kameng.wallet import payments
from kameng.wallet.models import Payment, PaymentRefund

GIFT = "test_gift"
REFUSE = {"on": False, "seen": []}


@payments.on_payment(GIFT)
def _gift_paid(payment):
    REFUSE["seen"].append(payment.pk)
    if REFUSE["on"]:
        raise payments.PaymentNotHonoured("gift withdrawn")


@pytest.fixture(autouse=True)
def _reset():
    REFUSE.update(on=False, seen=[])


def balance(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def books_hold():
    result = ledger.check()
    assert result.ok, result.problems


def test_epay_topup_pays_into_the_wallet_exactly_once(api, buyer, epay, epay_notify):
    res = api.post("/wallet/topups", {"amount": 2350, "gateway": "epay"}, token=buyer.token)
    assert res.status_code == 201, res.data
    topup = res.data
    assert topup["gateway"] == "epay" and topup["status"] == "pending" and topup["amount"] == 2350
    assert topup["pay_url"].startswith(f"{epay.url}/submit.php?")
    notification = epay.pay(topup["pay_url"])
    assert notification["money"] == "23.50" and notification["out_trade_no"] == topup["out_trade_no"]

    first = epay_notify(notification)
    assert first.status_code == 200 and first.content == b"success"
    for _ in range(3):  # the aggregator repeats its notification until it reads "success"
        again = epay_notify(notification)
        assert again.status_code == 200 and again.content == b"success"
    assert balance(buyer) == 2350
    assert api.get(f"/wallet/topups/{topup['id']}", token=buyer.token).data["status"] == "succeeded"
    assert ledger.balance(ledger.gateway_code("epay")) == -2350  # the clearing account holds what came in
    books_hold()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda sim, n: {**n, "sign": "0" * 32}, id="forged-signature"),
        pytest.param(lambda sim, n: {**n, "money": "0.01"}, id="money-changed-after-signing"),
        pytest.param(lambda sim, n: {k: v for k, v in n.items() if k != "sign"}, id="unsigned"),
    ],
)
def test_a_notification_that_is_not_the_aggregators_credits_nothing(api, buyer, epay, epay_notify, tamper):
    topup = api.post("/wallet/topups", {"amount": 1000, "gateway": "epay"}, token=buyer.token).data
    notification = tamper(epay, epay.pay(topup["pay_url"]))
    res = epay_notify(notification)
    assert res.status_code == 400 and res.content == b"fail"
    assert balance(buyer) == 0
    assert Payment.objects.get(pk=topup["id"]).status == "pending"
    books_hold()


def test_wrong_amount_and_unknown_pid_are_refused_even_when_signed(api, buyer, epay, epay_notify):
    topup = api.post("/wallet/topups", {"amount": 1000, "gateway": "epay"}, token=buyer.token).data
    # Signed with the right key, but for less than is due: the aggregator's word, not the amount due.
    short = epay.pay(topup["pay_url"], money="9.99")
    assert epay_notify(short).status_code == 400
    other_merchant = epay.pay(topup["pay_url"], pid="2002")
    res = epay_notify(other_merchant)
    assert res.status_code == 400 and res.content == b"fail"
    assert balance(buyer) == 0
    assert epay_notify(epay.pay(topup["pay_url"])).content == b"success"
    assert balance(buyer) == 1000
    books_hold()


def test_a_gateway_is_off_until_configured(api, buyer, epay_notify, settings):
    settings.PAYMENT_GATEWAYS = {"epay": None, "alipay": None, "wechatpay": None}
    res = api.post("/wallet/topups", {"amount": 1000, "gateway": "epay"}, token=buyer.token)
    assert res.status_code == 400 and res.data["error"]["code"] == "gateway_unavailable"
    assert res.data["error"]["param"] == "gateway"
    unknown = api.post("/wallet/topups", {"amount": 1000, "gateway": "paypal"}, token=buyer.token)
    assert unknown.status_code == 400 and unknown.data["error"]["code"] == "gateway_unavailable"
    assert epay_notify({"pid": "1", "out_trade_no": "x", "money": "1.00", "sign": "x"}).status_code == 404
    assert api.client.get("/api/v1/payments/notify/epay?pid=1").status_code == 404


def start_gift(buyer, amount=5000, **kw):
    return payments.start_payment(
        user=buyer, amount=amount, gateway="epay", purpose=GIFT, ref="g1", subject="礼物", **kw
    )


def test_money_a_handler_cannot_honour_goes_back_by_the_original_route(buyer, epay, epay_notify, committing):
    REFUSE["on"] = True
    payment = start_gift(buyer)
    with committing():
        assert epay_notify(epay.pay(payment.pay_url)).content == b"success"
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == "succeeded" and refund.amount == 5000 and refund.key == f"unhonoured:{payment.pk}"
    assert [c["out_trade_no"] for c in epay.refund_calls] == [payment.out_trade_no]
    assert epay.refund_calls[0]["money"] == "50.00"
    assert balance(buyer) == 0  # in and straight back out
    assert ledger.balance(ledger.gateway_code("epay")) == 0
    # The aggregator repeats its notification: nothing is booked or refunded again.
    with committing():
        assert epay_notify(epay.pay(payment.pay_url)).content == b"success"
    assert PaymentRefund.objects.count() == 1 and len(epay.refund_calls) == 1
    books_hold()


def test_a_payment_after_its_expiry_is_refunded_not_honoured(api, buyer, epay, epay_notify, committing, advance):
    payment = start_gift(buyer, expires_at=clock_now() + timedelta(minutes=15))
    advance(16 * 60)
    with committing():
        assert epay_notify(epay.pay(payment.pay_url)).content == b"success"
    assert REFUSE["seen"] == []  # the handler never saw it
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == "succeeded" and refund.reason == "arrived after expiry"
    assert balance(buyer) == 0
    books_hold()


def test_a_refund_the_gateway_refused_is_retried_by_the_timer_until_it_confirms(
    buyer, epay, epay_notify, committing, advance
):
    REFUSE["on"] = True
    epay.fail_next["refund"] = 2
    payment = start_gift(buyer, amount=777)
    with committing():
        epay_notify(epay.pay(payment.pay_url))
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == "pending" and refund.attempts == 1 and "系统繁忙" in refund.last_error
    assert balance(buyer) == 0  # booked back to the gateway at once; only the gateway call waits
    with committing():
        advance(3 * 60)
    refund.refresh_from_db()
    assert refund.status == "pending" and refund.attempts == 2
    with committing():
        advance(10 * 60)
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.attempts == 3
    assert len(epay.refund_calls) == 1  # the two refused calls did not count at the gateway
    with committing():
        advance(3 * 3600)  # confirmed: the timer is gone, nothing is sent again
    assert len(epay.refund_calls) == 1
    books_hold()


def test_an_aggregator_without_refunds_leaves_the_money_in_the_wallet_and_says_so(buyer, epay, epay_notify, committing):
    epay.refunds = False
    REFUSE["on"] = True
    payment = start_gift(buyer, amount=3000)
    with committing():
        epay_notify(epay.pay(payment.pay_url))
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.status == "wallet" and refund.done_at is not None
    assert balance(buyer) == 3000  # credited to the buyer's wallet instead, and recorded
    assert ledger.balance(ledger.gateway_code("epay")) == -3000
    payment.refresh_from_db()
    assert payment.refunded_amount == 0
    books_hold()


def test_refund_payment_is_idempotent_by_key_and_bounded_by_the_payment(buyer, epay, epay_notify, committing):
    from django.db import transaction

    from kameng.errors import DomainError

    payment = start_gift(buyer, amount=1000)
    epay_notify(epay.pay(payment.pay_url))
    with committing(), transaction.atomic():
        first = payments.refund_payment(payment, 400, key="refund:case:1", now=clock_now())
        again = payments.refund_payment(payment, 400, key="refund:case:1", now=clock_now())
    assert first.pk == again.pk and balance(buyer) == 600
    with pytest.raises(DomainError) as exc, transaction.atomic():
        payments.refund_payment(payment, 601, key="refund:case:2", now=clock_now())
    assert exc.value.error.code == "amount_exceeds_refundable"
    assert len(epay.refund_calls) == 1 and epay.refund_calls[0]["money"] == "4.00"
    payment.refresh_from_db()
    assert payment.refunded_amount == 400
    books_hold()


def test_recheck_books_a_payment_whose_notification_never_came(buyer, admin, epay):
    payment = start_gift(buyer, amount=1200)
    assert payments.recheck_payment(payment, by=admin).paid is False
    epay.pay(payment.pay_url)  # paid at the aggregator; its notification is lost
    result = payments.recheck_payment(payment, by=admin)
    assert result.paid and result.amount == 1200
    payment.refresh_from_db()
    assert payment.status == "succeeded" and balance(buyer) == 1200
    books_hold()


def test_an_admin_rechecks_a_pending_payment_through_the_api_and_it_is_audited(api, buyer, admin, epay):
    from kameng.security.models import AuditRecord

    topup = api.post("/wallet/topups", {"amount": 990, "gateway": "epay"}, token=buyer.token).data
    path = f"/payments/{topup['out_trade_no']}/recheck"
    assert api.post(path, token=buyer.token).status_code == 403
    first = api.post(path, token=admin.token)
    assert first.status_code == 200 and first.data["status"] == "pending"
    assert first.data["gateway_says"] == {"paid": False, "amount": None, "reference": ""}
    epay.pay(topup["pay_url"])
    second = api.post(path, token=admin.token)
    assert second.status_code == 200 and second.data["status"] == "succeeded"
    assert second.data["gateway_says"]["paid"] is True and second.data["gateway_says"]["amount"] == 990
    assert balance(buyer) == 990
    again = api.post(path, token=admin.token)
    assert again.status_code == 409 and again.data["error"]["code"] == "invalid_state"
    records = AuditRecord.objects.filter(type="payment.recheck").order_by("pk")
    assert [r.data.get("booked") for r in records] == [False, True]
    assert all(r.actor_id == admin.pk and r.target == f"payment:{topup['out_trade_no']}" for r in records)
    assert api.post("/payments/KM-NOPE/recheck", token=admin.token).status_code == 404
    books_hold()
