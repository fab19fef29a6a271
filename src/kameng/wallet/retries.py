"""Gateway calls that must happen, tried until the gateway gives a final answer (refunds, payouts).

The call itself runs in a job after the booking commits; a timer per object sends the job again
with a doubling wait (2 min, 4 min, … at most 1 h) until the object leaves `pending`.
"""

from datetime import datetime, timedelta

from django.db.models import F

from kameng.timers import jobs
from kameng.timers import services as timers

FIRST_WAIT = timedelta(minutes=2)
MAX_WAIT = timedelta(hours=1)
PENDING = "pending"  # the status both PaymentRefund and Withdrawal start in


def note_gateway_error(model, pk: int, exc: Exception) -> None:
    """The gateway could not answer: count the attempt and keep why (the timer tries again)."""
    model.objects.filter(pk=pk, status=PENDING).update(attempts=F("attempts") + 1, last_error=str(exc)[:500])


def try_again(timer_kind: str, job: str, pk: int, attempts: int, now: datetime) -> None:
    """Arm the next try and send the job once the current transaction commits."""
    wait = min(FIRST_WAIT * 2 ** min(attempts, 10), MAX_WAIT)
    timers.schedule(timer_kind, str(pk), now + wait, now=now)
    jobs.enqueue(job, pk)
