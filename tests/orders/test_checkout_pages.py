"""The checkout pages: the gateway choice on the listing page, the payment page, the order page
waiting (and refreshing) until paid; 免注册购买 and 查单 for visitors without an account. Paid through
the sandbox gateway's own pay page, as a browser would."""

import re

import pytest
from django.test import Client

from kameng.orders.models import Order
from kameng.wallet.models import Payment

PASSWORD = "cha-dan-2026"


@pytest.fixture
def card(make_listing, merchant):
    return make_listing(merchant, title="网易云音乐月卡", price=1500, stock=["NE-0001", "NE-0002"])


def page(client, url) -> str:
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.content.decode()


def test_a_buyer_chooses_a_gateway_pays_and_the_order_page_waits_until_paid(client, buyer, card):
    client.force_login(buyer)
    listing = page(client, f"/listings/{card['id']}")
    assert 'name="pay_with" value="wallet"' in listing and 'name="pay_with" value="sandbox"' in listing
    res = client.post(f"/listings/{card['id']}/buy", {"quantity": 1, "pay_with": "sandbox"})
    payment = Payment.objects.get(purpose="order")
    assert res.status_code == 302 and res["Location"] == f"/pay/{payment.out_trade_no}/"
    order_id = int(payment.ref)

    waiting = page(client, f"/orders/{order_id}")
    assert 'data-testid="awaiting-payment"' in waiting and '<meta http-equiv="refresh" content="5">' in waiting
    assert re.search(r'data-testid="payment-left">1[45]:\d\d<', waiting)
    assert "NE-0001" not in waiting  # reserved, not delivered
    assert f'href="/pay/{payment.out_trade_no}/"' in waiting
    assert "/sandbox/pay/" in page(client, f"/pay/{payment.out_trade_no}/")

    paid = client.post(f"/sandbox/pay/{payment.pk}").content.decode()
    assert 'data-testid="back-to-order"' in paid and f'href="/orders/{order_id}"' in paid
    done = page(client, f"/orders/{order_id}")
    assert "NE-0001" in done and 'http-equiv="refresh"' not in done and "awaiting-payment" not in done


def test_a_cancelled_checkout_says_so_on_the_order_page(client, buyer, card, advance):
    client.force_login(buyer)
    client.post(f"/listings/{card['id']}/buy", {"quantity": 1, "pay_with": "sandbox"})
    order_id = int(Payment.objects.get(purpose="order").ref)
    advance(16 * 60)
    assert 'data-testid="checkout-cancelled"' in page(client, f"/orders/{order_id}")


def test_a_visitor_buys_without_an_account_pays_and_sees_the_key(client, card):
    listing = page(client, f"/listings/{card['id']}")
    assert f'href="/guest/buy/{card["id"]}"' in listing
    form = page(client, f"/guest/buy/{card['id']}")
    assert 'name="pay_with" value="wallet"' not in form and 'name="pay_with" value="sandbox"' in form
    bad_body = {"quantity": 1, "contact": "nope", "query_password": PASSWORD, "pay_with": "sandbox"}
    bad = client.post(f"/guest/buy/{card['id']}", bad_body)
    assert bad.status_code == 200 and "请填写有效的邮箱地址或手机号" in bad.content.decode()

    body = {"quantity": 1, "contact": "13812345678", "query_password": PASSWORD, "pay_with": "sandbox"}
    res = client.post(f"/guest/buy/{card['id']}", body)
    payment = Payment.objects.get(purpose="order")
    assert res.status_code == 302 and res["Location"] == f"/guest/orders/{payment.ref}"
    result = page(client, res["Location"])
    number = re.search(r'data-testid="order-number">(KM\d+)<', result).group(1)
    assert 'data-testid="go-pay"' in result
    assert "/sandbox/pay/" in page(client, f"/pay/{payment.out_trade_no}/")  # the pay page serves the guest too
    paid = client.post(f"/sandbox/pay/{payment.pk}").content.decode()
    assert f'href="/guest/orders/{payment.ref}"' in paid
    assert "NE-0001" in page(client, f"/guest/orders/{payment.ref}")

    stranger = Client()
    assert stranger.get(f"/guest/orders/{payment.ref}").status_code == 404
    assert stranger.get(f"/pay/{payment.out_trade_no}/").status_code == 302  # to the login page
    assert stranger.post(f"/sandbox/pay/{payment.pk}").status_code == 404
    wrong = stranger.post("/guest/lookup", {"number": number, "query_password": "not-it-123"}).content.decode()
    assert "没有找到匹配的订单" in wrong and "NE-0001" not in wrong
    found = stranger.post("/guest/lookup", {"number": number, "query_password": PASSWORD})
    assert found.status_code == 302 and found["Location"] == f"/guest/orders/{payment.ref}"
    assert "NE-0001" in page(stranger, found["Location"])


def test_a_visitor_who_buys_in_english_is_a_guest_of_that_language(client, card):
    client.cookies["django_language"] = "en"
    body = {"quantity": 1, "contact": "guest@example.com", "query_password": PASSWORD, "pay_with": "sandbox"}
    assert client.post(f"/guest/buy/{card['id']}", body).status_code == 302
    payment = Payment.objects.get(purpose="order")
    assert Order.objects.select_related("buyer").get(pk=payment.ref).buyer.language == "en"
