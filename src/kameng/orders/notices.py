"""Notices to one party of an order (in-app, and by email where the user has one).

The in-app notifications live in aftersales, above orders; it subscribes here in its AppConfig.ready()
(aftersales/tasks.py), as the layers' other registries do. Sent after the caller's refusal rolled
back, a notice survives it: the buyer learns why the merchant could not deliver.
"""

from collections.abc import Callable
from datetime import datetime

from kameng.accounts.models import User

from .models import Order

# (user, order, kind, template, params, now): `template` is Chinese with `{field}`s filled from
# `params` when the notice is read, in the reader's language (aftersales.notifications).
Listener = Callable[[User, Order, str, str, dict, datetime], None]
# The subject of an order's e-mails (a Chinese msgid with {order}, the order number), the guest's included.
ORDER_SUBJECT = "[卡盟] 订单 {order}"
_LISTENERS: list[Listener] = []


def on_order_notice(listener: Listener) -> Listener:
    _LISTENERS.append(listener)
    return listener


def send(user: User, order: Order, kind: str, template: str, params: dict, now: datetime) -> None:
    for listener in _LISTENERS:
        listener(user, order, kind, template, params, now)
