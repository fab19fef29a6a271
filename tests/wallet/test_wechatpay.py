"""微信支付 v3 through wechatpayv3 against a local WeChat Pay simulator (keys made in the test): Native
下单 for the QR code, H5, the notification's signed headers and AES-256-GCM resource, query,
refunds and 商家转账 — the SDK's own request signing and answer verification run each time."""

import json

import pytest

from kameng.ledger import services as ledger
from kameng.wallet import payments
from kameng.wallet.gateways import get_gateway
from kameng.wallet.models import Payment, PaymentRefund


def balance(user) -> int:
    return ledger.balance(ledger.wallet_code(user.pk))


def books_hold():
    result = ledger.check()
    assert result.ok, result.problems


def native_topup(api, user, amount) -> Payment:
    res = api.post("/wallet/topups", {"amount": amount, "gateway": "wechatpay"}, token=user.token)
    assert res.status_code == 201, res.data
    assert res.data["pay_url"] == f"/pay/{res.data['out_trade_no']}/"  # our page, with the QR code
    payment = Payment.objects.get(pk=res.data["id"])
    code_url = get_gateway("wechatpay").native_code(payment)
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    return payment


def test_a_native_payment_is_verified_decrypted_and_credited_once(api, buyer, wechatpay, wechatpay_notify):
    payment = native_topup(api, buyer, 6600)
    assert wechatpay.orders[payment.out_trade_no]["amount"] == 6600
    headers, body = wechatpay.pay(payment.out_trade_no)
    for _ in range(3):
        res = wechatpay_notify(headers, body)
        assert res.status_code == 200 and res.json()["code"] == "SUCCESS"
    assert balance(buyer) == 6600
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.gateway_reference.startswith("42000000")
    books_hold()


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda sim, no: sim.pay(no, sign_with=sim.merchant_key), id="signed-by-another-key"),
        pytest.param(lambda sim, no: sim.pay(no, apiv3_key="x" * 32), id="encrypted-with-another-apiv3-key"),
        pytest.param(
            lambda sim, no: (lambda h, b: ({**h, "Wechatpay-Timestamp": "1700000000"}, b))(*sim.pay(no)),
            id="headers-changed-after-signing",
        ),
        pytest.param(lambda sim, no: (lambda h, b: (h, b.replace(b"EV-", b"EX-")))(*sim.pay(no)), id="body-changed"),
    ],
)
def test_a_forged_wechat_notification_credits_nothing(api, buyer, wechatpay, wechatpay_notify, forge):
    payment = native_topup(api, buyer, 1000)
    headers, body = forge(wechatpay, payment.out_trade_no)
    res = wechatpay_notify(headers, body)
    assert res.status_code == 400 and res.json()["code"] == "FAIL"
    assert balance(buyer) == 0
    books_hold()


def test_another_apps_or_merchants_payment_or_a_wrong_amount_is_refused(api, buyer, wechatpay, wechatpay_notify):
    payment = native_topup(api, buyer, 1000)
    for overrides in ({"appid": "wx0000000000000000"}, {"mchid": "1900000999"}):
        assert wechatpay_notify(*wechatpay.pay(payment.out_trade_no, **overrides)).status_code == 400
    short = {"amount": {"total": 999, "payer_total": 999, "currency": "CNY", "payer_currency": "CNY"}}
    assert wechatpay_notify(*wechatpay.pay(payment.out_trade_no, **short)).status_code == 400
    assert balance(buyer) == 0
    assert wechatpay_notify(*wechatpay.pay(payment.out_trade_no)).status_code == 200
    assert balance(buyer) == 1000
    books_hold()


def test_h5_gives_a_wechat_page_for_phones(api, buyer, wechatpay):
    res = api.post("/wallet/topups", {"amount": 300, "gateway": "wechatpay"}, token=buyer.token)
    payment = Payment.objects.get(pk=res.data["id"])
    url = get_gateway("wechatpay").h5_url(payment, "203.0.113.7")
    assert url.startswith("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=")


def test_query_refund_and_a_refund_retried_after_a_system_error(
    api, buyer, admin, wechatpay, wechatpay_notify, committing, advance
):
    from django.db import transaction

    from kameng.clock.services import now as clock_now

    payment = native_topup(api, buyer, 2500)
    assert payments.recheck_payment(payment, by=admin).paid is False  # NOTPAY
    wechatpay.pay(payment.out_trade_no)  # paid; the notification is lost
    assert payments.recheck_payment(payment, by=admin).paid is True
    assert balance(buyer) == 2500
    payment.refresh_from_db()
    wechatpay.fail_next["/v3/refund/domestic/refunds"] = 1
    with committing(), transaction.atomic():
        payments.refund_payment(payment, 2500, key="test:wx-refund", now=clock_now(), reason="测试")
    refund = PaymentRefund.objects.get()
    assert refund.status == "pending" and "500" in refund.last_error
    with committing():
        advance(3 * 60)
    refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.gateway_reference.startswith("50000000")
    sent = wechatpay.refunds[refund.out_refund_no]["amount"]
    assert sent == {"refund": 2500, "total": 2500, "currency": "CNY"}
    assert balance(buyer) == 0
    books_hold()


def test_a_wechat_payout_waits_for_the_users_confirmation_then_is_paid(api, merchant, wechatpay, committing, advance):
    from django.db import transaction

    from kameng.ledger.models import EntryKind

    with transaction.atomic():
        ledger.transfer(
            "test:seed", EntryKind.TOPUP, ledger.gateway_code("sandbox"), ledger.wallet_code(merchant.pk), 9000
        )
    body = {"amount": 5000, "gateway": "wechatpay", "account": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "account_name": "王小明"}
    with committing():
        res = api.post("/wallet/withdrawals", body, token=merchant.token)
    assert res.status_code == 201 and res.data["status"] == "pending"
    bill = next(iter(wechatpay.transfers.values()))
    assert bill["amount"] == 5000 and bill["state"] == "WAIT_USER_CONFIRM"
    bill["state"] = "SUCCESS"  # the merchant confirmed in WeChat
    with committing():
        advance(3 * 60)
    assert api.get(f"/wallet/withdrawals/{res.data['id']}", token=merchant.token).data["status"] == "paid"
    # An openid WeChat does not know: refused for good, the money back in the wallet.
    with committing():
        bad = api.post("/wallet/withdrawals", {**body, "amount": 3000, "account": "o-unknown"}, token=merchant.token)
    got = api.get(f"/wallet/withdrawals/{bad.data['id']}", token=merchant.token).data
    assert got["status"] == "failed" and "openid" in got["failure_reason"]
    assert balance(merchant) == 4000
    books_hold()


def test_the_notify_answer_is_wechats_json_not_the_apis_error_shape(api, wechatpay, wechatpay_notify):
    res = wechatpay_notify({}, json.dumps({"id": "x"}).encode())
    assert res.status_code == 400 and res.json() == {"code": "FAIL", "message": "验签或处理失败"}


def test_a_notification_signed_more_than_5_minutes_from_now_is_refused(api, buyer, wechatpay, wechatpay_notify):
    """微信支付 v3: refuse a callback whose Wechatpay-Timestamp is more than 5 minutes from now (a replayed
    old one). wechatpayv3's callback() does not look at it; our check runs on kameng's clock."""
    from kameng.clock.services import now as clock_now

    payment = native_topup(api, buyer, 1200)
    # The test clock is the real clock plus an offset: `now` drops its fraction of a second and the request
    # itself takes real time, so the stamps lie 5 s past the 5-minute edge, not 1 s (at 301 s ahead a loaded
    # machine saw the notification arrive 300 s before its stamp, and it was rightly taken).
    now = int(clock_now().timestamp())
    for signed_at in (now - 305, now + 305, now - 3600):
        headers, body = wechatpay.pay(payment.out_trade_no, signed_at=signed_at)  # genuinely signed, only old
        res = wechatpay_notify(headers, body)
        assert res.status_code == 400 and res.json()["code"] == "FAIL"
    assert balance(buyer) == 0
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert wechatpay_notify(*wechatpay.pay(payment.out_trade_no, signed_at=now - 240)).status_code == 200  # in time
    assert balance(buyer) == 1200
    books_hold()


def test_an_old_notification_replayed_after_the_clock_moved_is_refused(
    api, buyer, wechatpay, wechatpay_notify, advance
):
    payment = native_topup(api, buyer, 800)
    headers, body = wechatpay.pay(payment.out_trade_no)
    advance(6 * 60)  # the same notification, captured and sent again six minutes later
    assert wechatpay_notify(headers, body).status_code == 400
    assert balance(buyer) == 0
    assert wechatpay_notify(*wechatpay.pay(payment.out_trade_no)).status_code == 200  # WeChat's own retry, signed now
    assert balance(buyer) == 800
    books_hold()
