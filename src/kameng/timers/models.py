from enum import StrEnum

from django.db import models


class TimerStatus(StrEnum):
    PENDING = "pending"  # waits for due_at; the sweeper runs it once
    DONE = "done"  # its handler ran and committed
    CANCELLED = "cancelled"  # the thing it guarded happened first
    FAILED = "failed"  # the handler raised max_attempts times; needs an operator


class Timer(models.Model):
    kind = models.CharField(max_length=64)
    # What the timer acts on, e.g. "order:12" or "case:7".
    target = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, default=TimerStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    ran_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweeper's only query: pending timers by due time. A partial index keeps
            # finding due timers independent of how many finished ones there are.
            # (due_at, id) is the sweeper's ORDER BY, so taking the next timer never sorts, even
            # when thousands fall due at the same instant.
            models.Index(fields=["due_at", "id"], name="timer_pending_due", condition=models.Q(status="pending")),
            # Cancelling and arming look a target's pending timers up (nothing reads a finished one by
            # target): partial too, so a timer that runs or is cancelled adds no entry to it, and a
            # target's lookup reads pending timers only. (Which of the two partial indexes a cancel
            # uses is the planner's choice, from the table's statistics.)
            models.Index(fields=["target", "kind"], name="timer_pending_target", condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} @ {self.due_at:%Y-%m-%d %H:%M} ({self.status})"
