"""Scheduling, cancelling and sweeping timers.

A handler is registered per kind with @handler("kind"); it receives (target, now) and runs
inside the same transaction that marks the timer done, so a crash leaves the timer pending
and a commit runs it exactly once. Two sweepers never run one timer: on PostgreSQL the row
is taken with SELECT … FOR UPDATE SKIP LOCKED, on SQLite the database write lock serializes.

`sweep` takes due timers in batches (one transaction, one commit for up to BATCH timers: the
commit's disk flush, not the handlers, is what limits a sweeper). If any handler in a batch
raises, or on PostgreSQL waits more than BATCH_LOCK_TIMEOUT for a row a request holds, the
whole batch rolls back and those timers run one transaction each, as `run_one_due` does. So a
handler may be called again after a rollback, but its effects commit exactly once; side effects
belong in transaction.on_commit, which a rollback discards.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction

from kameng.clock.services import now as clock_now
from kameng.compiled import array_literal, insert_rows

from .models import Timer, TimerStatus

log = logging.getLogger(__name__)
HANDLERS: dict[str, Callable[[str, datetime], None]] = {}
# kind → fn(targets, now) that runs a batch's timers of that kind together and returns the targets it
# left to the kind's one-by-one handler (which the batch then runs, in the same transaction).
BATCH_HANDLERS: dict[str, Callable[[list[str], datetime], list[str]]] = {}
# () → a context each batch runs its handlers in (notify: the merchants' webhook endpoints read once per batch)
AROUND_BATCH: list[Callable[[], AbstractContextManager]] = []
EARLY: set[str] = set()  # kinds whose batch handler runs each bite's timers before the bite's others
MAX_ATTEMPTS = 5
BATCH = {"postgresql": 100, "sqlite": 20}  # SQLite: the batch holds the write lock, keep it short
BATCH_LOCK_TIMEOUT = "100ms"  # a batch never waits long on a request (which may wait on the batch)
BATCH_BITE = 25  # timers locked per query inside a batch
BATCH_SECONDS = 0.25  # and holds what its handlers locked about this long (then it commits)
BATCH_MIN = 10  # but runs at least this many first: one slow handler (a loaded machine) does not make it a batch of one
_batch = threading.local()  # the ids a running batch holds, which were cancelled, and the timer running now


def handler(kind: str):
    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def batch_handler(kind: str, *, early: bool = False):
    """Register fn(targets, now) for a whole batch's timers of `kind` (besides its @handler, which
    `run_one_due` and the targets it leaves still use). It must write exactly what the one-by-one
    handler writes for each target; the batch calls it once, after its other timers ran, so the
    rows it locks are held only for the batch's last statements.

    early=True: it runs each bite's timers of `kind` instead, before the bite's other timers — for
    a handler that locks nothing and reads what a later timer may change (a reminder and the
    deadline it announces, due after it: in the timers' order the reminder sees the case first,
    and is not cancelled by the deadline's move before it ran)."""

    def register(fn):
        BATCH_HANDLERS[kind] = fn
        if early:
            EARLY.add(kind)
        return fn

    return register


def around_batch(context: Callable[[], AbstractContextManager]) -> None:
    """Run every batch's handlers inside `context()` (a higher app's per-batch memo of what its handlers read)."""
    if context not in AROUND_BATCH:
        AROUND_BATCH.append(context)


@contextmanager
def running(kind: str, target: str) -> Iterator[None]:
    """A batch handler doing one target's work as the kind's @handler does it: inside this block
    that work's cancel of the target's own timer is a no-op, as it is for the running handler (the
    sweep marks the timer done as it commits)."""
    _batch.running = (kind, target)
    try:
        yield
    finally:
        _batch.running = None


_new = threading.local()  # the new timers an open `new_timers()` block holds back, to write them together


@contextmanager
def new_timers() -> Iterator[None]:
    """Inside a transaction: the timers `arm_new` is given in this block (new targets' timers from
    several apps: a case opening's deadline and reminder, the merchant's two reminders) are inserted
    together in one statement as the block ends, still inside the transaction; a `cancel` of one of
    them in the block drops it. Nothing is held back when the block raises (its transaction rolls
    back). Not for a block that rolls back to a savepoint inside it and goes on (none does): the
    timers held back there would still be written. A nested block adds to the outer one."""
    if getattr(_new, "timers", None) is not None:
        yield
        return
    _new.timers = []
    try:
        yield
        held, _new.timers = _new.timers, None
        _insert(held)
    finally:
        _new.timers = None


def arm_new(timers: list[Timer]) -> None:
    """Pending timers of targets created in this transaction (so none of theirs can be pending yet, and
    `schedule`'s cancel is not needed): inserted at once in one fixed-text statement, or with the
    others of an open `new_timers()` block when it ends."""
    held = getattr(_new, "timers", None)
    if held is not None:
        held.extend(timers)
    else:
        _insert(timers)


def _insert(timers: list[Timer]) -> None:
    if timers:
        _run_held_cancels()  # a held cancel must not reach a timer written after it
        insert_rows(Timer, timers)  # bulk_create's rows, in fixed text (kameng.compiled)


_cancels = threading.local()  # the cancels an open `cancels_together()` block holds back: (kind, target) pairs


@contextmanager
def cancels_together() -> Iterator[None]:
    """Inside a transaction on PostgreSQL: the cancels in this block (from several apps: a case leaving
    a phase cancels its deadline and reminder, and notify, hearing of it, the merchant's two reminders)
    run as one statement as the block ends, still inside the transaction, instead of one each. They run
    sooner when the block writes or reads a timer (`schedule`, `arm_new`, `pending`): the timer written
    after a cancel is never the one it cancels. Elsewhere (SQLite, outside a transaction) every cancel
    runs at once. Nothing is held back when the block raises (its transaction rolls back). Not for a
    block that rolls back to a savepoint inside it and goes on (none does). A nested block adds to the
    outer one."""
    if getattr(_cancels, "pairs", None) is not None or not (
        connection.vendor == "postgresql" and connection.in_atomic_block
    ):
        yield
        return
    _cancels.pairs = {}
    try:
        yield
        _run_held_cancels()
    finally:
        _cancels.pairs = None


def _hold_cancels(kinds: list[str], targets: list[str]) -> bool:
    """Hold back the cancel of these kinds and targets (each kind of each target) in an open
    `cancels_together()` block: True when there is one."""
    pairs = getattr(_cancels, "pairs", None)
    if pairs is None:
        return False
    for kind in kinds:
        for target in targets:
            pairs[kind, target] = None
    return True


def _run_held_cancels() -> None:
    pairs = getattr(_cancels, "pairs", None)
    if not pairs:
        return
    held = list(pairs)
    pairs.clear()
    kinds, targets = list(dict.fromkeys(k for k, _ in held)), list(dict.fromkeys(t for _, t in held))
    if len(kinds) == 1 or len(targets) == 1:  # every pair of the kinds and targets: the plain statement
        _cancel_in_one_statement(kinds, targets)
    else:
        _cancel_pairs(held)


def _drop_collected(kinds: list[str], targets: list[str]) -> None:
    held = getattr(_new, "timers", None)
    if held:
        held[:] = [t for t in held if not (t.kind in kinds and t.target in targets)]


def schedule(kind: str, target: str, due_at: datetime, *, now: datetime | None = None, replace: bool = True) -> Timer:
    """Schedule a timer; an existing pending timer of the same kind and target is replaced.
    replace=False: the caller knows there is none (its target was created in this transaction)."""
    if replace:
        cancel(kind, target)
    timer = Timer(kind=kind, target=target, due_at=due_at, created_at=now or clock_now())
    _insert([timer])  # the INSERT `create` writes, in fixed text
    return timer


def cancel(kind: str, target: str) -> int:
    """Cancel the pending timer of this kind and target.

    A timer a sweeper holds right now (its row is locked while the handler runs) is skipped,
    not waited for: the sweeper may be waiting for the very lock our caller holds (say a case
    row), and waiting back would deadlock. Handlers re-check their state under that lock, so
    the skipped run finds nothing left to do.
    """
    if getattr(_batch, "running", None) == (kind, target):
        # A handler cancelling its own timer (leaving the state that armed it): the sweep marks that
        # timer done as it commits, and schedule() keeps one pending timer per kind and target.
        return 0
    _drop_collected([kind], [target])
    if _hold_cancels([kind], [target]):
        return 0  # cancelled as the block ends
    held = getattr(_batch, "held", None)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        return _cancel_in_one_statement([kind], [target])
    pending_timers = Timer.objects.filter(kind=kind, target=target, status=TimerStatus.PENDING)
    if connection.features.has_select_for_update_skip_locked and connection.in_atomic_block:
        ids = list(pending_timers.select_for_update(skip_locked=True).values_list("pk", flat=True))
        pending_timers = Timer.objects.filter(pk__in=ids)
    elif held:
        ids = list(pending_timers.values_list("pk", flat=True))
        pending_timers = Timer.objects.filter(pk__in=ids)
    if held:
        _batch.cancelled.update(set(ids) & held)  # a handler cancelled a timer of its own batch: skip it
    return pending_timers.update(status=TimerStatus.CANCELLED)


def cancel_kinds(kinds: list[str], target: str) -> int:
    """`cancel` of several kinds of one target (a case phase's deadline and its reminder): one statement
    on PostgreSQL."""
    kinds = [k for k in kinds if getattr(_batch, "running", None) != (k, target)]
    _drop_collected(kinds, [target])
    if _hold_cancels(kinds, [target]):
        return 0  # cancelled as the block ends
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        return _cancel_in_one_statement(kinds, [target]) if kinds else 0
    return sum(cancel(kind, target) for kind in kinds)


def cancel_many(kind: str, targets: list[str]) -> int:
    """`cancel` for several targets of one kind (a case's two reminders): one statement on PostgreSQL."""
    targets = [t for t in targets if getattr(_batch, "running", None) != (kind, t)]
    _drop_collected([kind], targets)
    if _hold_cancels([kind], targets):
        return 0  # cancelled as the block ends
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        return _cancel_in_one_statement([kind], targets) if targets else 0
    return sum(cancel(kind, target) for target in targets)


def _cancel_in_one_statement(kinds: list[str], targets: list[str]) -> int:
    """PostgreSQL, in a transaction: the pending timers of these kinds and targets nobody else holds,
    cancelled; how many."""
    table = connection.ops.quote_name(Timer._meta.db_table)
    kind = "kind = %s" if len(kinds) == 1 else "kind = ANY(%s)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE id IN (SELECT id FROM {table} WHERE {kind} AND "
            f"target = ANY(%s) AND status = %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [TimerStatus.CANCELLED.value, kinds[0] if len(kinds) == 1 else kinds, targets, TimerStatus.PENDING.value],
        )
        return _cancelled([row[0] for row in cursor.fetchall()])


def _cancel_pairs(pairs: list[tuple[str, str]]) -> int:
    """`_cancel_in_one_statement` of these (kind, target) pairs: each kind with its own targets only
    (the two arrays as one string each, `array_literal`)."""
    table = connection.ops.quote_name(Timer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE id IN (SELECT t.id FROM {table} t "
            f"JOIN unnest(%s::text[], %s::text[]) AS w(kind, target) ON t.kind = w.kind AND t.target = w.target "
            f"WHERE t.status = %s FOR UPDATE OF t SKIP LOCKED) RETURNING id",
            [
                TimerStatus.CANCELLED.value,
                array_literal([k for k, _ in pairs]),
                array_literal([t for _, t in pairs]),
                TimerStatus.PENDING.value,
            ],
        )
        return _cancelled([row[0] for row in cursor.fetchall()])


def _cancelled(ids: list[int]) -> int:
    """How many timers a cancel statement cancelled; those of a running batch are noted there, so it skips them."""
    held = getattr(_batch, "held", None)
    if held:
        _batch.cancelled.update(set(ids) & held)  # a handler cancelled a timer of its own batch: skip it
    return len(ids)


def pending(kind: str, target: str) -> Timer | None:
    _run_held_cancels()
    return Timer.objects.filter(kind=kind, target=target, status=TimerStatus.PENDING).first()


def _take_due(now: datetime) -> Timer | None:
    qs = Timer.objects.filter(status=TimerStatus.PENDING, due_at__lte=now).order_by("due_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return qs.first()


def next_due(until: datetime) -> datetime | None:
    """When the earliest pending timer due by `until` is due (None: none is)."""
    return (
        Timer.objects.filter(status=TimerStatus.PENDING, due_at__lte=until)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


def lag_seconds(now: datetime | None = None) -> float:
    """How long the oldest due timer has waited to run (0 when none is due): a stopped or stuck
    sweeper shows here (/healthz, /metrics)."""
    now = now or clock_now()
    oldest = next_due(now)
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def run_one_due(now: datetime | None = None) -> bool:
    """Run the earliest due timer, if any. Returns whether one was taken."""
    now = now or clock_now()
    with transaction.atomic():
        timer = _take_due(now)
        if timer is None:
            return False
        fn = HANDLERS.get(timer.kind)
        try:
            with transaction.atomic():
                if fn is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                _batch.running = (timer.kind, timer.target)
                try:
                    fn(timer.target, now)
                finally:
                    _batch.running = None
        except Exception as exc:  # a failing handler must not block the others
            log.exception("timer %s failed", timer.pk)
            timer.attempts += 1
            timer.last_error = repr(exc)[:2000]
            # Back off so one broken timer cannot starve the sweep.
            timer.due_at = now + timedelta(seconds=60 * timer.attempts)
            if timer.attempts >= MAX_ATTEMPTS:
                timer.status = TimerStatus.FAILED
            timer.save(update_fields=["attempts", "last_error", "status", "due_at"])
        else:
            timer.status = TimerStatus.DONE
            timer.ran_at = now
            timer.save(update_fields=["status", "ran_at"])
    return True


class Due(NamedTuple):
    """A timer a batch took: what running it needs (a bite's rows, without a model instance each)."""

    pk: int
    kind: str
    target: str


def _take_due_bite(now: datetime, count: int, exclude: set[int]) -> list[Due]:
    """Up to `count` due timers, earliest first, locked (those another sweeper holds skipped), but
    the batch's own (`exclude`): one statement written once, not a queryset compiled per bite."""
    with connection.cursor() as cursor:
        cursor.execute(*take_due_statement(now, count, exclude))
        return [Due(*row) for row in cursor.fetchall()]


def take_due_statement(now: datetime, count: int, exclude: set[int]) -> tuple[str, list]:
    """`_take_due_bite`'s SQL and parameters (tests/ops/test_indexes.py asks the planner about it)."""
    table = connection.ops.quote_name(Timer._meta.db_table)
    params: list = [TimerStatus.PENDING.value, connection.ops.adapt_datetimefield_value(now)]
    if connection.vendor == "postgresql":
        others, lock = 'NOT ("id" = ANY(%s))', " FOR UPDATE SKIP LOCKED"
        params.append(sorted(exclude))
    else:  # SQLite: no row locks (its write lock serializes sweepers), no arrays
        others, lock = f'"id" NOT IN ({", ".join(["%s"] * len(exclude))})' if exclude else "1 = 1", ""
        params += sorted(exclude)
    return (
        f'SELECT "id", "kind", "target" FROM {table} WHERE "status" = %s AND "due_at" <= %s AND {others} '
        f'ORDER BY "due_at", "id" LIMIT %s{lock}',
        [*params, count],
    )


def _run(timer: Due, now: datetime) -> int:
    """One timer's handler inside a batch; returns its id."""
    fn = HANDLERS.get(timer.kind)
    if fn is None:
        raise LookupError(f"no handler for timer kind {timer.kind!r}")
    _batch.running = (timer.kind, timer.target)
    fn(timer.target, now)
    _batch.running = None
    return timer.pk


def _run_together(kind: str, group: list[Due], now: datetime) -> list[int]:
    """A batch's timers of one kind through its batch handler (then the targets it left, one by one);
    returns the ids of those that ran."""
    group = [t for t in group if t.pk not in _batch.cancelled]
    left = set(BATCH_HANDLERS[kind]([t.target for t in group], now)) if group else set()
    ran = []
    for timer in group:
        if timer.target in left and timer.pk not in _batch.cancelled:
            _run(timer, now)
        if timer.pk not in _batch.cancelled:
            ran.append(timer.pk)
    return ran


def _by_kind(timers: list[Due]) -> dict[str, list[Due]]:
    groups: dict[str, list[Due]] = {}
    for timer in timers:
        groups.setdefault(timer.kind, []).append(timer)
    return groups


def run_due_batch(now: datetime, size: int) -> int | None:
    """Run up to `size` due timers in one transaction and mark them done together.

    Stops early after BATCH_SECONDS once BATCH_MIN ran: timers taken but not reached stay pending
    for the next batch. Timers of a kind with a batch handler run last, together, or (early kinds) first
    in their bite (see batch_handler).
    Returns how many were dealt with (0: none due), or None when the batch rolled back (a handler
    raised or waited too long for a lock); the caller then runs them one by one.
    """
    if not _any_due(now):  # the common idle case: one statement, no transaction
        return 0
    try:
        with transaction.atomic(), ExitStack() as around:
            for context in AROUND_BATCH:
                around.enter_context(context())
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{BATCH_LOCK_TIMEOUT}'")
            ran, dealt, started = [], 0, time.monotonic()
            together: dict[str, list[Due]] = {}  # the timers a batch handler runs, by kind
            _batch.held, _batch.cancelled = set(), set()

            def out_of_time() -> bool:
                return dealt >= BATCH_MIN and time.monotonic() - started > BATCH_SECONDS

            while dealt < size and not out_of_time():
                # Small bites, so a second sweeper finds unlocked due timers beside this one.
                bite = _take_due_bite(now, min(BATCH_BITE, size - dealt), exclude=_batch.held)
                if not bite:
                    break
                _batch.held.update(t.pk for t in bite)
                early = [t for t in bite if t.kind in EARLY]
                for kind, group in _by_kind(early).items():
                    ran += _run_together(kind, group, now)
                dealt += len(early)
                for timer in bite:
                    if timer.kind in EARLY:
                        continue
                    if out_of_time():
                        break  # taken but not reached: stays pending for the next batch
                    dealt += 1
                    if timer.kind in BATCH_HANDLERS:
                        together.setdefault(timer.kind, []).append(timer)
                        continue
                    if timer.pk not in _batch.cancelled:
                        ran.append(_run(timer, now))
            for kind, group in together.items():
                ran += _run_together(kind, group, now)
            Timer.objects.filter(pk__any=ran).update(status=TimerStatus.DONE, ran_at=now)
    except Exception:
        log.info("timer batch rolled back; running its timers one by one", exc_info=True)
        return None
    finally:
        _batch.held = _batch.cancelled = _batch.running = None
    return dealt


def _any_due(now: datetime) -> bool:
    """Whether a pending timer is due by `now`: what an idle sweeper asks each interval, so one
    statement written once (the ORM's compiling of it was two thirds of an idle sweep's time). ORDER BY due_at
    keeps it on the partial index timer_pending_due whatever the statistics say (with stale ones, a
    plain EXISTS may scan the table)."""
    with connection.cursor() as cursor:
        cursor.execute(*any_due_statement(now))
        return cursor.fetchone() is not None


def any_due_statement(now: datetime) -> tuple[str, list]:
    """`_any_due`'s SQL and parameters (tests/ops/test_indexes.py asks the planner about it)."""
    table = connection.ops.quote_name(Timer._meta.db_table)
    return (
        f'SELECT 1 FROM {table} WHERE "status" = %s AND "due_at" <= %s ORDER BY "due_at" LIMIT 1',
        [TimerStatus.PENDING.value, connection.ops.adapt_datetimefield_value(now)],
    )


def sweep(now: datetime | None = None, *, limit: int = 100_000, batch: int | None = None) -> int:
    """Run every timer due by `now` (including ones its handlers schedule); returns how many ran."""
    now = now or clock_now()
    size = batch or BATCH.get(connection.vendor, 20)
    ran = 0
    while ran < limit:
        dealt = run_due_batch(now, min(size, limit - ran))
        if dealt == 0:
            break
        if dealt is None:  # one of them fails or is contended: one transaction each
            for _ in range(min(size, limit - ran)):
                if not run_one_due(now):
                    break
                ran += 1
            continue
        ran += dealt
    return ran
