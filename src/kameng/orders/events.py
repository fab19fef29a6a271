"""The order's event log: every move of an order appends one row (who, what, when, data)."""

from kameng.accounts.models import User

from .models import Order, OrderEvent


def append_event(order: Order, type_: str, actor: User | None, now, **data) -> None:
    role = actor.role if actor is not None else "system"
    OrderEvent.objects.create(order=order, type=type_, actor=actor, actor_role=role, data=data, at=now)
