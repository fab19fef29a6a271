"""The payment page: the QR code of a WeChat Native payment drawn server-side, the Alipay and 易支付
links, refreshed until paid, only for the payment's own user."""

from django.test import Client

from kameng.wallet.models import Payment


def page(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_wechat_native_shows_a_qr_code_and_polls_until_paid(api, buyer, make_user, wechatpay, wechatpay_notify):
    res = api.post("/wallet/topups", {"amount": 1888, "gateway": "wechatpay"}, token=buyer.token).data
    shown = page(buyer, res["pay_url"])
    html = shown.content.decode()
    assert shown.status_code == 200
    assert 'data-testid="pay-qr"' in html and 'src="data:image/svg+xml' in html
    assert '<meta http-equiv="refresh" content="5">' in html and "¥18.88" in html
    payment = Payment.objects.get(pk=res["id"])
    assert payment.code_url.startswith("weixin://wxpay/bizpayurl")  # asked once, kept
    page(buyer, res["pay_url"])
    assert [c for c in wechatpay.calls if c[1] == "/v3/pay/transactions/native"] == [
        ("POST", "/v3/pay/transactions/native")
    ]
    assert page(make_user("buyer"), res["pay_url"]).status_code == 404  # another buyer's payment

    h5 = page(buyer, res["pay_url"] + "?h5=1")
    assert h5.status_code == 302 and h5["Location"].startswith("https://wx.tenpay.com/")

    wechatpay_notify(*wechatpay.pay(payment.out_trade_no))
    paid = page(buyer, res["pay_url"]).content.decode()
    assert "已支付" in paid and 'http-equiv="refresh"' not in paid and 'href="/wallet/"' in paid


def test_alipay_and_epay_pages_link_to_the_cashier(api, buyer, alipay, epay):
    ali = api.post("/wallet/topups", {"amount": 500, "gateway": "alipay"}, token=buyer.token).data
    html = page(buyer, f"/pay/{ali['out_trade_no']}/").content.decode()
    assert f'href="{alipay.url}/gateway.do?' in html and "alipay.trade.wap.pay" in html
    ep = api.post("/wallet/topups", {"amount": 500, "gateway": "epay"}, token=buyer.token).data
    html = page(buyer, f"/pay/{ep['out_trade_no']}/").content.decode()
    assert f'href="{epay.url}/submit.php?' in html


def test_a_gateway_that_does_not_answer_is_said_so(api, buyer, wechatpay):
    res = api.post("/wallet/topups", {"amount": 100, "gateway": "wechatpay"}, token=buyer.token).data
    wechatpay.close()
    html = page(buyer, res["pay_url"]).content.decode()
    assert "支付渠道暂时不可用" in html and "pay-qr" not in html
