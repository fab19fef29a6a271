"""Celery entry points: each task only reads its arguments and calls the job in kameng.ops.jobs."""

from . import jobs
from .celery import app


@app.task(name="kameng.sweep_timers")
def sweep_timers() -> int:
    return jobs.sweep_timers()


@app.task(name="kameng.analyse_case")
def analyse_case(case_id: int):
    return jobs.analyse_case(case_id)


@app.task(name="kameng.build_complaint")
def build_complaint(case_id: int, channel: str = "12315"):
    return jobs.build_complaint(case_id, channel)


@app.task(name="kameng.send_notification_email", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_notification_email(to: str, subject: str, body: str) -> int:
    return jobs.send_notification_email(to, subject, body)
