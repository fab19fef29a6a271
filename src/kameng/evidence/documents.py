"""System evidence rendered as plain-text documents (listing snapshot, transaction record, chat log)."""

import functools

from django.db import connection
from django.utils import timezone, translation

from kameng.accounts.models import Role, User
from kameng.compiled import Prepared
from kameng.labels import label
from kameng.money import yuan
from kameng.orders.events import event_label
from kameng.orders.models import EscrowStatus, Message, OrderEvent, OrderStatus
from kameng.policy.defaults import CategoryClass
from kameng.policy.services import get_policy


def _t(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S %Z") if dt else "—"


def _category(code: str) -> str:
    try:
        return get_policy().category(code).get("name") or code
    except KeyError:
        return code


def snapshot_text(order) -> str:
    """In Chinese, whoever's request builds it: the document is evidence for Chinese authorities."""
    with translation.override("zh-hans"):
        return _snapshot_text(order)


def _snapshot_text(order) -> str:
    s = order.snapshot
    lines = [
        "商品快照（下单时版本，网页快照）",
        f"订单号：{order.number}",
        f"商品编号：{order.listing_id}  版本：{order.listing_version.version}",
        f"快照 SHA-256：{order.snapshot_sha256}",
        f"标题：{s['title']}",
        f"店铺：{s.get('shop_name', '')}",
        f"类目：{_category(s['category'])}（{label(CategoryClass, s['category_class'])}）",
        f"价格：{yuan(s['price'])}",
        f"售后期：{s['after_sale_days']} 天；验货期：{s['verification_minutes']} 分钟",
        f"支持无理由退款：{'是' if s['no_reason_refund'] else '否'}",
        "商家承诺：",
        *[f"  - {p}" for p in s.get("promises", [])],
        "商品描述：",
        s.get("description", ""),
    ]
    if s.get("special_terms"):
        lines += ["特殊条款（买家下单时确认）：", *[f"  - {t}" for t in s["special_terms"]]]
    if s.get("warnings"):
        lines += ["平台提示的无效格式条款：", *[f"  - {w['text']}（{w['law']}）" for w in s["warnings"]]]
    return "\n".join(lines) + "\n"


def transaction_text(order, events: list[tuple] | None = None) -> str:
    """`events`: the order's (at, type, actor_role) by id, read already (`order_record`)."""
    with translation.override("zh-hans"):
        return _transaction_text(order, _EVENTS_READ.rows(order.pk) if events is None else events)


def _transaction_text(order, events: list[tuple]) -> str:
    lines = [
        "交易记录",
        f"订单号：{order.number}",
        f"买家：{order.buyer.username}",
        f"店铺：{order.shop.name}",
        f"下单时间：{_t(order.created_at)}",
        f"数量：{order.quantity}",
        f"金额：{yuan(order.amount)}",
        f"交付时间：{_t(order.delivered_at)}",
        f"售后截止：{_t(order.after_sale_until)}",
        f"订单状态：{label(OrderStatus, order.status)}；担保状态：{label(EscrowStatus, order.escrow_status)}",
        "订单事件：",
    ]
    for at, type_, actor_role in events:
        who = "系统" if actor_role == "system" else label(Role, actor_role)
        lines.append(f"  {_t(at)}  {event_label(type_)}（{who}）")
    return "\n".join(lines) + "\n"


# The documents' reads, as plain rows in fixed statements compiled once (kameng.compiled): model
# instances of every event and message (with the author's whole user row) were most of the texts' cost.
# A case's opening on PostgreSQL reads both at once instead (`order_record`); these serve SQLite, and
# a text written alone (a fresh chat log at escalation or appeal).
_EVENTS_READ = Prepared(
    lambda order_id: (
        OrderEvent.objects.filter(order_id=order_id).order_by("id").values_list("at", "type", "actor_role")
    ),
    arity=1,
)
_MESSAGES_READ = Prepared(
    lambda order_id: (
        Message.objects.filter(order_id=order_id)
        .order_by("id")
        .values_list("created_at", "author__username", "author__role", "body", "flags")
    ),
    arity=1,
)


def chat_log_text(order, messages: list[tuple] | None = None) -> str:
    """`messages`: the order's (created_at, author's username, author's role, body, flags) by id, read
    already (`order_record`)."""
    with translation.override("zh-hans"):
        return _chat_log_text(order, _MESSAGES_READ.rows(order.pk) if messages is None else messages)


def _chat_log_text(order, messages: list[tuple]) -> str:
    lines = [f"交易留言记录（订单 {order.number}）"]
    for created_at, username, role, body, flags in messages:
        flag = "  [疑似引导站外支付]" if "off_platform_payment" in (flags or []) else ""
        lines.append(f"{_t(created_at)}  {username}（{label(Role, role)}）：{body}{flag}")
    if len(lines) == 1:
        lines.append("（无留言）")
    return "\n".join(lines) + "\n"


def order_record(order) -> tuple[list[tuple], list[tuple]]:
    """The order's events and chat messages as `transaction_text` and `chat_log_text` read them: on
    PostgreSQL in one statement (`_record_statement`, a case's opening writes both texts), elsewhere
    the two reads."""
    if connection.vendor != "postgresql":
        return _EVENTS_READ.rows(order.pk), _MESSAGES_READ.rows(order.pk)
    with connection.cursor() as cursor:
        cursor.execute(_record_statement(), [order.pk, order.pk])
        rows = cursor.fetchall()
    flags = _FLAGS.from_db_value  # the JSONField's own reading of its column, as a read's converter
    events = [(at, type_, role) for kind, _id, at, type_, role, _body, _flags in rows if kind == 0]
    messages = [
        (at, username, role, body, flags(raw, _FLAGS_COLUMN, connection))
        for kind, _id, at, username, role, body, raw in rows
        if kind == 1
    ]
    return events, messages


_FLAGS = Message._meta.get_field("flags")
_FLAGS_COLUMN = _FLAGS.get_col(Message._meta.db_table)


@functools.cache
def _record_statement() -> str:
    """The order's events (by id) and messages (by id, with their authors) as one UNION ALL, each row led
    by its kind (0, 1) and id: an event row is 0, id, at, type, actor_role, two NULLs; a message row
    is 1, id, created_at, the author's username and role, body, flags."""
    q = connection.ops.quote_name
    events, messages, users = (q(m._meta.db_table) for m in (OrderEvent, Message, User))
    return (
        f"SELECT 0, {q('id')}, {q('at')}, {q('type')}, {q('actor_role')}, NULL, NULL FROM {events} "
        f"WHERE {q('order_id')} = %s UNION ALL SELECT 1, m.{q('id')}, m.{q('created_at')}, u.{q('username')}, "
        f"u.{q('role')}, m.{q('body')}, m.{q('flags')} FROM {messages} m JOIN {users} u ON u.{q('id')} = "
        f"m.{q('author_id')} WHERE m.{q('order_id')} = %s ORDER BY 1, 2"
    )
