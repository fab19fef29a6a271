"""After-commit jobs: work that should not run inside a web request (the timer sweep, OCR of
evidence, notification emails, complaint packages).

An app registers each of its jobs with `@job("name")` in a module its AppConfig.ready() imports
(as timer handlers register with `timers.services.handler`), so this bottom layer never imports
the apps above it. `enqueue(name, *args)` sends the job once the current transaction commits: to
Celery when KAMENG_BROKER_URL is set (kameng.ops.tasks has a task `kameng.<name>` for each job),
otherwise in this process (the embedded setup): on a small pool of background threads
(settings.JOB_THREADS, default 1), so OCR and PDF building never hold up the request that
caused them; with more than settings.JOB_QUEUE jobs waiting, the caller runs its job itself (back
pressure, nothing dropped). JOBS_IN_BACKGROUND=False runs each job at once, in the caller's
thread (the test suite, which reads a job's effect right after the request).
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction

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
    if settings.JOBS_IN_BACKGROUND and _waiting.acquire(blocking=False):
        _pool().submit(_run_in_background, name, args)
        return
    _run_logged(name, args)


def _run_logged(name: str, args: tuple) -> None:
    try:
        run(name, *args)
    except Exception:
        log.exception("job %s%r failed", name, args)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_waiting = threading.BoundedSemaphore(max(1, int(getattr(settings, "JOB_QUEUE", 64))))


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.JOB_THREADS, thread_name_prefix="kameng-job")
        return _executor


def _run_in_background(name: str, args: tuple) -> None:
    try:
        close_old_connections()
        _run_logged(name, args)
    finally:
        _waiting.release()
        connection.close()  # each pool thread has its own connection: do not keep it open idle


def drain(timeout: float = 60) -> None:
    """Wait until every background job queued so far has run (tests, and the CLI before exit)."""
    pool = _pool()
    pool.submit(lambda: None).result(timeout=timeout)
    for _ in range(settings.JOB_THREADS):
        pool.submit(lambda: None).result(timeout=timeout)


@job("sweep_timers")
def sweep_timers() -> int:
    """Run every due timer. Timers are database rows, so a lost or duplicated trigger loses nothing."""
    return services.sweep()
