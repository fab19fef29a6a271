"""Timers are database rows run by a sweeper: once each, never early, surviving the process that scheduled them."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

from kameng.clock.services import now as clock_now
from kameng.timers import services as timers
from kameng.timers.models import Timer, TimerStatus

RAN: list[str] = []
_lock = threading.Lock()


@timers.handler("test.tally")
def _tally(target, now):
    with _lock:
        RAN.append(target)
    if target.startswith("slow:"):
        time.sleep(0.005)  # widen the window two sweepers could collide in


@timers.handler("test.broken")
def _broken(target, now):
    raise RuntimeError("handler bug")


@timers.handler("test.chain")
def _chain(target, now):
    RAN.append(target)
    timers.schedule("test.tally", f"after:{target}", now, now=now)


@pytest.fixture(autouse=True)
def _fresh_tally():
    RAN.clear()
    yield
    RAN.clear()


def test_a_due_timer_runs_exactly_once(db):
    now = clock_now()
    timer = timers.schedule("test.tally", "order:1", now - timedelta(seconds=1), now=now)
    assert timers.sweep(now) == 1
    assert timers.sweep(now) == 0
    assert timers.sweep(now + timedelta(days=30)) == 0
    assert RAN == ["order:1"]
    timer.refresh_from_db()
    assert timer.status == TimerStatus.DONE
    assert timer.ran_at == now


def test_a_timer_never_runs_early(db):
    now = clock_now()
    timers.schedule("test.tally", "order:2", now + timedelta(hours=1), now=now)
    assert timers.sweep(now + timedelta(minutes=59)) == 0
    assert RAN == []
    assert timers.sweep(now + timedelta(hours=1)) == 1
    assert RAN == ["order:2"]


def test_timers_run_in_due_order(db):
    now = clock_now()
    for minutes, target in ((3, "c"), (1, "a"), (2, "b")):
        timers.schedule("test.tally", target, now + timedelta(minutes=minutes), now=now)
    assert timers.sweep(now + timedelta(minutes=5)) == 3
    assert RAN == ["a", "b", "c"]


def test_rescheduling_replaces_and_cancelling_stops(db):
    now = clock_now()
    timers.schedule("test.tally", "order:3", now, now=now)
    timers.schedule("test.tally", "order:3", now + timedelta(hours=2), now=now)  # replaces the first
    timers.schedule("test.tally", "order:4", now, now=now)
    assert timers.cancel("test.tally", "order:4") == 1
    assert timers.sweep(now + timedelta(hours=1)) == 0
    assert timers.sweep(now + timedelta(hours=3)) == 1
    assert RAN == ["order:3"]
    assert Timer.objects.filter(target="order:4").get().status == TimerStatus.CANCELLED


def test_cancelling_many_targets_stops_exactly_those(db):
    now = clock_now()
    for target in ("case:1:24", "case:1:2", "case:2:24"):
        timers.schedule("test.tally", target, now, now=now)
    with transaction.atomic():  # as the case events' listeners call it (PostgreSQL: one statement)
        assert timers.cancel_many("test.tally", ["case:1:24", "case:1:2", "case:9:2"]) == 2
    assert timers.cancel_many("test.tally", []) == 0
    assert timers.sweep(now) == 1
    assert RAN == ["case:2:24"]
    status = dict(Timer.objects.values_list("target", "status"))
    assert status == {
        "case:1:24": TimerStatus.CANCELLED,
        "case:1:2": TimerStatus.CANCELLED,
        "case:2:24": TimerStatus.DONE,
    }


def test_a_timer_scheduled_by_a_handler_runs_in_the_same_sweep_when_due(db):
    now = clock_now()
    timers.schedule("test.chain", "x", now, now=now)
    assert timers.sweep(now) == 2
    assert RAN == ["x", "after:x"]


def test_a_failing_handler_backs_off_and_never_blocks_the_others(db):
    now = clock_now()
    broken = timers.schedule("test.broken", "case:1", now, now=now)
    timers.schedule("test.tally", "order:5", now, now=now)
    assert timers.sweep(now) == 2
    assert RAN == ["order:5"]
    broken.refresh_from_db()
    assert broken.status == TimerStatus.PENDING
    assert broken.attempts == 1
    assert "handler bug" in broken.last_error
    assert broken.due_at > now
    moment = now
    for _ in range(timers.MAX_ATTEMPTS - 1):
        moment += timedelta(hours=1)
        timers.sweep(moment)
    broken.refresh_from_db()
    assert broken.status == TimerStatus.FAILED
    assert broken.attempts == timers.MAX_ATTEMPTS
    assert timers.sweep(moment + timedelta(days=1)) == 0


def test_a_timer_survives_its_scheduler_and_runs_on_a_later_sweep(transactional_db):
    """Committed rows, not memory: scheduled in one call, found by a sweep in another."""
    now = clock_now()
    timers.schedule("test.tally", "order:6", now + timedelta(minutes=10), now=now)
    # Nothing in this process remembers the timer; only the committed row does.
    assert Timer.objects.filter(target="order:6", status=TimerStatus.PENDING).exists()
    assert timers.sweep(now + timedelta(minutes=5)) == 0
    assert timers.sweep(now + timedelta(minutes=10)) == 1
    assert RAN == ["order:6"]


def test_the_order_release_timer_survives_and_the_worker_runs_it(
    api, buyer, merchant, make_listing, fund, buy, transactional_db
):
    from kameng.cli import main
    from kameng.clock.services import advance

    listing = make_listing(merchant, verification_minutes=30)
    fund(buyer, 9900)
    order = buy(buyer, listing)
    pending = Timer.objects.get(kind="order.release_escrow", target=f"order:{order['id']}")
    assert pending.status == TimerStatus.PENDING
    advance(31 * 60)  # the clock moves; nobody sweeps yet
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "delivered"
    assert main(["worker", "--once", "--quiet"]) == 0
    assert api.get(f"/orders/{order['id']}", token=buyer.token).data["status"] == "completed"
    assert api.get("/wallet", token=merchant.token).data["balance"] == 9900
    pending.refresh_from_db()
    assert pending.status == TimerStatus.DONE


@pytest.mark.postgres
def test_two_sweepers_at_once_run_each_timer_once(postgres):
    now = clock_now()
    targets = [f"slow:{i}" for i in range(40)]
    for target in targets:
        timers.schedule("test.tally", target, now - timedelta(seconds=1), now=now)
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def sweeper():
        try:
            start.wait()
            counts.append(timers.sweep(now))
        except BaseException as exc:  # surface thread failures in the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(RAN) == sorted(targets)  # every timer ran, none twice
    assert sum(counts) == len(targets)
    assert all(c > 0 for c in counts), f"both sweepers should have worked in parallel: {counts}"
    assert Timer.objects.filter(status=TimerStatus.DONE).count() == len(targets)
