"""A paid order that finds no stock (issue 17.2), raced on a real PostgreSQL: two buyers, one card
key. Buyer A checks out through 易支付 (the key reserved for 15 minutes) and does not pay in time;
buyer B buys the key from the wallet while A's payment notification arrives after the expiry. A's
money goes back by its original route at once (the simulator receives the refund request), A is
told, B has the key, and the books balance: never "someone else took it" with the money kept."""

from urllib.parse import urlencode

import pytest
from django.test import Client

from kameng.aftersales.models import Notification
from kameng.catalog.models import StockItem
from kameng.clock import services as clock
from kameng.ledger import services as ledger
from kameng.orders.models import Order
from kameng.timers.services import sweep
from kameng.wallet.models import Payment, PaymentRefund

pytestmark = pytest.mark.postgres


def notification(path: str, body: bytes):
    def call():
        res = Client(raise_request_exception=False).post(
            path, data=body, content_type="application/x-www-form-urlencoded"
        )
        return res.status_code, res.content

    return call


def timers_fire():
    def call():
        return sweep(clock.now())

    return call


@pytest.fixture
def last_key_and_late_payer(api, merchant, make_user, make_listing, fund, epay):
    listing = make_listing(merchant, title="最后一张点卡", price=3000, stock=["LAST-KEY-9"])
    slow, quick = make_user("buyer"), make_user("buyer")
    fund(quick, 3000)
    order = api.post("/orders", {"listing": listing["id"], "pay_with": "epay"}, token=slow.token).data
    assert order["status"] == "awaiting_payment"
    body = urlencode(epay.pay(order["payment"]["pay_url"])).encode()  # paid at the aggregator…
    clock.advance(16 * 60)  # …but its notification comes after the 15 minutes (no timer run yet)
    return listing, slow, quick, order, body


def assert_refunded_and_books_hold(order, slow, epay):
    payment = Payment.objects.get(out_trade_no=order["payment"]["out_trade_no"])
    refund = PaymentRefund.objects.get(payment=payment)
    assert refund.amount == 3000 and refund.status == "succeeded"
    assert [c["out_trade_no"] for c in epay.refund_calls] == [payment.out_trade_no]  # reached the gateway, once
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    assert ledger.balance(ledger.wallet_code(slow.pk)) == 0  # back where it came from, not kept anywhere
    assert ledger.balance(ledger.gateway_code("epay")) == 0
    told = Notification.objects.filter(user=slow, kind="payment_refunded").values_list("text", flat=True)
    assert len(told) == 1 and order["number"] in told[0] and refund.out_refund_no in told[0]
    result = ledger.check()
    assert result.ok, result.problems


def test_the_expiry_timer_ran_first_then_the_wallet_buyer_and_the_late_notification_race(
    race, last_key_and_late_payer, epay
):
    listing, slow, quick, order, body = last_key_and_late_payer
    sweep(clock.now())  # A's checkout is cancelled, the key back on sale
    results = race(
        [
            race.post("/orders", quick.token, {"listing": listing["id"]}),
            notification("/api/v1/payments/notify/epay", body),
        ]
    )
    (status, bought), (notified, answer) = results
    assert status == 201 and bought["delivery"]["items"] == ["LAST-KEY-9"], bought
    assert (notified, answer) == (200, b"success")
    assert StockItem.objects.get(listing_id=int(listing["id"])).order_id == int(bought["id"])
    assert_refunded_and_books_hold(order, slow, epay)


def test_the_timer_the_wallet_buyer_and_the_late_notification_all_at_once(race, last_key_and_late_payer, epay):
    listing, slow, quick, order, body = last_key_and_late_payer
    results = race(
        [
            race.post("/orders", quick.token, {"listing": listing["id"]}),
            notification("/api/v1/payments/notify/epay", body),
            timers_fire(),
        ]
    )
    (status, bought), (notified, answer), _ = results
    assert (notified, answer) == (200, b"success")
    sweep(clock.now())  # whatever the interleaving, the expiry is processed by now
    item = StockItem.objects.get(listing_id=int(listing["id"]))
    if status == 201:  # the timer freed the key before B asked for it
        assert bought["delivery"]["items"] == ["LAST-KEY-9"] and item.order_id == int(bought["id"])
    else:  # B came while the key was still reserved for A: refused cleanly, nothing charged
        assert status == 409 and bought["error"]["code"] == "out_of_stock"
        assert ledger.balance(ledger.wallet_code(quick.pk)) == 3000
        assert item.order_id is None  # back on sale, never delivered to the order that was not paid in time
    assert_refunded_and_books_hold(order, slow, epay)
