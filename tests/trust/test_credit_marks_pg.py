"""A shop's case events never wait for its stored credit row (PostgreSQL, real connections).

Each case transaction here runs on a thread with its own connection and `SET LOCAL lock_timeout`, so a
case event that waited for the row would fail the test with LockNotAvailable, not make it slow. The
other side (a case transaction or a recount) is held open by the test until the first has marked.
"""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from kameng.catalog.models import Shop
from kameng.clock.services import now as clock_now
from kameng.timers.models import Timer
from kameng.timers.services import HANDLERS, schedule, sweep
from kameng.trust import rules, services
from kameng.trust.models import CreditFact, MerchantCredit

pytestmark = pytest.mark.postgres
NO_WAIT = "SET LOCAL lock_timeout = '200ms'"  # a wait for a row lock fails the statement


class Held(threading.Thread):
    """`work()` on a thread of its own (its own connection), inside one transaction that stays open
    after `work` until `release()`; `ready` is set once `work` returned. Errors reach `join_checked`."""

    def __init__(self, work, *, no_wait=False):
        super().__init__(daemon=True)
        self.work, self.no_wait = work, no_wait
        self.ready, self.go = threading.Event(), threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            with transaction.atomic():
                if self.no_wait:
                    with connection.cursor() as cursor:
                        cursor.execute(NO_WAIT)
                self.work()
                self.ready.set()
                assert self.go.wait(60), "never released"
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.ready.set()
            connection.close()

    def started(self):
        self.start()
        assert self.ready.wait(60), "the held transaction never got going"
        assert self.error is None, self.error
        return self

    def release(self):
        self.go.set()

    def join_checked(self):
        self.join(60)
        assert not self.is_alive(), "hung"
        assert self.error is None, self.error


class HeldRecount(threading.Thread):
    """The recount job on a thread of its own, held after it read the facts and before it stores the
    row (`store()` lets it go on): what it stores misses any fact committed meanwhile."""

    def __init__(self, shop_id: int, monkeypatch):
        super().__init__(daemon=True, target=lambda: (services.refresh_if_due(shop_id), connection.close()))
        self.read_facts, self.go = threading.Event(), threading.Event()
        score = rules.credit_score

        def held_score(*args, **kwargs):
            if threading.current_thread() is self:
                self.read_facts.set()
                assert self.go.wait(60)
            return score(*args, **kwargs)

        monkeypatch.setattr(rules, "credit_score", held_score)

    def started(self):
        self.start()
        assert self.read_facts.wait(60)
        return self

    def store(self):
        self.go.set()
        self.join(60)


def _case_event(shop_id: int, n: int):
    """What record_case_event does for an opening: a new fact of the shop, and its credit marked due."""

    def work():
        now = clock_now()
        services.record_facts([(now, [CreditFact(shop_id=shop_id, kind="case", at=now, key=f"case:test-{n}")])])

    return work


def _committed(work) -> None:
    held = Held(work).started()
    held.release()
    held.join_checked()


def _stored(shop_id: int) -> MerchantCredit:
    return MerchantCredit.objects.get(shop_id=shop_id)


@pytest.fixture
def counted(postgres, merchant, shop, monkeypatch):
    """A shop whose stored credit is current (not due) and counts no case yet. The recount jobs the case
    events queue do not run (the tests run the recounts they mean: the jobs would run at each commit);
    the after-commit marks (`trust.mark_due`) do, at each commit."""
    enqueue = services.jobs.enqueue
    monkeypatch.setattr(
        services.jobs,
        "enqueue",
        lambda name, *args, **kwargs: None if name == services.SHOP_REFRESH else enqueue(name, *args, **kwargs),
    )
    shop(merchant)
    shop_id = int(merchant.shop_id)
    services.refresh_shop(shop_id, clock_now())
    assert _stored(shop_id).cases_90d == 0 and _stored(shop_id).refresh_due_at > clock_now()
    return shop_id


def test_a_case_event_does_not_wait_while_another_case_event_of_the_shop_is_marking_its_credit(counted):
    first = Held(_case_event(counted, 1)).started()  # marks the row due, its transaction still open
    second = Held(_case_event(counted, 2), no_wait=True)
    second.start()
    assert second.ready.wait(60)
    assert second.error is None, second.error  # it marked without waiting for the first
    second.release()  # it commits (and, after its commit, waits for the first to settle the row)
    first.release()
    first.join_checked()
    second.join_checked()
    assert _stored(counted).refresh_due_at <= clock_now()  # due: a reader recounts it
    services.refresh_if_due(counted)
    assert _stored(counted).cases_90d == 2


def test_a_case_event_does_not_wait_for_a_recount_and_its_facts_are_counted_after_it(counted, monkeypatch):
    # The recount is held after it read the facts (before the case event committed) and before it
    # stores the row: what it stores misses the second case, so the row must become due again.
    _committed(_case_event(counted, 1))  # the row is due
    recount = HeldRecount(counted, monkeypatch).started()
    second = Held(_case_event(counted, 2), no_wait=True).started()  # the recount holds the row
    second.release()  # commits; after its commit it waits for the recount, then marks the row due
    recount.store()
    second.join_checked()
    stored = _stored(counted)
    assert stored.cases_90d == 1  # the recount counted the first case only …
    assert stored.refresh_due_at <= clock_now()  # … and the row is due again for the second
    services.refresh_if_due(counted)
    assert _stored(counted).cases_90d == 2


def test_a_recount_waits_for_every_case_event_that_found_the_credit_due(counted):
    _committed(_case_event(counted, 1))  # the row is due now
    later = Held(_case_event(counted, 2), no_wait=True).started()  # finds it due: takes it FOR KEY SHARE
    with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(NO_WAIT)
        services.refresh_shop(counted, clock_now())  # would count without the open case's fact
    later.release()
    later.join_checked()
    services.refresh_if_due(counted)
    assert _stored(counted).cases_90d == 2


def test_when_the_after_commit_mark_is_lost_the_backing_timer_recounts(counted, monkeypatch):
    _committed(_case_event(counted, 1))
    recount = HeldRecount(counted, monkeypatch).started()
    lost = []
    monkeypatch.setattr(services, "mark_due_after_commit", lost.append)  # the process dies at the commit
    second = Held(_case_event(counted, 2), no_wait=True).started()
    second.release()
    second.join_checked()
    recount.store()
    assert lost  # it was left to after the commit …
    stored = _stored(counted)
    assert stored.cases_90d == 1 and stored.refresh_due_at > clock_now()  # … so the row shows no sign of it
    target = f"shop:{counted}"
    assert Timer.objects.filter(kind=services.SHOP_REFRESH, target=target, status="pending").exists()
    sweep(clock_now() + services.SHOP_REFRESH_DELAY)  # the timer stored with its facts recounts
    assert _stored(counted).cases_90d == 2
    assert not Timer.objects.filter(kind=services.SHOP_REFRESH, target=target, status="pending").exists()


def test_a_reader_of_a_due_credit_does_not_wait_for_the_case_events_holding_it(counted):
    _committed(_case_event(counted, 1))  # the row is due
    open_case = Held(_case_event(counted, 2), no_wait=True).started()  # holds it FOR KEY SHARE
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(NO_WAIT)  # a reader that waited for the row would fail here
        shown = services.current_credit(Shop.objects.get(pk=counted))
    assert shown.cases_90d == 1  # the committed facts, counted as they stand
    assert _stored(counted).cases_90d == 0 and _stored(counted).refresh_due_at <= clock_now()  # left to the recount
    open_case.release()
    open_case.join_checked()
    services.refresh_if_due(counted)
    assert _stored(counted).cases_90d == 2
    assert services.current_credit(Shop.objects.get(pk=counted)).cases_90d == 2


def _shop_timers(shop_id: int) -> list[Timer]:
    return list(Timer.objects.filter(kind=services.SHOP_REFRESH, target=f"shop:{shop_id}", status="pending"))


@pytest.mark.parametrize("force", [False, True], ids=["the job", "the timer"])
def test_a_recount_kept_from_the_credit_row_by_a_busy_shop_stops_waiting_and_tries_again_later(
    counted, monkeypatch, force
):
    # A busy shop's case events hold its row FOR KEY SHARE one after another, and each newcomer gets in
    # beside the others while the recount's FOR UPDATE waits: that wait may never end. Here one case
    # transaction stays open past the recount's bounded wait.
    monkeypatch.setattr(services, "RECOUNT_LOCK_WAIT", "200ms")
    _committed(_case_event(counted, 1))  # the row is due, its backing timer pending
    open_case = Held(_case_event(counted, 2), no_wait=True).started()
    now = clock_now()
    assert services.refresh_if_due(counted, now, force=force) is None  # gave up instead of waiting
    stored = _stored(counted)
    assert stored.cases_90d == 0 and stored.refresh_due_at <= now  # nothing stored: still due for readers
    (retry,) = _shop_timers(counted)  # the backing timer, moved to the retry
    assert retry.due_at == now + services.SHOP_REFRESH_RETRY and retry.attempts == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        assert cursor.fetchone() == ("0",)  # the bound ended with the recount's transaction
    open_case.release()
    open_case.join_checked()
    sweep(now + services.SHOP_REFRESH_DELAY)  # the retry (and the second case's timer) recount
    assert _stored(counted).cases_90d == 2 and _stored(counted).refresh_due_at > clock_now()
    assert not _shop_timers(counted)


def test_a_sweep_does_not_wait_on_a_busy_shop_and_its_other_timers_run(counted, monkeypatch):
    monkeypatch.setattr(services, "RECOUNT_LOCK_WAIT", "200ms")
    ran = []
    monkeypatch.setitem(HANDLERS, "test.other", lambda target, now: ran.append(target))
    _committed(_case_event(counted, 1))
    open_case = Held(_case_event(counted, 2), no_wait=True).started()  # holds the row past the sweep
    due = clock_now() + services.SHOP_REFRESH_DELAY
    schedule("test.other", "x", due)
    assert sweep(due) >= 2  # the sweep's own lock bound (a batch) or the recount's: neither hangs
    assert ran == ["x"]
    (retry,) = _shop_timers(counted)
    assert retry.due_at == due + services.SHOP_REFRESH_RETRY and retry.attempts == 0 and not retry.last_error
    open_case.release()
    open_case.join_checked()
    sweep(due + services.SHOP_REFRESH_DELAY)
    assert _stored(counted).cases_90d == 2 and not _shop_timers(counted)
