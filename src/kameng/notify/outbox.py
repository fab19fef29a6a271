"""The outbox's attempts, shared by notification sendings and webhook deliveries.

A row is written inside the transaction of the event it tells of; its job runs after that commits
(kameng.timers.jobs), does the network call outside any transaction, then records the answer. A
failed attempt arms a timer for the next one with exponential back-off; after 24 h of attempts the
row is `failed` and stays visible in the merchant's log, where "resend" queues it again.
"""

from datetime import datetime, timedelta

from django.db import transaction

from kameng.clock.services import now as clock_now
from kameng.timers import jobs
from kameng.timers import services as timers

from .models import Attempts, SendStatus

# Seconds after each failed attempt: 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h (≈ 24 h in all).
BACKOFF = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800)


def next_delay(attempts: int) -> int | None:
    """Seconds until the attempt after `attempts` failed ones; None once the back-off is spent."""
    return BACKOFF[attempts - 1] if 1 <= attempts <= len(BACKOFF) else None


def queue(row: Attempts, job: str) -> None:
    """Send the row once the current transaction commits."""
    jobs.enqueue(job, row.pk)


def record(
    row: Attempts,
    *,
    ok: bool,
    error: str,
    retry_timer: str,
    extra_fields: tuple[str, ...] = (),
    now: datetime | None = None,
) -> None:
    """Store one attempt's answer; arm the next attempt's timer while back-off remains."""
    now = now or clock_now()
    row.attempts += 1
    row.last_error = "" if ok else error[:500]
    fields = ["attempts", "last_error", "status", "next_attempt_at", "sent_at"]
    with transaction.atomic():
        if ok:
            row.status, row.sent_at, row.next_attempt_at = SendStatus.SENT, now, None
        else:
            delay = next_delay(row.attempts)
            row.status = SendStatus.PENDING if delay is not None else SendStatus.FAILED
            row.next_attempt_at = now + timedelta(seconds=delay) if delay is not None else None
            if row.next_attempt_at is not None:
                timers.schedule(retry_timer, f"{type(row).__name__.lower()}:{row.pk}", row.next_attempt_at, now=now)
        row.save(update_fields=[*fields, *extra_fields])


def resend(row: Attempts, job: str) -> None:
    """The merchant's "resend": a fresh round of attempts (same message id, so receivers can deduplicate)."""
    with transaction.atomic():
        row.status, row.next_attempt_at = SendStatus.PENDING, None
        row.save(update_fields=["status", "next_attempt_at"])
        queue(row, job)


def due(row: Attempts) -> bool:
    """Whether a job for this row should still send it (not sent, not given up)."""
    return row.status == SendStatus.PENDING
