"""Work that should not run inside a web request: the timer sweep, OCR of evidence, complaint
PDFs and notification emails.

`enqueue(name, *args)` sends a job after the current transaction commits: to Celery when
KAMENG_BROKER_URL is set, otherwise it runs in this process (the embedded setup). The job
functions below are plain functions; kameng.ops.tasks wraps each as a Celery task of the same name.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

log = logging.getLogger(__name__)


def sweep_timers() -> int:
    """Run every due timer. Timers are database rows, so a lost or duplicated trigger loses nothing."""
    from kameng.timers.services import sweep

    return sweep()


def analyse_case(case_id: int):
    """OCR and checks of a case's evidence (kameng.evidence.assist, when installed)."""
    try:
        from kameng.evidence.assist import analyse_case as analyse
    except ImportError:
        log.info("evidence analysis is not available; case %s not analysed", case_id)
        return None
    return analyse(case_id)


def build_complaint(case_id: int, channel: str = "12315"):
    """Pre-build a case's complaint package (kameng.complaints.services.build_complaint, when installed)."""
    try:
        from kameng.complaints.services import build_complaint as build
    except ImportError:
        log.info("complaint packages are not available; case %s not built", case_id)
        return None
    build(case_id, channel)
    return None


def send_notification_email(to: str, subject: str, body: str) -> int:
    return send_mail(subject, body, None, [to], fail_silently=False)


JOBS = {
    "sweep_timers": sweep_timers,
    "analyse_case": analyse_case,
    "build_complaint": build_complaint,
    "send_notification_email": send_notification_email,
}


def task_name(name: str) -> str:
    return f"kameng.{name}"


def enqueue(name: str, *args) -> None:
    """Run job `name` once the current transaction has committed (at once outside one)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    transaction.on_commit(lambda: _dispatch(name, args))


def _dispatch(name: str, args: tuple) -> None:
    if settings.BROKER_URL:
        try:
            from .celery import app

            app.send_task(task_name(name), args=list(args))
            return
        except Exception:  # the broker is down: do the work here rather than lose it
            log.exception("could not queue %s%r; running it in-process", name, args)
    try:
        JOBS[name](*args)
    except Exception:
        log.exception("job %s%r failed", name, args)
