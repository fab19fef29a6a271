"""What a case event's credit facts leave in its transaction (SQLite and PostgreSQL): the facts, the shop's
stored credit marked due, and the backing timers of the recount, as `record_facts` documents them."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kameng.clock.services import now as clock_now
from kameng.compiled import insert_rows
from kameng.timers.models import Timer
from kameng.trust import services
from kameng.trust.models import CreditFact, MerchantCredit


@pytest.fixture
def quiet_jobs(monkeypatch):
    """The jobs the marks queue, recorded instead of run: the tests look at what the transaction wrote."""
    queued = []
    monkeypatch.setattr(services.jobs, "enqueue", lambda name, *args, **kwargs: queued.append((name, *args)))
    return queued


def _fact(shop_id: int, n: int, at) -> CreditFact:
    return CreditFact(shop_id=shop_id, kind="case", at=at, key=f"case:marks-{n}")


def _timers(shop_id: int) -> list[Timer]:
    return list(Timer.objects.filter(kind=services.SHOP_REFRESH, target=f"shop:{shop_id}").order_by("pk"))


TIMER_COLUMNS = ("kind", "target", "due_at", "status", "attempts", "last_error", "created_at", "ran_at")


def _columns(timer: Timer) -> tuple:
    return tuple(getattr(timer, name) for name in TIMER_COLUMNS)


def test_a_first_mark_makes_the_stored_credit_due_and_arms_one_timer_as_insert_rows_writes_it(merchant, quiet_jobs):
    shop_id = int(merchant.shop_id)
    services.refresh_shop(shop_id, clock_now())
    now = clock_now()
    with transaction.atomic():
        services.record_facts([(now, [_fact(shop_id, 1, now)]), (now + timedelta(seconds=1), [_fact(shop_id, 2, now)])])
        (armed,) = _timers(shop_id)  # the second mark found the row due already
        reference = insert_rows(Timer, [services._backing_timer(shop_id, now)])[0]
        reference.refresh_from_db()
        assert _columns(armed) == _columns(reference)  # the same row the ORM's path writes
        assert armed.due_at == now + services.SHOP_REFRESH_DELAY and armed.status == "pending"
        assert MerchantCredit.objects.get(shop_id=shop_id).refresh_due_at == now
        assert set(CreditFact.objects.filter(shop_id=shop_id).values_list("key", flat=True)) >= {
            "case:marks-1",
            "case:marks-2",
        }
    assert [name for name, *_ in quiet_jobs] == [services.SHOP_REFRESH, services.SHOP_REFRESH]


def test_a_shop_with_no_stored_credit_gets_a_timer_for_every_mark(merchant, quiet_jobs):
    shop_id = int(merchant.shop_id)
    MerchantCredit.objects.filter(shop_id=shop_id).delete()  # a shop whose credit was never stored
    now = clock_now()
    with transaction.atomic():
        services.record_facts([(now, [_fact(shop_id, 1, now)]), (now, [_fact(shop_id, 2, now)])])
    assert len(_timers(shop_id)) == 2
    assert not MerchantCredit.objects.filter(shop_id=shop_id).exists()  # the recount stores it


def test_facts_stored_already_mark_nothing(merchant, quiet_jobs):
    shop_id = int(merchant.shop_id)
    services.refresh_shop(shop_id, clock_now())
    now = clock_now()
    with transaction.atomic():
        services.record_facts([(now, [_fact(shop_id, 1, now)])])
    services.refresh_shop(shop_id, clock_now())  # counted: not due any more
    Timer.objects.filter(kind=services.SHOP_REFRESH).delete()
    quiet_jobs.clear()
    with transaction.atomic():
        services.record_facts([(now, [_fact(shop_id, 1, now)])])  # the same key again
    assert not _timers(shop_id) and not quiet_jobs
    assert MerchantCredit.objects.get(shop_id=shop_id).refresh_due_at > clock_now()


def test_a_row_due_already_arms_no_timer_and_later_marks_do_not_move_it(merchant, quiet_jobs):
    shop_id = int(merchant.shop_id)
    services.refresh_shop(shop_id, clock_now())
    now = clock_now()
    with transaction.atomic():
        services.record_facts([(now, [_fact(shop_id, 1, now)])])
    Timer.objects.filter(kind=services.SHOP_REFRESH).delete()
    with transaction.atomic():
        services.record_facts([(now + timedelta(seconds=5), [_fact(shop_id, 2, now)])])
    assert not _timers(shop_id)
    assert MerchantCredit.objects.get(shop_id=shop_id).refresh_due_at == now


@pytest.mark.postgres
def test_on_postgresql_the_facts_the_mark_and_the_timer_are_one_statement(postgres, merchant, quiet_jobs):
    shop_id = int(merchant.shop_id)
    services.refresh_shop(shop_id, clock_now())
    now = clock_now()
    with transaction.atomic(), CaptureQueriesContext(connection) as statements:
        services.record_facts([(now, [_fact(shop_id, 1, now), _fact(shop_id, 2, now)])])
    assert len(statements) == 1, [q["sql"][:120] for q in statements]
    assert len(_timers(shop_id)) == 1 and CreditFact.objects.filter(key__startswith="case:marks-").count() == 2
    assert MerchantCredit.objects.get(shop_id=shop_id).refresh_due_at == now
