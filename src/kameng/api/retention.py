"""How long the API keeps what it stores for callers: Idempotency-Key answers (at least 24 h,
contract v1.1) and the rows of expired tokens. One hourly timer purges both."""

from datetime import datetime, timedelta

from django.conf import settings

from kameng.accounts.services import purge_expired_tokens
from kameng.timers import services as timers

from .models import IdempotencyRecord

PURGE_TIMER = "api.purge_idempotency"
PURGE_TARGET = "api"
PURGE_EVERY = timedelta(hours=1)


def retention() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)


def ensure_purge_timer(now: datetime) -> None:
    """Called when a key is stored: the purge runs while there is anything to purge."""
    if timers.pending(PURGE_TIMER, PURGE_TARGET) is None:
        timers.schedule(PURGE_TIMER, PURGE_TARGET, now + PURGE_EVERY, now=now)


def purge(now: datetime) -> int:
    """Delete answers older than the retention and rows of expired tokens; returns the answers deleted."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=now - retention()).delete()
    purge_expired_tokens()
    return deleted


@timers.handler(PURGE_TIMER)
def run_purge(target: str, now: datetime) -> None:
    purge(now)
    if IdempotencyRecord.objects.exists():
        timers.schedule(PURGE_TIMER, PURGE_TARGET, now + PURGE_EVERY, now=now)
