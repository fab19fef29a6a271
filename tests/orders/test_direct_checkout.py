"""Direct checkout (api-v1.md v1.1 "Orders and payments"): POST /orders with a gateway answers
`awaiting_payment` with the stock reserved for 15 minutes; the gateway's notification pays the order
into escrow and delivers it exactly as a wallet purchase; unpaid, a timer cancels it and frees the
stock; money arriving after that goes back by its original route; at most 3 unpaid orders a buyer.

Paid through the sandbox gateway (its signed notification) and through the 易支付 simulator, a real
HTTP server on 127.0.0.1 speaking the aggregator's MD5 protocol (tests/gateway_simulators.py)."""

from datetime import datetime, timedelta

import pytest

from kameng.clock import services as clock
from kameng.ledger import services as ledger
from kameng.orders.models import OrderEvent
from kameng.timers import services as timers
from kameng.wallet.models import Payment, PaymentRefund


def wallet(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def stock_left(api, listing) -> int:
    return api.get(f"/listings/{listing['id']}").data["stock_available"]


def events(order) -> list[str]:
    return list(OrderEvent.objects.filter(order_id=order["id"]).order_by("pk").values_list("type", flat=True))


def sandbox_pay(api, order, user):
    """The buyer pays at the sandbox gateway's pay page; it sends its signed notification."""
    return api.client.post(
        order["payment"]["pay_url"], headers={"Accept": "application/json", "Authorization": f"Bearer {user.token}"}
    )


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run the after-commit jobs (a refund's gateway call) as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def card(make_listing, merchant):
    return make_listing(merchant, price=4990, stock=["KEY-A", "KEY-B", "KEY-C"])


def checkout(api, buyer, listing, pay_with="sandbox", **extra):
    return api.post("/orders", {"listing": listing["id"], "pay_with": pay_with, **extra}, token=buyer.token)


def test_a_sandbox_checkout_reserves_the_key_and_the_notification_pays_and_delivers_it(api, buyer, merchant, card):
    res = checkout(api, buyer, card)
    assert res.status_code == 201, res.data
    order = res.data
    assert order["status"] == "awaiting_payment" and order["pay_with"] == "sandbox"
    assert order["delivery"] is None and order["escrow"]["amount"] == 0
    payment = order["payment"]
    assert payment["gateway"] == "sandbox" and payment["out_trade_no"] and payment["status"] == "pending"
    created, expires = datetime.fromisoformat(order["created_at"]), datetime.fromisoformat(payment["expires_at"])
    assert expires - created == timedelta(minutes=15)
    assert stock_left(api, card) == 2  # the key is reserved, not delivered
    assert Payment.objects.get(out_trade_no=payment["out_trade_no"]).amount == 4990
    assert api.get(f"/orders/{order['id']}", token=merchant.token).data["delivery"] is None

    paid = sandbox_pay(api, order, buyer)
    assert paid.status_code == 200, paid.content
    after = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert after["status"] == "delivered" and after["delivery"]["items"] == ["KEY-A"]
    assert (after["escrow"]["status"], after["escrow"]["amount"]) == ("held", 4990)
    assert after["payment"]["status"] == "succeeded"
    assert wallet(buyer) == 0  # the gateway's money went through the wallet into escrow, as a purchase does
    assert stock_left(api, card) == 2
    assert events(order) == ["awaiting_payment", "paid", "delivered"]
    again = sandbox_pay(api, order, buyer)  # a repeated notification pays nothing twice
    assert again.status_code == 200
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["escrow"]["amount"] == 4990
    assert events(order).count("paid") == 1


def test_an_unpaid_checkout_is_cancelled_at_its_deadline_and_the_stock_is_free_again(api, buyer, card, advance):
    order = checkout(api, buyer, card).data
    assert stock_left(api, card) == 2
    advance(14 * 60)
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "awaiting_payment"
    advance(60)
    cancelled = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert cancelled["status"] == "cancelled" and cancelled["escrow"]["status"] == ""
    assert stock_left(api, card) == 3
    assert events(order) == ["awaiting_payment", "cancelled"]
    other = api.post("/orders", {"listing": card["id"]}, token=buyer.token)
    assert other.status_code == 402  # cancelled for good: nothing was paid, nothing is owed


def test_a_payment_after_cancellation_goes_back_by_its_original_route_and_is_recorded(
    api, buyer, card, advance, committing
):
    order = checkout(api, buyer, card).data
    advance(16 * 60)
    with committing():
        paid = sandbox_pay(api, order, buyer)
    assert paid.status_code == 200
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "cancelled"
    refund = PaymentRefund.objects.get(payment__out_trade_no=order["payment"]["out_trade_no"])
    assert refund.amount == 4990 and refund.status == "succeeded"
    assert wallet(buyer) == 0 and stock_left(api, card) == 3
    assert "paid" not in events(order)


def test_a_payment_after_the_deadline_is_refused_even_before_the_timer_ran(api, buyer, card, committing):
    order = checkout(api, buyer, card).data
    clock.advance(15 * 60)  # the deadline passed; the sweeper has not run the payment timer yet
    with committing():
        sandbox_pay(api, order, buyer)
    # Refunded, and cancelled at once: the deadline is checked when the payment arrives.
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "cancelled"
    assert PaymentRefund.objects.filter(payment__out_trade_no=order["payment"]["out_trade_no"]).count() == 1
    assert wallet(buyer) == 0 and "paid" not in events(order) and "cancelled" in events(order)
    clock.advance(60)
    timers.sweep()  # the payment timer then finds nothing to do
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "cancelled"


def test_a_buyer_has_at_most_three_unpaid_orders(api, buyer, make_listing, merchant, fund, advance):
    service = make_listing(merchant, kind="service", price=1000, stock=None)
    for _ in range(3):
        assert checkout(api, buyer, service).status_code == 201
    fourth = checkout(api, buyer, service)
    assert fourth.status_code == 409 and fourth.data["error"]["code"] == "too_many_unpaid_orders"
    fund(buyer, 1000)
    assert api.post("/orders", {"listing": service["id"]}, token=buyer.token).status_code == 201  # the wallet still
    advance(15 * 60)
    assert checkout(api, buyer, service).status_code == 201  # the three expired


def test_checkout_refusals_leave_nothing_behind(api, buyer, make_listing, merchant, card):
    bad = checkout(api, buyer, card, pay_with="bitcoin")
    assert bad.status_code == 400 and bad.data["error"]["param"] == "pay_with"
    off = checkout(api, buyer, card, pay_with="epay")  # not configured here
    assert off.status_code == 400 and off.data["error"]["code"] == "gateway_unavailable"
    empty = make_listing(merchant, stock=[])
    sold_out = checkout(api, buyer, empty)
    assert sold_out.status_code == 409 and sold_out.data["error"]["code"] == "out_of_stock"
    assert api.get("/orders", token=buyer.token).data["data"] == []
    assert Payment.objects.filter(purpose="order").count() == 0
    assert stock_left(api, card) == 3
    assert checkout(api, merchant, card).status_code == 403


def test_the_last_key_reserved_by_a_checkout_is_not_sold_twice(api, buyer, make_user, make_listing, merchant, fund):
    last = make_listing(merchant, price=100, stock=["ONLY-ONE"])
    assert checkout(api, buyer, last).status_code == 201
    other = make_user("buyer")
    fund(other, 100)
    taken = api.post("/orders", {"listing": last["id"]}, token=other.token)
    assert taken.status_code == 409 and taken.data["error"]["code"] == "out_of_stock"
    assert wallet(other) == 100


def test_a_staged_checkout_pays_the_deposit_through_the_gateway(api, buyer, merchant, make_listing):
    staged = make_listing(merchant, category="game_boosting", kind="service", price=10000, deposit_percent=30)
    order = checkout(api, buyer, staged, accept_special_terms=True).data
    assert Payment.objects.get(out_trade_no=order["payment"]["out_trade_no"]).amount == 3000
    sandbox_pay(api, order, buyer)
    paid = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert (paid["status"], paid["escrow"]["amount"], paid["balance_due"]) == ("paid", 3000, 7000)


def test_only_the_buyer_pays_their_checkout_at_the_sandbox(api, buyer, make_user, card):
    order = checkout(api, buyer, card).data
    stranger = make_user("buyer")
    assert sandbox_pay(api, order, stranger).status_code == 404
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "awaiting_payment"


# ---- 易支付 -------------------------------------------------------------------------------------


def test_an_epay_checkout_is_paid_by_the_aggregators_notification_exactly_once(
    api, buyer, merchant, card, epay, epay_notify
):
    order = checkout(api, buyer, card, pay_with="epay").data
    assert order["payment"]["pay_url"].startswith(f"{epay.url}/submit.php?")
    notification = epay.pay(order["payment"]["pay_url"])
    assert notification["money"] == "49.90"

    wrong = epay_notify({**notification, "money": "0.01"})
    assert wrong.content == b"fail"
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "awaiting_payment"
    for _ in range(3):  # the aggregator repeats until it reads "success"
        answer = epay_notify(notification)
        assert answer.status_code == 200 and answer.content == b"success"
    paid = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert paid["status"] == "delivered" and paid["delivery"]["items"] == ["KEY-A"]
    assert paid["escrow"]["amount"] == 4990 and events(order).count("paid") == 1
    assert ledger.balance(ledger.wallet_code(merchant.pk)) == 0


def test_a_refund_of_an_epay_paid_order_goes_back_through_the_aggregator(
    api, buyer, merchant, card, epay, epay_notify, committing
):
    order = checkout(api, buyer, card, pay_with="epay").data
    epay_notify(epay.pay(order["payment"]["pay_url"]))
    body = {"order": order["id"], "reason": "defective", "description": "激活失败", "amount": 4990}
    case = api.post("/refunds", body, token=buyer.token)
    assert case.status_code == 201, case.data
    with committing():
        accepted = api.post(f"/refunds/{case.data['id']}/accept", token=merchant.token)
    assert accepted.status_code == 200, accepted.data
    assert [c["out_trade_no"] for c in epay.refund_calls] == [order["payment"]["out_trade_no"]]
    assert epay.refund_calls[0]["money"] == "49.90"
    assert wallet(buyer) == 0  # 原路退回: back to where it came from, not left in the wallet
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "refunded"
