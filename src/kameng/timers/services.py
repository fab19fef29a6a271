"""Scheduling, cancelling and sweeping timers.

A handler is registered per kind with @handler("kind"); it receives (target, now) and runs
inside the same transaction that marks the timer done, so a crash leaves the timer pending
and a commit runs it exactly once. Two sweepers never run one timer: on PostgreSQL the row
is taken with SELECT … FOR UPDATE SKIP LOCKED, on SQLite the database write lock serializes.
"""
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction

from kameng.clock.services import now as clock_now

from .models import Timer, TimerStatus

log = logging.getLogger(__name__)
HANDLERS: dict[str, Callable[[str, datetime], None]] = {}
MAX_ATTEMPTS = 5


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def schedule(kind: str, target: str, due_at: datetime, *, now: datetime | None = None) -> Timer:
    """Schedule a timer; an existing pending timer of the same kind and target is replaced."""
    cancel(kind, target)
    return Timer.objects.create(kind=kind, target=target, due_at=due_at, created_at=now or clock_now())


def cancel(kind: str, target: str) -> int:
    """Cancel the pending timer of this kind and target.

    A timer a sweeper holds right now (its row is locked while the handler runs) is skipped,
    not waited for: the sweeper may be waiting for the very lock our caller holds (say a case
    row), and waiting back would deadlock. Handlers re-check their state under that lock, so
    the skipped run finds nothing left to do.
    """
    pending_timers = Timer.objects.filter(kind=kind, target=target, status=TimerStatus.PENDING)
    if connection.features.has_select_for_update_skip_locked and connection.in_atomic_block:
        ids = list(pending_timers.select_for_update(skip_locked=True).values_list("pk", flat=True))
        pending_timers = Timer.objects.filter(pk__in=ids)
    return pending_timers.update(status=TimerStatus.CANCELLED)


def pending(kind: str, target: str) -> Timer | None:
    return Timer.objects.filter(kind=kind, target=target, status=TimerStatus.PENDING).first()


def _take_due(now: datetime) -> Timer | None:
    qs = Timer.objects.filter(status=TimerStatus.PENDING, due_at__lte=now).order_by("due_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return qs.first()


def run_one_due(now: datetime | None = None) -> bool:
    """Run the earliest due timer, if any. Returns whether one was taken."""
    now = now or clock_now()
    with transaction.atomic():
        timer = _take_due(now)
        if timer is None:
            return False
        fn = HANDLERS.get(timer.kind)
        try:
            with transaction.atomic():
                if fn is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                fn(timer.target, now)
        except Exception as exc:  # a failing handler must not block the others
            log.exception("timer %s failed", timer.pk)
            timer.attempts += 1
            timer.last_error = repr(exc)[:2000]
            # Back off so one broken timer cannot starve the sweep.
            timer.due_at = now + timedelta(seconds=60 * timer.attempts)
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status = TimerStatus.FAILED
            timer.save(update_fields=["attempts", "last_error", "status", "due_at"])
        else:
            timer.status = TimerStatus.DONE
            timer.ran_at = now
            timer.save(update_fields=["status", "ran_at"])
    return True


def sweep(now: datetime | None = None, *, limit: int = 100_000) -> int:
    """Run every timer due by `now` (including ones its handlers schedule); returns how many ran."""
    now = now or clock_now()
    ran = 0
    while ran < limit and run_one_due(now):
        ran += 1
    return ran
