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

A pool thread keeps its database connection from one job to the next (a new PostgreSQL connection
per job was three per refund lifecycle). It closes it after a job that failed or left an error on
it, past CONN_MAX_AGE, when a check before the first job after a pause finds it broken, and when
the thread has waited JOB_IDLE_SECONDS for work.
"""

import atexit
import collections
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
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


def enqueue(name: str, *args, hold: float = 0) -> None:
    """Run job `name` once the current transaction has committed (at once outside one).

    `hold`: on the embedded pool, the job waits that many seconds before it is queued, and while
    it waits, the same job with the same arguments is not queued again: one run stands for all of
    them (it starts after their commits). Inline and on Celery, every job runs, at once.
    """
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    transaction.on_commit(lambda: _dispatch(name, args, hold))


def _dispatch(name: str, args: tuple, hold: float = 0) -> None:
    if settings.BROKER_URL:
        try:
            from kameng.celery import app  # Celery loads only where a broker is set (~0.3 s at start-up)

            app.send_task(task_name(name), args=list(args))
            return
        except Exception:  # the broker is down: do the work here rather than lose it
            log.exception("could not queue %s%r; running it in-process", name, args)
    if settings.JOBS_IN_BACKGROUND and _waiting.acquire(blocking=False):
        if _pool().submit(_run_in_background, name, args, hold=hold, key=(name, args) if hold else None) is None:
            _waiting.release()  # the held one will do it
        return
    _run_logged(name, args)


def _run_logged(name: str, args: tuple) -> bool:
    try:
        run(name, *args)
        return True
    except Exception:
        log.exception("job %s%r failed", name, args)
        return False


CHECK_AFTER = 1.0  # seconds without a job after which a kept connection is checked before use


class JobPool:
    """settings.JOB_THREADS threads on one queue, with held jobs (`hold`) kept in a heap until due.
    Every thread keeps its own database connection between jobs (see the module's docstring)."""

    def __init__(self, threads: int):
        self._ready: collections.deque = collections.deque()
        self._held: list = []  # (due on time.monotonic(), sequence, item)
        self._sequence = itertools.count()
        self._held_keys: set = set()  # keys of the held jobs that have not started
        self._unfinished = 0
        self._threads = threads
        self._epoch = 0  # drain(close=True) moves it on: every thread closes its connection once
        self._closed = 0  # threads that have closed theirs for the current epoch
        self._cond = threading.Condition()
        for i in range(threads):
            threading.Thread(target=self._work, name=f"kameng-job_{i}", daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args, hold: float = 0, key=None) -> Future | None:
        """Queue fn(*args), `hold` seconds from now; None (nothing queued) when a held job with the
        same `key` has not started yet."""
        future: Future = Future()
        with self._cond:
            if key is not None:
                if key in self._held_keys:
                    return None
                self._held_keys.add(key)
            self._unfinished += 1
            item = (future, fn, args, key)
            if hold > 0:
                heapq.heappush(self._held, (time.monotonic() + hold, next(self._sequence), item))
            else:
                self._ready.append(item)
            self._cond.notify()
        return future

    def held(self) -> list[tuple]:
        """The arguments of the jobs held and not yet due (tests)."""
        with self._cond:
            return [item[2][2] for item in self._held]

    def drain(self, timeout: float, *, close: bool = False) -> None:
        """Queue the held jobs now, then wait until every job submitted so far has finished; with
        `close`, until every thread has closed its connection too (before the database is dropped)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._held:
                self._ready.append(heapq.heappop(self._held)[2])
            if close:
                self._epoch, self._closed = self._epoch + 1, 0
            self._cond.notify_all()
            while self._unfinished or (close and self._closed < self._threads):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._unfinished} background jobs still running after {timeout} s")
                self._cond.wait(left)

    def _next(self, timeout: float | None, epoch: int):
        """The next job to run; None when `timeout` seconds passed without one, or when drain(close=True)
        asked every thread to close its connection (the epoch moved past `epoch`)."""
        give_up = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                while self._held and self._held[0][0] <= now:
                    self._ready.append(heapq.heappop(self._held)[2])
                if self._ready:
                    item = self._ready.popleft()
                    self._held_keys.discard(item[3])  # from now on a new one is held again
                    return item
                if self._epoch != epoch:  # after the jobs queued before drain(close=True)
                    return None
                wake = [t for t in (give_up, self._held[0][0] if self._held else None) if t is not None]
                if give_up is not None and now >= give_up:
                    return None
                self._cond.wait(min(wake) - now if wake else None)

    def _work(self) -> None:
        last, epoch = time.monotonic(), self._epoch
        while True:
            item = self._next(settings.JOB_IDLE_SECONDS if connection.connection is not None else None, epoch)
            if item is None:
                connection.close()  # the pool idles: do not hold a PostgreSQL backend for nothing
                with self._cond:
                    if epoch != self._epoch:
                        epoch, self._closed = self._epoch, self._closed + 1
                        self._cond.notify_all()
                continue
            future, fn, args, _key = item
            paused = time.monotonic() - last > CHECK_AFTER
            if paused and connection.connection is not None and not connection.is_usable():
                connection.close()  # the server restarted, or dropped us while we waited
            try:
                if future.set_running_or_notify_cancel():
                    future.set_result(fn(*args))
            except BaseException as exc:  # the future carries it to whoever waits on it
                future.set_exception(exc)
            finally:
                last = time.monotonic()
                with self._cond:
                    self._unfinished -= 1
                    self._cond.notify_all()


_executor: JobPool | None = None
_executor_lock = threading.Lock()
_waiting = threading.BoundedSemaphore(max(1, int(getattr(settings, "JOB_QUEUE", 64))))


def _pool() -> JobPool:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = JobPool(settings.JOB_THREADS)
            atexit.register(_executor.drain, 60)  # the threads are daemons: run what is queued before exit
        return _executor


def _run_in_background(name: str, args: tuple) -> None:
    try:
        close_old_connections()  # one that failed last time, or is older than CONN_MAX_AGE
        if not _run_logged(name, args):
            connection.close()  # the job failed: start the next one on a fresh connection
    finally:
        _waiting.release()


def drain(timeout: float = 60, *, close: bool = False) -> None:
    """Wait until every background job queued so far has run, held ones included (tests, and the
    CLI before exit); with `close`, the pool's threads close their database connections too."""
    if close and _executor is None:
        return  # no pool thread has run, none holds a connection
    _pool().drain(timeout, close=close)


@job("sweep_timers")
def sweep_timers() -> int:
    """Run every due timer. Timers are database rows, so a lost or duplicated trigger loses nothing."""
    return services.sweep()
