"""Timer entry point: the daily credit refresh (90-day window moves, cursor catch-up)."""

from datetime import timedelta

from kameng.timers.services import handler, schedule

from . import services


@handler(services.REFRESH_TIMER)
def run_refresh_credit(target, now):
    services.refresh_due_credits(now)
    schedule(services.REFRESH_TIMER, services.REFRESH_TARGET, now + timedelta(days=1), now=now)
