"""Timer writes held back to go in together.

New targets' timers held back by `timers.new_timers()`: one INSERT as the block ends, inside the
transaction; a cancel in the block drops one; a block that raises writes none.

Cancels held back by `timers.cancels_together()`: on PostgreSQL, inside a transaction, one statement as
the block ends (each kind with its own targets only), or sooner when the block writes or reads a timer,
so a timer scheduled after a cancel is never the one it cancels; elsewhere every cancel runs at once."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kameng.clock.services import now as clock_now
from kameng.timers import services as timers
from kameng.timers.models import Timer

HOLDS = connection.vendor == "postgresql"  # where cancels_together holds cancels back


def _timer(kind: str, target: str) -> Timer:
    now = clock_now()
    return Timer(kind=kind, target=target, due_at=now + timedelta(hours=1), created_at=now)


def _inserts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "timers_timer"')]


def _cancels(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "timers_timer"')]


def _pending() -> list[tuple[str, str]]:
    return sorted(Timer.objects.filter(status="pending").values_list("kind", "target"))


def test_the_timers_of_one_block_are_one_insert_at_its_end(db):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with timers.new_timers():
            timers.arm_new([_timer("a.deadline", "x:1"), _timer("a.reminder", "x:1")])
            timers.arm_new([_timer("b.reminder", "x:1:24")])
            with timers.new_timers():  # nested: the outer block writes
                timers.arm_new([_timer("b.reminder", "x:1:2")])
            assert _inserts(queries) == []
        assert len(_inserts(queries)) == 1
    assert _pending() == [
        ("a.deadline", "x:1"),
        ("a.reminder", "x:1"),
        ("b.reminder", "x:1:2"),
        ("b.reminder", "x:1:24"),
    ]
    assert all(t.pk for t in Timer.objects.all())


def test_a_cancel_in_the_block_drops_a_timer_held_back(db):
    with transaction.atomic(), timers.new_timers():
        timers.arm_new([_timer("a.deadline", "x:1"), _timer("a.reminder", "x:1"), _timer("b.reminder", "x:1:24")])
        timers.cancel_kinds(["a.deadline", "a.reminder"], "x:1")
        timers.cancel_many("b.reminder", ["x:1:2"])  # not held: nothing to drop
    assert _pending() == [("b.reminder", "x:1:24")]
    with transaction.atomic(), timers.new_timers():
        timers.arm_new([_timer("c.deadline", "y:1")])
        timers.cancel("c.deadline", "y:1")
    assert _pending() == [("b.reminder", "x:1:24")]


def test_a_block_that_raises_writes_nothing_and_arm_new_outside_one_writes_at_once(db):
    with pytest.raises(RuntimeError), transaction.atomic(), timers.new_timers():
        timers.arm_new([_timer("a.deadline", "x:1")])
        raise RuntimeError
    assert _pending() == []
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        timers.arm_new([_timer("a.deadline", "x:2")])
        assert len(_inserts(queries)) == 1
    assert _pending() == [("a.deadline", "x:2")]


def test_cancelling_two_kinds_of_one_target_is_one_statement_on_postgresql(db):
    Timer.objects.bulk_create([_timer("a.deadline", "x:1"), _timer("a.reminder", "x:1"), _timer("a.reminder", "x:2")])
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert timers.cancel_kinds(["a.deadline", "a.reminder"], "x:1") == 2
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
    assert _pending() == [("a.reminder", "x:2")]


# ---- cancels_together ----------------------------------------------------------------------------


@pytest.fixture
def armed(db):
    Timer.objects.bulk_create(
        [
            _timer("case.deadline", "case:1"),
            _timer("case.reminder", "case:1"),
            _timer("notify.reminder", "case:1:24"),
            _timer("notify.reminder", "case:1:2"),
            # the same kinds on the other targets: a cross product of the kinds and targets would take these
            _timer("case.deadline", "case:1:24"),
            _timer("notify.reminder", "case:1"),
            _timer("case.deadline", "case:2"),
        ]
    )


def test_the_cancels_of_one_block_are_one_statement_of_their_own_pairs(armed):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with timers.cancels_together():
            timers.cancel_kinds(["case.deadline", "case.reminder"], "case:1")
            timers.cancel_many("notify.reminder", ["case:1:24", "case:1:2"])
            with timers.cancels_together():  # nested: the outer block runs them
                timers.cancel("case.deadline", "case:2")
            if HOLDS:
                assert _cancels(queries) == []
        assert len(_cancels(queries)) == (1 if HOLDS else 5)  # SQLite: each kind and target at once
    assert _pending() == [("case.deadline", "case:1:24"), ("notify.reminder", "case:1")]
    assert set(Timer.objects.exclude(status="pending").values_list("status", flat=True)) == {"cancelled"}


def test_a_timer_scheduled_after_a_held_cancel_of_its_kind_and_target_stays_pending(armed):
    with transaction.atomic(), timers.cancels_together():
        timers.cancel_kinds(["case.deadline", "case.reminder"], "case:1")  # leaving a phase
        timers.schedule("case.reminder", "case:1", clock_now() + timedelta(days=2))  # entering the next one
        timers.cancel("notify.reminder", "case:1:24")
        assert timers.pending("notify.reminder", "case:1:24") is None  # a read sees the cancels held so far
    reminders = Timer.objects.filter(kind="case.reminder", target="case:1").order_by("id")
    assert [t.status for t in reminders] == ["cancelled", "pending"]
    assert ("case.deadline", "case:1") not in _pending()


def test_a_block_that_raises_cancels_nothing_and_a_cancel_outside_one_runs_at_once(armed):
    with pytest.raises(RuntimeError), transaction.atomic(), timers.cancels_together():
        timers.cancel("case.deadline", "case:1")
        raise RuntimeError
    assert ("case.deadline", "case:1") in _pending()
    with transaction.atomic(), timers.cancels_together():
        pass
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert timers.cancel("case.deadline", "case:1") == 1
        assert len(_cancels(queries)) == 1
    assert ("case.deadline", "case:1") not in _pending()
