"""The merchant's 通知与接口 page: save a channel URL, "send test", see the sending log (a failure
with its error, then "resend"); add a webhook (the secret shown once), see its deliveries."""

import re

from django.test import Client

from kameng.notify.models import Channel, Endpoint


def page(client) -> str:
    return client.get("/shop/integrations/").content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_channel_settings_send_test_and_resend(merchant, receiver, run_jobs):
    client = signed_in(merchant)
    assert "企业微信" in page(client) and "Server酱" in page(client)
    bad = client.post("/shop/integrations/", {"step": "channel", "kind": "json", "url": "tgram://x/y"}).content.decode()
    assert "这不是该渠道的通知地址" in bad and not Channel.objects.exists()

    url = f"json://127.0.0.1:{receiver.port}/n"
    assert client.post("/shop/integrations/", {"step": "channel", "kind": "json", "url": url}).status_code == 302
    receiver.statuses = [500, 200]
    with run_jobs():
        client.post("/shop/integrations/channels/json/test")
    html = page(client)
    assert "发送失败" not in html and "待发送" in html and "第 1 次失败" in html  # retried later, error shown
    dispatch_id = re.search(r"/shop/integrations/dispatches/(\d+)/resend", html).group(1)
    with run_jobs():
        client.post(f"/shop/integrations/dispatches/{dispatch_id}/resend")
    assert "已送达" in page(client) and len(receiver.requests) == 2
    client.post("/shop/integrations/channels/json/delete")
    assert not Channel.objects.exists()


def test_webhook_is_added_with_its_secret_shown_once(
    merchant, buyer, receiver, fund, make_listing, run_jobs, api, settings
):
    client = signed_in(merchant)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    refused = client.post(
        "/shop/integrations/", {"step": "webhook", "url": "https://10.0.0.1/x", "events": ["order.paid"]}
    )
    assert "地址必须是公网 https 地址" in refused.content.decode() and not Endpoint.objects.exists()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    added = client.post(
        "/shop/integrations/", {"step": "webhook", "url": receiver.url, "events": ["order.paid"]}, follow=True
    )
    secret = Endpoint.objects.get().secret
    assert secret in added.content.decode()
    assert secret not in page(client)  # once only
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    html = page(client)
    assert "order.paid" in html and "HTTP 200" in html and "已送达" in html


def test_only_merchants_see_the_page(buyer):
    assert signed_in(buyer).get("/shop/integrations/").status_code in (302, 403)
