"""Reading and (in test mode) moving the clock; telling a past history (the demo) at stated moments."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ClockOffset

# Set only inside `told_at`: the moment a composed history (kameng demo) is at. Requests never set it.
_told_at: ContextVar[datetime | None] = ContextVar("kameng_told_at", default=None)


def now() -> datetime:
    """The current time as kameng sees it (aware, UTC)."""
    told = _told_at.get()
    if told is not None:
        return told
    real = timezone.now()
    if not settings.TEST_CLOCK:
        return real
    row = ClockOffset.objects.filter(pk=1).values_list("seconds", flat=True).first()
    return real + timedelta(seconds=row or 0)


def advance(seconds: int) -> datetime:
    """Move the test clock forward; only ever called with the test clock enabled."""
    if not settings.TEST_CLOCK:
        raise RuntimeError("the test clock is disabled")
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    with transaction.atomic():
        row, _ = ClockOffset.objects.select_for_update().get_or_create(pk=1)
        row.seconds += seconds
        row.save(update_fields=["seconds"])
    return now()


@contextmanager
def told_at(moment: datetime) -> Iterator[datetime]:
    """Run the enclosed use cases as if it were `moment` (never later than now): every service, timer,
    ledger entry and audit record inside reads it as the clock. For composing a believable past
    through the ordinary services (kameng demo: shops months old, orders before their cases), so
    nothing is written around the services. Timers it leaves due in the past fire at the next sweep."""
    if moment.tzinfo is None:
        raise ValueError("told_at needs an aware datetime")
    real = now()
    if moment > real:
        raise ValueError("a history is told in the past, not the future")
    token = _told_at.set(moment)
    try:
        yield moment
    finally:
        _told_at.reset(token)
