"""Timer entry points for refund cases: each reads the case id and calls its service."""
from kameng.timers.services import handler

from . import services


def _case_id(target: str) -> int:
    return int(target.split(":", 1)[1])


@handler(services.MERCHANT_TIMER)
def run_merchant_deadline(target, now):
    services.expire_merchant_deadline(_case_id(target), now)


@handler(services.BUYER_TIMER)
def run_buyer_deadline(target, now):
    services.expire_buyer_deadline(_case_id(target), now)


@handler(services.COMPROMISE_TIMER)
def run_compromise_deadline(target, now):
    services.expire_compromise_deadline(_case_id(target), now)


@handler(services.APPEAL_TIMER)
def run_appeal_window(target, now):
    services.expire_appeal_window(_case_id(target), now)


@handler(services.DECIDE_TIMER)
def run_decide_deadline(target, now):
    services.flag_overdue_decision(_case_id(target), now)


@handler(services.REMINDER_TIMER)
def run_reminder(target, now):
    services.remind_deadline(_case_id(target), now)
