"""Reading and (in test mode) moving the clock."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ClockOffset


def now() -> datetime:
    """The current time as kameng sees it (aware, UTC)."""
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
