"""The transaction record and the chat log a case's opening files: every order event and every chat
message of the order, in the order they happened, each with its moment, its words and who said or
did it (the author's name and role; a message that pushed payment off the platform marked)."""

from django.utils import timezone

from kameng.orders.models import Message, OrderEvent


def _file_text(api, token, case, category):
    (item,) = [e for e in case["evidence"] if e["source"] == "system" and e["category"] == category]
    res = api.client.get(
        f"/api/v1/refunds/{case['id']}/evidence/{item['id']}/file", headers={"Authorization": f"Bearer {token}"}
    )
    assert res.status_code == 200
    return b"".join(res.streaming_content if res.streaming else [res.content]).decode()


def _moment(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S %Z")


def test_the_chat_log_lists_every_message_with_its_author_and_flag(api, buyer, merchant, delivered_order, open_case):
    order_id = delivered_order["id"]
    api.post(f"/orders/{order_id}/messages", {"body": "激活码无效"}, token=buyer.token)
    api.post(f"/orders/{order_id}/messages", {"body": "加我微信 kameng888 私下转账"}, token=merchant.token)
    api.post(f"/orders/{order_id}/messages", {"body": "请重新试一次"}, token=buyer.token)
    case = open_case(delivered_order)
    lines = _file_text(api, buyer.token, case, "communication").splitlines()
    messages = list(Message.objects.filter(order_id=order_id).order_by("id"))
    assert [m.body for m in messages] == ["激活码无效", "加我微信 kameng888 私下转账", "请重新试一次"]
    assert lines[0] == f"交易留言记录（订单 {delivered_order['number']}）"
    assert lines[1:] == [
        f"{_moment(messages[0].created_at)}  {buyer.username}（买家）：激活码无效",
        f"{_moment(messages[1].created_at)}  {merchant.username}（商家）：加我微信 kameng888 私下转账  [疑似引导站外支付]",
        f"{_moment(messages[2].created_at)}  {buyer.username}（买家）：请重新试一次",
    ]


def test_a_chat_log_without_messages_says_so(api, buyer, delivered_order, open_case):
    case = open_case(delivered_order)
    text = _file_text(api, buyer.token, case, "communication")
    assert text == f"交易留言记录（订单 {delivered_order['number']}）\n（无留言）\n"


def test_the_transaction_record_lists_every_order_event_up_to_the_freeze(api, buyer, delivered_order, open_case):
    case = open_case(delivered_order)
    text = _file_text(api, buyer.token, case, "transaction")
    events = list(OrderEvent.objects.filter(order_id=delivered_order["id"]).order_by("id"))
    assert [e.type for e in events][-1] == "escrow_frozen"  # the opening froze the escrow before filing it
    listed = text.split("订单事件：\n", 1)[1].splitlines()
    assert len(listed) == len(events) >= 3
    for line, event in zip(listed, events, strict=True):
        assert line.startswith(f"  {_moment(event.at)}  ")
    assert listed[-1].endswith("（系统）")  # the freeze is the platform's own
    assert any(line.endswith("（买家）") for line in listed)  # the buyer paid
    assert f"买家：{buyer.username}" in text and "担保状态：已冻结" in text


def test_the_opening_reads_the_orders_events_and_chat_together_as_each_text_reads_them(
    api, buyer, merchant, delivered_order, open_case
):
    """`order_record` gives the rows `transaction_text` and `chat_log_text` read one by one (flags
    read as the JSONField reads them); on PostgreSQL in one statement, which the opening uses."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kameng.evidence.documents import chat_log_text, order_record, transaction_text
    from kameng.orders.models import Order

    order_id = delivered_order["id"]
    api.post(f"/orders/{order_id}/messages", {"body": "激活码无效"}, token=buyer.token)
    api.post(f"/orders/{order_id}/messages", {"body": "加我微信 kameng888 私下转账"}, token=merchant.token)
    order = Order.objects.get(pk=order_id)
    with CaptureQueriesContext(connection) as queries:
        events, messages = order_record(order)
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    assert [m[3] for m in messages] == ["激活码无效", "加我微信 kameng888 私下转账"]
    assert messages[1][4] == ["off_platform_payment"] and messages[0][1:3] == (buyer.username, "buyer")
    assert [e[1:] for e in events] == [("paid", "buyer"), ("delivered", "system")]
    assert transaction_text(order, events) == transaction_text(order)
    assert chat_log_text(order, messages) == chat_log_text(order)

    with CaptureQueriesContext(connection) as queries:
        case = open_case(delivered_order)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("SELECT", "WITH"))]
    touching = [sql for sql in reads if "orders_message" in sql or "orders_orderevent" in sql]
    assert len(touching) == (1 if connection.vendor == "postgresql" else 2), touching
    assert _file_text(api, buyer.token, case, "communication") == chat_log_text(order)
