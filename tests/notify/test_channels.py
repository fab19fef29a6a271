"""Merchant notifications through apprise (issue 17.4), against a local SMTP server (aiosmtpd) and
a local HTTP endpoint (apprise's json://): new order, low stock, case opened, 24 h and 2 h before
the merchant's deadline, decision, payout; "send test"; failures retried and visible; nothing sent
before the transaction commits; buyers hear of chat messages in-app."""

import json
from email import message_from_bytes
from email.header import decode_header, make_header

H = 3600


def set_channel(api, merchant, kind, url):
    res = api.call("put", f"/notifications/channels/{kind}", {"url": url}, token=merchant.token)
    assert res.status_code == 200, res.data
    return res.data


def mailto(smtp_server):
    return (
        f"mailto://127.0.0.1:{smtp_server.port}?smtp=127.0.0.1&from=shop@example.com&to=owner@example.com&mode=insecure"
    )


def subject(envelope) -> str:
    return str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))


def json_url(receiver) -> str:
    return f"json://127.0.0.1:{receiver.port}/notify"


def inbox(api, user):
    return [(n["kind"], n["text"]) for n in api.get("/notifications?limit=100", token=user.token).data["data"]]


def test_send_test_reaches_the_smtp_server_and_the_log_shows_it(api, merchant, smtp_server, run_jobs):
    channel = set_channel(api, merchant, "email", mailto(smtp_server))
    assert channel["kind"] == "email" and "owner@example.com" not in channel["url"]  # masked
    with run_jobs():
        res = api.post("/notifications/channels/email/test", token=merchant.token)
    assert res.status_code == 201
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0].rcpt_tos == ["owner@example.com"]
    assert subject(smtp_server.messages[0]) == "[卡盟] 测试通知"
    log = api.get("/notifications/dispatches", token=merchant.token).data["data"]
    assert [(d["channel"], d["event"], d["status"], d["attempts"]) for d in log] == [("email", "test", "sent", 1)]


def test_new_order_and_low_stock_on_every_channel_after_commit(
    api, merchant, buyer, make_listing, fund, smtp_server, receiver, run_jobs, django_capture_on_commit_callbacks
):
    set_channel(api, merchant, "email", mailto(smtp_server))
    set_channel(api, merchant, "json", json_url(receiver))
    listing = make_listing(merchant, stock=["A", "B", "C"], price=100)
    api.patch(f"/listings/{listing['id']}", {"low_stock_threshold": 2}, token=merchant.token)
    fund(buyer, 100)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        order = api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data
    assert queued and smtp_server.messages == [] and receiver.requests == []  # nothing inside the transaction
    for callback in queued:
        callback()
    titles = sorted(subject(m) for m in smtp_server.messages)
    assert titles == sorted([f"[卡盟] 新订单 {order['number']}", "[卡盟] 库存不足"])
    posted = receiver.json_bodies()
    assert sorted(p["title"] for p in posted) == titles and any("只剩 2 条" in p["message"] for p in posted)
    kinds = [k for k, _ in inbox(api, merchant)]
    assert "new_order" in kinds and "low_stock" in kinds  # in-app too


def test_a_failing_channel_is_retried_and_its_error_visible(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, advance
):
    receiver.statuses = [500, 200]
    set_channel(api, merchant, "json", json_url(receiver))
    fund(buyer, 100)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=100)["id"]}, token=buyer.token)
    row = api.get("/notifications/dispatches", token=merchant.token).data["data"][0]
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"] and row["next_attempt_at"]
    with run_jobs():
        advance(31)
    row = api.get("/notifications/dispatches", token=merchant.token).data["data"][0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "")
    assert len(receiver.requests) == 2


def test_case_opened_and_the_24h_and_2h_deadline_reminders(
    api, merchant, buyer, arbitrator, make_listing, fund, receiver, run_jobs, advance
):
    set_channel(api, merchant, "json", json_url(receiver))
    fund(buyer, 30000)
    order = api.post("/orders", {"listing": make_listing(merchant, price=30000)["id"]}, token=buyer.token).data
    with run_jobs():
        case = api.post(
            "/refunds",
            {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": 30000},
            token=buyer.token,
        ).data
    due = case["deadlines"]["merchant_respond_by"]
    assert due is not None
    assert [p["title"] for p in receiver.json_bodies()] == [f"[卡盟] 售后单 {case['id']}"]
    with run_jobs():
        advance(24 * H + 60)  # 48 h to answer (working hours aside): the 24 h reminder comes first
    titles = [p["title"] for p in receiver.json_bodies()]
    reminders = [t for t in titles if "即将超时" in t]
    assert len(reminders) == 1
    with run_jobs():
        advance(22 * H)
    bodies = receiver.json_bodies()
    assert [p["message"] for p in bodies if "即将超时" in p["title"]][-1].count("2 小时内") == 1
    assert any(k == "deadline_2h" for k, _ in inbox(api, merchant))


def test_channel_urls_are_checked(api, merchant, buyer, allow_private, settings):
    bad_kind = api.call("put", "/notifications/channels/pager", {"url": "json://example.com"}, token=merchant.token)
    assert bad_kind.status_code == 400 and bad_kind.data["error"]["code"] == "invalid_channel"
    wrong = api.call("put", "/notifications/channels/telegram", {"url": "mailto://a@b.com"}, token=merchant.token)
    assert wrong.status_code == 400 and wrong.data["error"]["code"] == "invalid_url"
    ok = api.call(
        "put",
        "/notifications/channels/telegram",
        {"url": "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12315544/"},
        token=merchant.token,
    )
    assert ok.status_code == 200 and "AAHdq" not in ok.data["url"]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    inward = api.call("put", "/notifications/channels/json", {"url": "jsons://127.0.0.1/hook"}, token=merchant.token)
    assert inward.status_code == 400 and inward.data["error"]["code"] == "url_not_allowed"
    plain = api.call("put", "/notifications/channels/json", {"url": "json://203.0.113.9/hook"}, token=merchant.token)
    assert plain.status_code == 400
    buyer_try = api.call("put", "/notifications/channels/json", {"url": "jsons://203.0.113.9/hook"}, token=buyer.token)
    assert buyer_try.status_code == 403
    assert api.call("delete", "/notifications/channels/telegram", token=merchant.token).data["data"] == []
    assert api.get("/notifications/channels", token=merchant.token).data["data"] == []


def test_buyer_hears_of_the_merchants_chat_message_in_app(api, merchant, buyer, make_listing, fund):
    fund(buyer, 100)
    order = api.post("/orders", {"listing": make_listing(merchant, price=100)["id"]}, token=buyer.token).data
    api.post(f"/orders/{order['id']}/messages", {"body": "您好，卡密已发送"}, token=merchant.token)
    api.post(f"/orders/{order['id']}/messages", {"body": "收到，谢谢"}, token=buyer.token)
    messages = [text for kind, text in inbox(api, buyer) if kind == "message"]
    assert len(messages) == 1 and "卡密已发送" in messages[0] and order["number"] in messages[0]


def test_payout_is_told(api, merchant, buyer, make_listing, fund, receiver, run_jobs):
    set_channel(api, merchant, "json", json_url(receiver))
    fund(buyer, 500)
    order = api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token).data
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    receiver.requests.clear()
    with run_jobs():
        api.post("/wallet/withdrawals", {"amount": 300}, token=merchant.token)
    assert [json.loads(r["body"])["title"] for r in receiver.requests] == ["[卡盟] 提现已到账"]


def test_a_merchant_who_reads_english_gets_english_on_their_channels(
    api, merchant, buyer, make_listing, fund, smtp_server, receiver, run_jobs
):
    """Titles and texts are rendered in the user's language when the dispatch is written (Chinese unless
    they chose English), like the case emails; the in-app notice still renders when it is read."""
    from kameng.accounts.models import User

    User.objects.filter(pk=merchant.pk).update(language="en")
    set_channel(api, merchant, "email", mailto(smtp_server))
    set_channel(api, merchant, "json", json_url(receiver))
    with run_jobs():
        api.post("/notifications/channels/email/test", token=merchant.token)
    assert [subject(m) for m in smtp_server.messages] == ["[kameng] Test notification"]
    listing = make_listing(merchant, price=250)
    fund(buyer, 250)
    with run_jobs():
        order = api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data
    posted = receiver.json_bodies()
    assert [p["title"] for p in posted] == [f"[kameng] New order {order['number']}"]
    assert posted[0]["message"].startswith(f"New order {order['number']}: ") and posted[0]["message"].endswith("¥2.50")
    assert subject(smtp_server.messages[-1]) == f"[kameng] New order {order['number']}"


def test_every_channel_title_and_text_has_an_english_text_naming_the_same_values():
    """Each Chinese title and template a listener hands to notify/Notice (read from the source, so a new
    one cannot be forgotten) has an English translation with the same {fields}."""
    import ast
    import inspect
    import re

    from django.utils import translation

    from kameng.aftersales.notifications import fields
    from kameng.notify import channels, listeners

    chinese = re.compile(r"[\u3400-\u9fff]")
    texts = {channels.TEST_TITLE, channels.TEST_TEXT}
    for call in ast.walk(ast.parse(inspect.getsource(listeners))):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") in {"notify", "Notice", "_tell_channels"}:
            texts |= {a.value for a in call.args[2:4] if isinstance(a, ast.Constant) and chinese.search(a.value)}
    assert len(texts) >= 14, texts  # every listener's title and template
    for text in sorted(texts):
        with translation.override("en"):
            english = translation.gettext(text)
        assert english != text and not chinese.search(english), text
        assert fields(english) == fields(text), text
