"""Timer and job entry points for refund cases: every phase deadline's timer kind runs the system
action the lifecycle table names for it (each re-checks the case under its lock), the reminder
timer tells whoever must act; notification emails are a job (sent after commit, on Celery when a
broker is configured)."""

from collections.abc import Callable
from datetime import datetime

from django.core.mail import send_mail

from kameng.accounts.models import User
from kameng.orders.lifecycle import WARRANTY_TIMER
from kameng.orders.models import Order
from kameng.orders.notices import ORDER_SUBJECT, on_order_notice
from kameng.orders.services import release_warranty as release_order_warranty
from kameng.policy.services import read_once as read_policy_once
from kameng.timers.jobs import job
from kameng.timers.services import around_batch, batch_handler, handler

from . import inbox, lifecycle, services


def _register(kind: str, run: Callable[[int, datetime], None]) -> None:
    @handler(kind)
    def due(target: str, now: datetime) -> None:
        run(int(target.split(":", 1)[1]), now)


def _expiring(action: str) -> Callable[[int, datetime], None]:
    return lambda case_id, now: services.expire(case_id, action, now)


for _deadline in {d.timer: d for d in lifecycle.DEADLINES}.values():
    _register(_deadline.timer, _expiring(_deadline.fires))
_register(lifecycle.REMINDER_TIMER, services.remind_deadline)
around_batch(read_policy_once)  # a sweep's batch of deadlines reads the policy once, not once per case


@batch_handler(lifecycle.REMINDER_TIMER, early=True)
def remind_all(targets: list[str], now: datetime) -> list[str]:
    """A sweep's case reminders together; the cases it leaves run through remind_deadline."""
    left = services.remind_deadlines([int(t.split(":", 1)[1]) for t in targets], now)
    return [f"case:{pk}" for pk in left]


@batch_handler(lifecycle.MERCHANT_TIMER)
def expire_merchant_deadlines(targets: list[str], now: datetime) -> list[str]:
    """A sweep's merchant deadlines together; the cases it leaves run through the kind's @handler."""
    left = services.expire_merchant_deadlines([int(t.split(":", 1)[1]) for t in targets], now)
    return [f"case:{pk}" for pk in left]


@job("send_notification_email")
def send_notification_email(to: str, subject: str, body: str) -> int:
    return send_mail(subject, body, None, [to], fail_silently=False)


@on_order_notice
def notify_about_order(user: User, order: Order, kind: str, template: str, params: dict, now: datetime) -> None:
    """An order's notice (orders.notices) in the user's notifications, and by email after commit."""
    inbox.deliver(
        user, kind=kind, template=template, params=params, now=now, subject=(ORDER_SUBJECT, {"order": order.number})
    )


@handler(WARRANTY_TIMER)
def release_warranty(target: str, now: datetime) -> None:
    """找回包赔 ended: the kept share goes to the merchant, unless a case holds the order (its closing
    releases it then, orders.services.unfreeze_escrow)."""
    order_id = int(target.split(":", 1)[1])
    if not services.case_holds_order(order_id):
        release_order_warranty(order_id, now)
