"""The sweep's batch path for escrow releases writes exactly what the one-by-one path writes.

One mixed bite of due release timers (two merchants, one in debt, a commission, a webhook endpoint,
an order whose case froze its escrow, one released already, a warranty that keeps a share, a staged
payment whose balance is still due) is swept twice from the same start: with the batch handler, and
(after rolling that back) with the one-by-one handler only. Every row the sweep may write must be the
same, ids and random message ids aside. SQLite here; PostgreSQL in the CI pass.
"""

import json
import re
from datetime import timedelta

import pytest
from django.db import transaction

from kameng.aftersales.models import Notification
from kameng.clock.services import advance as move_clock
from kameng.clock.services import now as clock_now
from kameng.ledger import services as ledger
from kameng.ledger.models import Account, EntryKind, JournalEntry, Posting
from kameng.notify.models import Endpoint, WebhookDelivery
from kameng.orders import events as order_events
from kameng.orders.lifecycle import RELEASE_TIMER
from kameng.orders.models import Order, OrderEvent
from kameng.orders.services import release_due_escrows
from kameng.policy.services import set_policy
from kameng.timers import services as timers
from kameng.timers.models import Timer, TimerStatus


@pytest.fixture
def market(api, merchant, make_user, make_listing, buyer, fund, buy, open_case, admin, delivered_short):
    other = make_user("merchant")
    res = api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token)
    assert res.status_code == 201, res.data
    plain_a = make_listing(merchant, stock=[f"A-{i}" for i in range(6)])
    plain_b = make_listing(other, stock=[f"B-{i}" for i in range(3)], category="gift_card")
    warranty = make_listing(merchant, stock=["W-1"], warranty_days=30, warranty_amount=3000)
    staged = make_listing(other, kind="service", price=20000, deposit_percent=30, stock=None)
    fund(buyer, 200_000)
    now = clock_now()
    set_policy("commission_bp", {"software_license": 500}, acting_user=admin, now=now)
    orders = {
        "a1": buy(buyer, plain_a),
        "a2": buy(buyer, plain_a),
        "b1": buy(buyer, plain_b),
        "b2": buy(buyer, plain_b),
        "frozen": buy(buyer, plain_a),
        "released": buy(buyer, plain_a),
        "warranty": buy(buyer, warranty),
        "staged": buy(buyer, staged),
    }
    ids = {name: int(o["id"]) for name, o in orders.items()}
    delivered_short(ids["staged"])  # its balance (尾款) is due at release; the buyer's wallet covers it
    open_case(orders["frozen"])
    assert api.post(f"/orders/{ids['released']}/confirm", token=buyer.token).status_code == 200
    with transaction.atomic():  # 先行赔付 booked before: the second merchant owes the platform 2,500 fen
        ledger.transfer(
            "test:advance", EntryKind.REFUND, ledger.debt_code(other.pk), ledger.wallet_code(buyer.pk), 2500
        )
    Endpoint.objects.create(
        user=merchant, url="https://hooks.example.com/k", events=["order.completed"], secret="whsec_x", created_at=now
    )
    for name in ("frozen", "released"):  # stale timers, as a sweeper that held one while a request moved on leaves
        timers.schedule(RELEASE_TIMER, f"order:{ids[name]}", now + timedelta(minutes=10), now=now)
    move_clock(25 * 3600)
    return ids


def _rows() -> dict:
    """Everything a swept release may write, without row ids."""
    keys = dict(JournalEntry.objects.values_list("id", "idempotency_key"))
    codes = dict(Account.objects.values_list("id", "code"))
    return {
        "orders": sorted(
            Order.objects.values_list("id", "status", "escrow_status", "completed_at", "balance_due", "refunded_amount")
        ),
        "events": sorted(
            (e.order_id, e.type, e.actor_id, e.actor_role, json.dumps(e.data, sort_keys=True), e.at)
            for e in OrderEvent.objects.all()
        ),
        "entries": sorted(
            JournalEntry.objects.values_list(
                "idempotency_key", "kind", "memo", "order_id", "case_id", "actor", "created_at"
            )
        ),
        "postings": sorted(
            (keys[e], codes[a], amount)
            for e, a, amount in Posting.objects.values_list("entry_id", "account_id", "amount")
        ),
        "accounts": sorted(Account.objects.values_list("code", "kind", "balance")),
        "timers": sorted(
            Timer.objects.values_list("kind", "target", "status", "due_at", "ran_at", "attempts", "last_error")
        ),
        "notifications": sorted(Notification.objects.values_list("user_id", "kind", "text", "template", "created_at")),
        "webhooks": sorted(  # the payload as sent, less its timestamp: the clock's reading as it was queued
            (endpoint, event, json.dumps({**json.loads(payload), "timestamp": None}, sort_keys=True))
            for endpoint, event, payload in WebhookDelivery.objects.values_list("endpoint_id", "event", "payload")
        ),
    }


def test_the_batch_release_writes_exactly_the_rows_of_the_one_by_one_release(market, monkeypatch):
    ids = market
    monkeypatch.setattr(timers, "BATCH_SECONDS", 3600)  # one batch, however loaded the machine
    batched_calls = []
    batch_handler = timers.BATCH_HANDLERS[RELEASE_TIMER]

    def recording(targets, now):
        left = batch_handler(targets, now)
        batched_calls.append((sorted(targets), sorted(left)))
        return left

    monkeypatch.setitem(timers.BATCH_HANDLERS, RELEASE_TIMER, recording)
    now = clock_now()
    with transaction.atomic():
        timers.sweep(now)
        batched = _rows()
        transaction.set_rollback(True)
    monkeypatch.delitem(timers.BATCH_HANDLERS, RELEASE_TIMER)
    timers.sweep(now)
    one_by_one = _rows()

    # The batch handler had the whole bite, and left to the one-by-one path only what does more than release.
    due = sorted(f"order:{ids[n]}" for n in ("a1", "a2", "b1", "b2", "frozen", "released", "warranty", "staged"))
    left = ("warranty", "staged", "b1", "b2")  # the staged order is due first: its merchant's later ones wait
    assert batched_calls == [(due, sorted(f"order:{ids[n]}" for n in left))]
    for name, rows in one_by_one.items():
        assert batched[name] == rows, name
    # And what both wrote is the release: the frozen and the released order untouched, the debt recovered.
    status = {pk: (s, e) for pk, s, e, *_ in one_by_one["orders"]}
    assert status[ids["a1"]] == status[ids["b2"]] == status[ids["staged"]] == ("completed", "released")
    assert status[ids["frozen"]] == ("delivered", "frozen")
    assert ledger.balance(ledger.debt_code(Order.objects.get(pk=ids["b1"]).shop.owner_id)) == 0
    assert ledger.balance(ledger.PLATFORM_COMMISSION) > 0
    assert len(one_by_one["webhooks"]) == 3  # a1, a2 and the warranty order: the first merchant's endpoint
    assert all(t[2] != TimerStatus.PENDING for t in one_by_one["timers"] if t[0] == RELEASE_TIMER)
    assert ledger.check().ok


def test_a_failing_order_in_the_bite_does_not_lose_the_others(market, monkeypatch):
    """A release that raises rolls the batch back; the sweep then runs its timers one by one: the
    failing one backs off alone, every other order is released."""
    ids = market
    broken = ids["a2"]

    def refuse(event):
        if event.order_id == broken and event.type == "escrow_released":
            raise RuntimeError("a listener refuses this order")

    monkeypatch.setattr(order_events, "_event_listeners", [*order_events._event_listeners, refuse])
    timers.sweep(clock_now())

    timer = Timer.objects.get(kind=RELEASE_TIMER, target=f"order:{broken}")
    assert (timer.status, timer.attempts) == (TimerStatus.PENDING, 1) and "refuses" in timer.last_error
    assert Order.objects.get(pk=broken).status == "delivered"
    assert not JournalEntry.objects.filter(idempotency_key=f"release:{broken}").exists()
    for name in ("a1", "b1", "b2", "warranty", "staged"):
        assert Order.objects.get(pk=ids[name]).status == "completed", name
    assert ledger.check().ok


def test_the_batch_reads_its_merchants_webhook_endpoints_once(api, merchant, make_user, make_listing, buyer, fund, buy):
    """Releases of several merchants in one bite: one read of their endpoints for the whole bite (one by
    one it is one read per release), and each subscribed endpoint still gets its order.completed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = make_user("merchant")
    assert api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token).status_code == 201
    listings = [make_listing(merchant, stock=["A-1", "A-2"]), make_listing(other, stock=["B-1", "B-2"])]
    fund(buyer, 100_000)
    ids = [int(buy(buyer, listing)["id"]) for listing in listings for _ in range(2)]
    now = clock_now()
    for user, url in ((merchant, "https://hooks.example.com/a"), (other, "https://hooks.example.com/b")):
        Endpoint.objects.create(user=user, url=url, events=["order.completed"], secret="whsec_x", created_at=now)
    Endpoint.objects.create(
        user=other, url="https://hooks.example.com/c", events=["order.paid"], secret="whsec_y", created_at=now
    )
    move_clock(25 * 3600)
    endpoints = connection.ops.quote_name(Endpoint._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        timers.sweep(clock_now())  # the four releases (and any other timer due by then)
    assert sum(endpoints in q["sql"] for q in queries.captured_queries) == 1
    assert set(Order.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed"}
    sent = sorted(WebhookDelivery.objects.values_list("endpoint__url", "event"))
    assert (
        sent
        == [("https://hooks.example.com/a", "order.completed")] * 2
        + [("https://hooks.example.com/b", "order.completed")] * 2
    )


def test_the_batch_reads_each_order_in_its_one_locking_statement_only(
    api, merchant, make_user, make_listing, buyer, fund, buy
):
    """The batch builds its orders from the columns the release and the order events' listeners read:
    a field it left out would load itself, one statement per order, and the webhook would still go out.
    So: one read of orders_order for the whole bite, and each release's entry and webhook as they were."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = make_user("merchant")
    assert api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token).status_code == 201
    listings = [make_listing(merchant, stock=["A-1", "A-2"]), make_listing(other, stock=["B-1"], category="gift_card")]
    fund(buyer, 100_000)
    ids = [int(buy(buyer, listing)["id"]) for listing in (listings[0], listings[0], listings[1])]
    now = clock_now()
    Endpoint.objects.create(
        user=merchant, url="https://hooks.example.com/a", events=["order.completed"], secret="whsec_x", created_at=now
    )
    move_clock(25 * 3600)
    orders = connection.ops.quote_name(Order._meta.db_table)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert release_due_escrows(ids, clock_now()) == []  # the sweep's batch handler: all of them together
    reads = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and f"FROM {orders}" in q["sql"]
    ]
    assert len(reads) == 1, reads
    assert "FOR UPDATE" in reads[0] or not connection.features.has_select_for_update
    released = Order.objects.filter(pk__in=ids)
    assert set(released.values_list("status", flat=True)) == {"completed"}
    memos = dict(JournalEntry.objects.filter(kind=EntryKind.RELEASE).values_list("order_id", "memo"))
    assert memos == {o.pk: f"订单 {o.number} 放款" for o in released}
    payloads = [json.loads(p)["data"] for p in WebhookDelivery.objects.values_list("payload", flat=True)]
    assert sorted(p["id"] for p in payloads) == sorted(str(pk) for pk in ids[:2])
    assert all(p["number"] and p["listing"] == str(listings[0]["id"]) and p["amount"] for p in payloads), payloads
    assert ledger.check().ok


def test_the_batch_s_orders_are_what_from_db_builds_and_their_other_fields_load_themselves(
    buyer, merchant, make_listing, fund, buy
):
    """The batch builds its orders without Model.__init__ (kameng.compiled.loaded): the same attributes
    and state as from_db, and a field it did not read still loads itself when something reads it."""
    from django.db import connection
    from django.db.models.signals import post_init

    from kameng.compiled import _plainly_loadable, loaded
    from kameng.orders.services import _RELEASE_FIELDS

    fund(buyer, 10_000)
    pk = int(buy(buyer, make_listing(merchant, stock=["K-1"]))["id"])
    values = list(Order.objects.filter(pk=pk).values_list(*_RELEASE_FIELDS).get())
    built, expected = loaded(Order, _RELEASE_FIELDS, values), Order.from_db(connection.alias, _RELEASE_FIELDS, values)
    assert {k: v for k, v in vars(built).items() if k != "_state"} == {
        k: v for k, v in vars(expected).items() if k != "_state"
    }
    assert (built._state.adding, built._state.db, built.get_deferred_fields()) == (
        False,
        "default",
        expected.get_deferred_fields(),
    )
    assert built.snapshot == Order.objects.get(pk=pk).snapshot  # deferred: read from the database

    def receiver(**kwargs):
        pass

    post_init.connect(receiver, sender=Order)
    try:  # a model whose instances someone hears of being built goes through from_db
        assert not _plainly_loadable.__wrapped__(Order)
    finally:
        post_init.disconnect(receiver, sender=Order)
    assert _plainly_loadable.__wrapped__(Order)


@pytest.mark.postgres
def test_the_batch_s_fixed_locking_read_gives_the_rows_the_orm_gives(buyer, merchant, make_listing, fund, buy):
    from kameng.orders.services import _RELEASE_FIELDS, _locked_for_release

    fund(buyer, 50_000)
    listings = [
        make_listing(merchant, stock=["K-1", "K-2"]),
        make_listing(merchant, stock=["G-1"], category="gift_card"),
    ]
    ids = [int(buy(buyer, listing)["id"]) for listing in (listings[0], listings[1], listings[0])]
    orm = (
        Order.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list(*_RELEASE_FIELDS, "shop__owner_id", "snapshot__category")
    )
    with transaction.atomic():
        assert [tuple(row) for row in _locked_for_release([*reversed(ids), 10**12])] == list(orm)


def test_a_bite_of_releases_is_a_fixed_number_of_statements_whatever_its_size(
    api, merchant, make_user, make_listing, buyer, fund, buy
):
    """The batch's statements do not grow with its orders (nor its merchants): its one locking read,
    the policy, the escrows, the orders' UPDATE, the events' INSERT, the merchants' endpoints and
    accounts, then the ledger batch's entries, postings and balances."""
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = make_user("merchant")
    assert api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token).status_code == 201
    listings = [
        make_listing(merchant, stock=[f"A-{i}" for i in range(6)]),
        make_listing(other, stock=["B-1", "B-2", "B-3"]),
    ]
    fund(buyer, 200_000)

    def statements(orders: list[int]) -> Counter:
        now = clock_now()
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            assert release_due_escrows(orders, now) == []
        return Counter(re.sub(r'"s\d+_x\d+"', "sp", " ".join(q["sql"].split()[:3])) for q in queries.captured_queries)

    first = [int(buy(buyer, listing)["id"]) for listing in listings]  # the merchants' accounts exist after these
    small = [int(buy(buyer, listings[0])["id"])]
    large = [int(buy(buyer, listing)["id"]) for listing in (*[listings[0]] * 4, *[listings[1]] * 2)]
    move_clock(25 * 3600)
    statements(first)
    one, six = statements(small), statements(large)
    assert one == six, (one, six)
    assert sum(six.values()) <= 12, six  # ten, and the test's savepoint
    assert ledger.check().ok
