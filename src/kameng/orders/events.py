"""The order's event log: every move of an order appends one row (who, what, when, data).

Apps above hear of them as the refund cases' listeners do (aftersales.services.on_case_event):
`on_order_event(listener)` calls `listener(event)` right after each row is written, inside its
transaction, and `on_message(listener)` after each chat message. Listeners register in their
AppConfig.ready(); nothing slow runs in them (they queue jobs, which run after the commit).
"""

from collections.abc import Callable

from kameng.accounts.models import User

from .models import Message, Order, OrderEvent

OrderEventListener = Callable[[OrderEvent], None]
MessageListener = Callable[[Message], None]
_event_listeners: list[OrderEventListener] = []
_message_listeners: list[MessageListener] = []


def on_order_event(listener: OrderEventListener) -> OrderEventListener:
    if listener not in _event_listeners:
        _event_listeners.append(listener)
    return listener


def on_message(listener: MessageListener) -> MessageListener:
    if listener not in _message_listeners:
        _message_listeners.append(listener)
    return listener


def append_event(order: Order, type_: str, actor: User | None, now, **data) -> None:
    role = actor.role if actor is not None else "system"
    event = OrderEvent.objects.create(order=order, type=type_, actor=actor, actor_role=role, data=data, at=now)
    for listener in _event_listeners:
        listener(event)


def message_posted(message: Message) -> None:
    for listener in _message_listeners:
        listener(message)
