"""After-commit jobs: work that should not run inside a web request (the timer sweep, OCR of
evidence, notification emails, complaint packages).

An app registers each of its jobs with `@job("name")` in a module its AppConfig.ready() imports
(as timer handlers register with `timers.services.handler`), so this bottom layer never imports
the apps above it. `enqueue(name, *args)` sends the job once the current transaction commits: to
Celery when KAMENG_BROKER_URL is set (kameng.ops.tasks has a task `kameng.<name>` for each job),
otherwise it runs in this process (the embedded setup).
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from . import services

log = logging.getLogger(__name__)
JOBS: dict[str, Callable[..., Any]] = {}


def job(name: str):
    """Register `fn` as the job `name` (the Celery task `kameng.<name>`)."""

    def register(fn):
        JOBS[name] = fn
        return fn

    return register


def task_name(name: str) -> str:
    return f"kameng.{name}"


def run(name: str, *args) -> Any:
    """Run job `name` here and now (Celery tasks and the in-process dispatch both come here)."""
    return JOBS[name](*args)


def enqueue(name: str, *args) -> None:
    """Run job `name` once the current transaction has committed (at once outside one)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    transaction.on_commit(lambda: _dispatch(name, args))


def _dispatch(name: str, args: tuple) -> None:
    if settings.BROKER_URL:
        try:
            from kameng.celery import app  # Celery loads only where a broker is set (~0.3 s at start-up)

            app.send_task(task_name(name), args=list(args))
            return
        except Exception:  # the broker is down: do the work here rather than lose it
            log.exception("could not queue %s%r; running it in-process", name, args)
    try:
        run(name, *args)
    except Exception:
        log.exception("job %s%r failed", name, args)


@job("sweep_timers")
def sweep_timers() -> int:
    """Run every due timer. Timers are database rows, so a lost or duplicated trigger loses nothing."""
    return services.sweep()
