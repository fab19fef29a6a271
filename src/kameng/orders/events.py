"""The order's event log: every move of an order appends one row (who, what, when, data).

Apps above hear of them as the refund cases' listeners do (aftersales.services.on_case_event):
`on_order_event(listener)` calls `listener(event)` right after each row is written, inside its
transaction, and `on_message(listener)` after each chat message. `around_order_events(scope)`: when
many rows are written at once (`append_events`), the listeners run inside `scope(rows)`, a context
manager (notify reads the merchants' webhook endpoints of all of them there in one query). Listeners register in their
AppConfig.ready(); nothing slow runs in them (they queue jobs, which run after the commit).
"""

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from django.db import connection
from django.utils.translation import gettext_lazy as _

from kameng.accounts.models import User
from kameng.compiled import copied, loaded, packed_rows

from .models import Message, Order, OrderEvent

OrderEventListener = Callable[[OrderEvent], None]
MessageListener = Callable[[Message], None]
_event_listeners: list[OrderEventListener] = []
_message_listeners: list[MessageListener] = []
EventsScope = Callable[[list[OrderEvent]], AbstractContextManager[object]]
_events_scopes: list[EventsScope] = []


def on_order_event(listener: OrderEventListener) -> OrderEventListener:
    if listener not in _event_listeners:
        _event_listeners.append(listener)
    return listener


def around_order_events(scope: EventsScope) -> EventsScope:
    if scope not in _events_scopes:
        _events_scopes.append(scope)
    return scope


def on_message(listener: MessageListener) -> MessageListener:
    if listener not in _message_listeners:
        _message_listeners.append(listener)
    return listener


# Every event type's name for people (pages, the audit log, evidence documents): never the code.
EVENT_LABELS = {
    "awaiting_payment": _("订单已创建，等待付款"),
    "cancelled": _("订单已取消"),
    "paid": _("买家付款，款项进入平台担保"),
    "balance_paid": _("买家支付尾款"),
    "balance_unpaid": _("尾款未付"),
    "delivered": _("商家发货"),
    "confirmed": _("买家确认收货"),
    "escrow_frozen": _("担保款冻结（售后处理中）"),
    "escrow_unfrozen": _("担保款解冻"),
    "escrow_released": _("担保款放款给商家"),
    "refunded": _("退款给买家"),
    "escrow_closed": _("担保结束"),
    "warranty_released": _("找回包赔期满，保证金放款给商家"),
    "replaced": _("商家补发"),
    "window_restarted": _("补发后确认期重新计算"),
}


def event_label(type_: str) -> str:
    """The event's name for people; an unknown type shows as itself (a new type without a label yet)."""
    return str(EVENT_LABELS.get(type_, type_))


def append_event(order: Order, type_: str, actor: User | None, now, **data) -> None:
    """One row (the INSERT `append_events` writes, without a model's save), then the listeners; inside
    a `held_events` block of this order, held back to be written as the block ends."""
    held = order.__dict__.get(_HELD)
    if held is not None:
        # the order as it stands now, for the listeners, without the blocks' markers
        heard = copied(order, without=[name for name in order.__dict__ if name.startswith("_") and name != "_state"])
        held.append(((heard, type_, actor, data), now))
        return
    (event,) = _insert_events([(order, type_, actor, data)], now)
    for listener in _event_listeners:
        listener(event)


_HELD = "_events_held"  # on an order inside `held_events`: the events held back, each with its moment


@contextmanager
def held_events(order: Order) -> Iterator[None]:
    """The events of `order` appended inside the block are written as it ends, in one INSERT per moment
    (`append_events`: one for a case's settlement, whose refund and closing share the action's moment),
    instead of one each; their listeners hear them then, in order, each with the order as it stood when
    the event was appended. Nothing inside the block may read the order's events back from the
    database. Nested blocks on the same order leave the writing to the outer one; nothing is written
    when the block raises (its transaction rolls back)."""
    if _HELD in order.__dict__:
        yield
        return
    held: list[tuple[tuple[Order, str, User | None, dict], object]] = []
    order.__dict__[_HELD] = held
    try:
        yield
    finally:
        del order.__dict__[_HELD]
    for now, group in itertools.groupby(held, key=lambda item: item[1]):
        append_events([event for event, _now in group], now)


def append_events(events: list[tuple[Order, str, User | None, dict]], now) -> None:
    """`append_event` for many orders at once: one INSERT, then the listeners for each row, in order,
    inside every `around_order_events` scope of the rows."""
    rows = _insert_events(events, now)
    with ExitStack() as scopes:
        for scope in _events_scopes:
            scopes.enter_context(scope(rows))
        for event in rows:
            for listener in _event_listeners:
                listener(event)


def _insert_events(events: list[tuple[Order, str, User | None, dict]], now) -> list[OrderEvent]:
    """The rows bulk_create would write, in one INSERT … RETURNING id (fixed text on PostgreSQL, the
    rows in one parameter: `packed_rows`), and the events as loaded objects with their order and actor
    attached: without bulk_create's preparing of every field of every object (most of a release
    batch's event CPU). `data` is stored as its JSONField (no encoder) stores it: json.dumps."""
    values = [(order.pk, type_, _pk(actor), _role(actor), data) for order, type_, actor, data in events]
    rows, params = packed_rows(("bigint", "text", "bigint", "text", "jsonb"), values)
    table = connection.ops.quote_name(OrderEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("order_id", "type", "actor_id", "actor_role", "data", "at") '
            f'SELECT v.*, %s FROM ({rows}) AS v RETURNING "id"',
            [connection.ops.adapt_datetimefield_value(now), *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    out, alias = [], connection.alias
    for (order, type_, actor, data), pk in zip(events, ids, strict=True):
        event = loaded(OrderEvent, _COLUMNS, (pk, order.pk, type_, _pk(actor), _role(actor), data, now), alias)
        _ORDER.set_cached_value(event, order)
        _ACTOR.set_cached_value(event, actor)
        out.append(event)
    return out


_ORDER, _ACTOR = OrderEvent._meta.get_field("order"), OrderEvent._meta.get_field("actor")
_COLUMNS = [f.attname for f in OrderEvent._meta.concrete_fields]  # id, order_id, type, actor_id, actor_role, data, at


def _pk(actor: User | None) -> int | None:
    return actor.pk if actor is not None else None


def _role(actor: User | None) -> str:
    return actor.role if actor is not None else "system"


def message_posted(message: Message) -> None:
    for listener in _message_listeners:
        listener(message)
