"""Timer handlers of the outbox: a retry's timer queues its job again (after the sweep commits)."""

from datetime import datetime

from kameng.timers import jobs
from kameng.timers.services import handler

from . import channels, webhooks


@handler(channels.RETRY_TIMER)
def retry_send(target: str, now: datetime) -> None:
    jobs.enqueue(channels.SEND_JOB, int(target.split(":")[1]))


@handler(webhooks.RETRY_TIMER)
def retry_delivery(target: str, now: datetime) -> None:
    jobs.enqueue(webhooks.DELIVER_JOB, int(target.split(":")[1]))
