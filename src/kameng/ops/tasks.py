"""Celery entry points: one task per registered job (kameng.timers.jobs), named `kameng.<job>`.
Each only passes its arguments to the job; the work and its retries-by-design live there."""

from kameng.celery import app
from kameng.timers import jobs


@app.task(name="kameng.sweep_timers")
def sweep_timers() -> int:
    return jobs.run("sweep_timers")


@app.task(name="kameng.compact_case_counts")
def compact_case_counts() -> int:
    return jobs.run("compact_case_counts")


@app.task(name="kameng.analyse_case")
def analyse_case(case_id: int):
    return jobs.run("analyse_case", case_id)


@app.task(name="kameng.send_notification_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_notification_email(to: str, subject: str, body: str) -> int:
    return jobs.run("send_notification_email", to, subject, body)


@app.task(name="kameng.build_complaint")
def build_complaint(case_id: int, channel: str) -> str | None:
    # No retries: a package that failed to build ahead is built by the download itself.
    return jobs.run("build_complaint", case_id, channel)


# No Celery retries for the outbox: a failed attempt arms its own back-off timer (kameng.notify.outbox).
@app.task(name="kameng.notify.send")
def notify_send(dispatch_id: int) -> bool:
    return jobs.run("notify.send", dispatch_id)


@app.task(name="kameng.notify.deliver_webhook")
def notify_deliver_webhook(delivery_id: int) -> bool:
    return jobs.run("notify.deliver_webhook", delivery_id)


@app.task(name="kameng.send_payment_refund")
def send_payment_refund(refund_id: int) -> str:
    # No Celery retries: the payment_refund timer sends it again until the gateway confirms.
    return jobs.run("send_payment_refund", refund_id)


@app.task(name="kameng.send_payout")
def send_payout(withdrawal_id: int) -> str:
    # No Celery retries: the withdrawal_payout timer asks again until the gateway answers for good.
    return jobs.run("send_payout", withdrawal_id)


@app.task(name="kameng.trust.refresh_shop")
def trust_refresh_shop(shop_id: int) -> None:
    # No Celery retries: the trust.refresh_shop timer stored with the facts recounts a lost one.
    return jobs.run("trust.refresh_shop", shop_id)


@app.task(name="kameng.trust.mark_due")
def trust_mark_due(late: list) -> None:
    # No Celery retries: the backing timers stored with the facts recount a lost one.
    return jobs.run("trust.mark_due", late)
