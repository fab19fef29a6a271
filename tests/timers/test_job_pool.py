"""The embedded job pool: its threads keep their database connection between jobs, let it go after a
failure, when idle and when asked to, and held jobs wait until due or until drain()."""

import pytest
from django.db import connection, transaction

from kameng.timers import jobs


@pytest.fixture
def background(settings):
    settings.JOBS_IN_BACKGROUND = True
    registered = []

    def register(name, fn):
        jobs.job(name)(fn)
        registered.append(name)

    yield register
    jobs.drain(close=True)
    for name in registered:
        jobs.JOBS.pop(name, None)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_job_thread_runs_its_next_job_on_the_same_connection(background, postgres):
    pids = []
    background("test.pid", lambda: pids.append(backend_pid()))
    for _ in range(3):
        jobs.enqueue("test.pid")
    jobs.drain()
    assert len(pids) == 3 and len(set(pids)) == 1  # one backend, not one per job


def test_a_failed_job_leaves_the_next_one_a_fresh_connection(background, postgres):
    pids = []

    def fail():
        pids.append(backend_pid())
        raise RuntimeError("job broke")

    background("test.fail", fail)
    background("test.pid", lambda: pids.append(backend_pid()))
    jobs.enqueue("test.fail")
    jobs.enqueue("test.pid")
    jobs.drain()
    assert len(pids) == 2 and pids[0] != pids[1]


def connection_open_after(background, between) -> bool:
    """Whether the job thread that ran one job still holds its connection for the next, after `between()`."""
    seen = []
    background("test.pid", lambda: seen.append(backend_pid()))
    background("test.open", lambda: seen.append(connection.connection is not None))
    jobs.enqueue("test.pid")
    between()
    jobs.enqueue("test.open")
    jobs.drain()
    return seen[1]


def test_a_job_thread_closes_its_connection_after_waiting_idle(background, postgres, settings):
    import time

    settings.JOB_IDLE_SECONDS = 0.05

    def idle():
        jobs.drain()
        time.sleep(0.5)  # ten idle periods: the thread has given its connection back

    assert connection_open_after(background, idle) is False


def test_drain_close_makes_every_job_thread_give_back_its_connection(background, postgres):
    assert connection_open_after(background, lambda: jobs.drain(close=True)) is False


def test_a_job_whose_connection_broke_while_it_waited_runs_on_a_new_one(background, postgres):
    import time

    pids = []
    background("test.pid", lambda: pids.append(backend_pid()))
    jobs.enqueue("test.pid")
    jobs.drain()
    with connection.cursor() as cursor:  # the server drops the pool thread's backend
        cursor.execute("SELECT pg_terminate_backend(%s)", [pids[0]])
    time.sleep(jobs.CHECK_AFTER + 0.1)  # past the pause after which a kept connection is checked
    jobs.enqueue("test.pid")
    jobs.drain()
    assert len(pids) == 2 and pids[1] != pids[0]


@pytest.mark.django_db(transaction=True)
def test_a_held_job_waits_and_drain_runs_it_at_once(background):
    ran = []
    background("test.held", lambda n: ran.append(n))
    with transaction.atomic():
        jobs.enqueue("test.held", 7, hold=60)
    assert jobs._pool().held() == [("test.held", (7,))]
    assert ran == []
    jobs.drain()
    assert ran == [7] and jobs._pool().held() == []


@pytest.mark.django_db(transaction=True)
def test_inline_jobs_ignore_the_hold(settings):
    settings.JOBS_IN_BACKGROUND = False
    ran = []
    jobs.job("test.held")(lambda: ran.append(1))
    try:
        jobs.enqueue("test.held", hold=60)
        assert ran == [1]
    finally:
        jobs.JOBS.pop("test.held", None)
