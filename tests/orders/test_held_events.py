"""An order's events appended inside `orders.events.held_events` (a case's settlement: `orders.one_write`)
are written as the block ends in one INSERT, in order; the listeners hear each with the order as it stood
when the event was appended; a block that raises writes none."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kameng.clock.services import now as clock_now
from kameng.orders import events
from kameng.orders.models import Order, OrderEvent


def _inserts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "orders_orderevent"')]


@pytest.fixture
def heard():
    """What an order listener hears: each event's type and the order's refunded amount then."""
    calls: list[tuple[str, int, bool]] = []

    def listener(event: OrderEvent) -> None:
        order = event.order
        calls.append((event.type, order.refunded_amount, any(k.startswith("_events") for k in order.__dict__)))

    events.on_order_event(listener)
    yield calls
    events._event_listeners.remove(listener)


@pytest.fixture
def order(api, buyer, merchant, make_listing, fund, buy) -> Order:
    fund(buyer, 500)
    return Order.objects.get(pk=buy(buyer, make_listing(merchant, price=500))["id"])


def test_held_events_are_one_insert_as_the_block_ends_heard_as_they_stood(order, heard):
    now = clock_now()
    before = list(order.events.values_list("id", flat=True))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with events.held_events(order):
            events.append_event(order, "refunded", None, now, amount=200)
            order.refunded_amount = 200
            with events.held_events(order):  # nested: the outer block writes
                events.append_event(order, "escrow_closed", None, now)
            order.refunded_amount = 999  # after both: neither listener sees it
            assert _inserts(queries) == [] and heard == []
        assert len(_inserts(queries)) == 1
    assert heard == [("refunded", 0, False), ("escrow_closed", 200, False)]
    written = order.events.exclude(id__in=before).order_by("id")
    assert [(e.type, e.data, e.at) for e in written] == [("refunded", {"amount": 200}, now), ("escrow_closed", {}, now)]
    assert "_events_held" not in order.__dict__


def test_a_block_that_raises_writes_no_event_and_outside_one_each_is_written_at_once(order, heard):
    count = order.events.count()
    with pytest.raises(RuntimeError), transaction.atomic(), events.held_events(order):
        events.append_event(order, "refunded", None, clock_now(), amount=100)
        raise RuntimeError
    assert order.events.count() == count and heard == []
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events.append_event(order, "escrow_closed", None, clock_now())
        assert len(_inserts(queries)) == 1 and heard == [("escrow_closed", 0, False)]
