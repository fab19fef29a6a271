"""Registration takes an optional e-mail address (issue 15.11), through the page and the API; with
one, notifications also go there and every notification says where it was sent (in-app, the
address masked, a merchant's channels), in GET /notifications and on the notification page."""

import pytest
from django.core import mail

from kameng.accounts.models import User
from kameng.accounts.services import mask_email

PASSWORD = "pass-word-123"


def test_the_api_stores_an_optional_email_and_refuses_a_malformed_one(api):
    res = api.post(
        "/auth/register", {"username": "mail-buyer", "password": PASSWORD, "role": "buyer", "email": " b@x.cn "}
    )
    assert res.status_code == 201, res.data
    assert User.objects.get(username="mail-buyer").email == "b@x.cn"
    res = api.post("/auth/register", {"username": "plain-buyer", "password": PASSWORD, "role": "buyer"})
    assert res.status_code == 201 and User.objects.get(username="plain-buyer").email == ""
    res = api.post("/auth/register", {"username": "bad-mail", "password": PASSWORD, "role": "buyer", "email": "no-at"})
    assert res.status_code == 400, res.data
    assert (res.data["error"]["code"], res.data["error"]["param"]) == ("invalid_email", "email")
    assert not User.objects.filter(username="bad-mail").exists()


def test_the_register_page_asks_for_an_optional_email(client, doc):
    page = doc(client.get("/register/"))
    assert "邮箱（选填）" in page.text()
    form = {"username": "小红", "password": PASSWORD, "password2": PASSWORD, "role": "buyer"}
    bad = doc(client.post("/register/", {**form, "email": "xiaohong-at-example"}))
    assert "邮箱地址格式不正确" in bad.field_error("email")
    assert client.post("/register/", {**form, "email": "xiaohong@example.com"})["Location"] == "/"
    assert User.objects.get(username="小红").email == "xiaohong@example.com"


def test_masking_keeps_the_first_letter_and_the_domain():
    assert mask_email("buyer1@example.com") == "b***@example.com"
    assert mask_email("x") == "***"


@pytest.fixture
def buyer_with_email(buyer):
    buyer.email = "buyer1@example.com"
    buyer.save(update_fields=["email"])
    return buyer


def test_each_notification_says_where_it_was_sent(
    api, buyer_with_email, merchant, make_listing, fund, buy, login_as, doc, django_capture_on_commit_callbacks
):
    buyer = buyer_with_email
    listing = make_listing(merchant, stock=["KEY-AAAAA-00001"])
    fund(buyer, listing["price"])
    order = buy(buyer, listing)
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效，提示 0x8007007B", "amount": 100}
    case = api.post("/refunds", body, token=buyer.token).data
    with django_capture_on_commit_callbacks(execute=True):
        res = api.post(f"/refunds/{case['id']}/offer", {"amount": 50}, token=merchant.token)
    assert res.status_code == 200, res.data
    assert [m.to for m in mail.outbox] == [["buyer1@example.com"]]

    [notice] = [n for n in api.get("/notifications", token=buyer.token).data["data"] if n["case"] == case["id"]]
    assert notice["delivered_to"] == [{"channel": "in_app", "to": ""}, {"channel": "email", "to": "b***@example.com"}]
    merchant_notices = api.get("/notifications", token=merchant.token).data["data"]
    assert merchant_notices and all(n["delivered_to"] == [{"channel": "in_app", "to": ""}] for n in merchant_notices)

    page = doc(login_as(buyer).get("/notifications/"))
    assert "发送至：站内信 · 邮件 b***@example.com" in page.testid("notifications").text()
    assert "b***@example.com" in page.text() and "buyer1@example.com" not in page.text()
    merchant_page = doc(login_as(merchant).get("/notifications/"))
    assert "发送至：站内信" in merchant_page.testid("notifications").text()
    assert "你没有填写邮箱" in merchant_page.text()


def test_a_merchants_notification_names_the_channels_it_went_to(api, merchant, settings):
    from kameng.notify import channels

    settings.WEBHOOK_ALLOW_PRIVATE = True  # a local endpoint, as in the apprise tests
    channels.save_channel(merchant, kind="json", url="json://127.0.0.1:9/hook")
    channels.notify(merchant, "order_paid", "[卡盟] 新订单", "新订单 KM1：请发货")
    [notice] = api.get("/notifications", token=merchant.token).data["data"]
    assert notice["delivered_to"] == [{"channel": "in_app", "to": ""}, {"channel": "json", "to": "json://127.…"}]
