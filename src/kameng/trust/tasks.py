"""Timer entry points: the daily credit refresh (90-day window moves, cursor catch-up), and one
shop's recount after a case event (the job `trust.refresh_shop` and the timer that backs it up)."""

from datetime import timedelta

from kameng.timers.jobs import job
from kameng.timers.services import around_batch, handler, schedule

from . import services

around_batch(services.known_credit_rows)  # a sweep's batch asks once per shop whether its credit row exists


@handler(services.REFRESH_TIMER)
def run_refresh_credit(target, now):
    services.refresh_due_credits(now)
    schedule(services.REFRESH_TIMER, services.REFRESH_TARGET, now + timedelta(days=1), now=now)


@job(services.SHOP_REFRESH)
def refresh_shop_job(shop_id: int) -> None:
    services.refresh_if_due(shop_id)


@job(services.MARK_DUE)
def mark_due_job(late: list) -> None:
    services.mark_due_after_commit(late)


@handler(services.SHOP_REFRESH)
def run_refresh_shop(target, now):
    services.refresh_if_due(int(target.split(":", 1)[1]), now, force=True)
