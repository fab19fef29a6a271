"""The order/escrow lifecycle table (orders/lifecycle.py) is complete and sound, and it is the only
way an order's status or escrow status changes."""

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import translation

import kameng
from kameng.orders import lifecycle
from kameng.orders.lifecycle import (
    DEADLINES,
    FINAL,
    NEW,
    STATES,
    TABLE,
    TOUCHES,
    Actor,
    Effect,
    EscrowStatus,
    Event,
    Facts,
    OrderStatus,
    State,
)
from kameng.timers.services import HANDLERS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HELD = {lifecycle.PAID_HELD, lifecycle.PAID_FROZEN, lifecycle.DELIVERED_HELD, lifecycle.DELIVERED_FROZEN}
UNPAID = {lifecycle.AWAITING, lifecycle.CANCELLED}  # no escrow yet (escrow status "")
MOMENTS = (None, NOW - timedelta(minutes=1), NOW, NOW + timedelta(1))


def valid_facts(state: State):
    """Every combination of amounts and moments an order in `state` can really have (paid 1000 fen,
    with or without a staged payment's balance due, a buyer's wallet covering it or not)."""
    paid = 1000
    for refunded, amount, release_at, balance_due, funds, expires in itertools.product(
        (0, 1, 400, 999, 1000), (0, 1, 600, 999, 1000), MOMENTS, (0, 500), (0, 500), MOMENTS
    ):
        if (expires is None) == (state == lifecycle.AWAITING):
            continue  # only a direct checkout has a payment deadline (a wallet purchase has none)
        if state in UNPAID and (refunded or release_at):
            continue  # nothing was paid, nothing delivered
        if balance_due and state.order in (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
            continue  # every release collects the balance first (tested below)
        if refunded + amount > paid:
            continue  # refund_to_buyer refuses more than was paid before the table is asked
        if state in HELD and refunded >= paid:
            continue  # escrow still holds money: a refund of everything makes the order refunded
        if state.order == OrderStatus.REFUNDED and refunded < paid:
            continue
        if state.order == OrderStatus.COMPLETED and refunded:
            continue
        if state.order == OrderStatus.PARTIALLY_REFUNDED and not 0 < refunded < paid:
            continue
        if state.order == OrderStatus.DELIVERED and release_at is None:
            continue  # delivery sets release_at
        yield Facts(paid, refunded, release_at, NOW, amount, balance_due, funds, expires)


def groups():
    keys = sorted({(r.state, r.event, r.actor) for r in TABLE}, key=str)
    return [pytest.param(key, id=f"{key[0]}-{key[1]}-{key[2]}") for key in keys]


def test_every_state_is_reachable_from_the_purchase():
    reached, frontier = {NEW}, [NEW]
    while frontier:
        state = frontier.pop()
        for row in TABLE:
            if row.state == state and row.target not in reached:
                reached.add(row.target)
                frontier.append(row.target)
    assert reached == {NEW, *STATES}


def test_rows_go_between_states_of_the_table_in_the_contracts_values():
    assert len(set(STATES)) == len(STATES)
    for row in TABLE:
        assert row.state in (NEW, *STATES) and row.target in STATES, row
        assert row.target.order in OrderStatus.values
        assert row.target.escrow in EscrowStatus.values or (row.target in UNPAID and row.target.escrow == "")
    assert {s.order for s in STATES} == set(OrderStatus.values)
    assert {s.escrow for s in STATES} - {""} == set(EscrowStatus.values)
    assert not [r for r in TABLE if r.target == NEW], "nothing goes back to before the purchase"


def test_every_non_final_state_has_a_way_out_and_final_states_have_none():
    for state in STATES:
        exits = [r for r in TABLE if r.state == state and r.target != state]
        assert bool(exits) == (state not in FINAL), (state, exits)


@pytest.mark.parametrize("key", groups())
def test_rows_for_the_same_state_event_and_actor_have_mutually_exclusive_guards(key):
    rows = lifecycle.rows(*key)
    facts = list(valid_facts(key[0])) + [
        Facts(p, r, at, NOW, a, due, funds, expires)
        for p, r, a, at, due, funds, expires in itertools.product(
            (1, 1000), (0, 1, 999), (0, 1, 1000), (None, NOW, NOW + timedelta(1)), (0, 1), (0, 1), MOMENTS
        )
    ]
    for f in facts:
        holding = [r for r in rows if r.guard(f)]
        assert len(holding) <= 1, (f, holding)


@pytest.mark.parametrize("key", groups())
def test_some_row_applies_whatever_the_amounts_except_a_timer_that_is_early(key):
    state, event, _ = key
    for f in valid_facts(state):
        if event == Event.REFUNDED and f.amount == 0:
            continue  # refund_to_buyer refuses an empty refund before the table is asked
        found = lifecycle.find(*key, f)
        if event == Event.RELEASE_DUE:
            assert (found is not None) == (f.release_at <= f.now), f
        elif event == Event.WARRANTY_DUE:
            assert (found is not None) == (f.warranty_until is not None and f.warranty_until <= f.now), f
        elif event == Event.BALANCE_PAID:
            assert (found is not None) == (f.balance_due > 0), f  # else 409 no_balance_due
        elif (state, event) == (lifecycle.AWAITING, Event.PAID):
            assert (found is not None) == (f.now < f.payment_expires_at), f  # else it expires first
        else:
            assert found is not None, f


def test_the_rows_index_gives_what_a_scan_of_the_table_gives_for_every_key_and_any_string_type():
    # find() and rows() look the key up in an index built once; the orders' columns come back from
    # the database as plain strings, not the enums, and must find the same rows.
    keys = itertools.product((NEW, *STATES), Event, Actor)
    for state, event, actor in keys:
        scanned = [r for r in TABLE if (r.state, r.event, r.actor) == (state, event, actor)]
        assert lifecycle.rows(state, event, actor) == scanned
        plain = (str(state.order), str(state.escrow)), str(event.value), str(actor.value)
        assert lifecycle.rows(State(*plain[0]), plain[1], plain[2]) == scanned  # type: ignore[arg-type]


def test_the_rows_index_follows_a_table_put_in_its_place(monkeypatch):
    only = lifecycle.Row(NEW, Event.PAID, Actor.BUYER, STATES[2], lifecycle.ALWAYS, ())
    monkeypatch.setattr(lifecycle, "TABLE", (only,))
    assert lifecycle.rows(NEW, Event.PAID, Actor.BUYER) == [only]
    assert lifecycle.rows(STATES[4], Event.RELEASE_DUE, Actor.SYSTEM) == []


def test_a_release_after_a_partial_refund_leaves_the_order_partially_refunded():
    f = Facts(paid=1000, refunded=400, release_at=NOW, now=NOW)
    for event, actor in ((Event.CONFIRMED, Actor.BUYER), (Event.RELEASE_DUE, Actor.SYSTEM)):
        assert lifecycle.find(lifecycle.DELIVERED_HELD, event, actor, f).target == lifecycle.PARTLY_REFUNDED
    closing = lifecycle.find(lifecycle.DELIVERED_FROZEN, Event.CASE_CLOSED, Actor.SYSTEM, f)
    assert closing.target == lifecycle.PARTLY_REFUNDED and Effect.RELEASE in closing.effects


def test_a_case_closing_before_release_at_puts_the_escrow_back_on_its_timer():
    f = Facts(paid=1000, refunded=0, release_at=NOW + timedelta(hours=1), now=NOW)
    row = lifecycle.find(lifecycle.DELIVERED_FROZEN, Event.CASE_CLOSED, Actor.SYSTEM, f)
    assert row.target == lifecycle.DELIVERED_HELD and row.arms == DEADLINES[lifecycle.DELIVERED_HELD]


def test_a_refund_of_everything_after_release_claws_it_back_in_full():
    f = Facts(paid=1000, refunded=0, release_at=NOW, now=NOW, amount=1000)
    assert lifecycle.find(lifecycle.COMPLETED, Event.REFUNDED, Actor.SYSTEM, f).target == lifecycle.REFUNDED


def test_deadlines_hang_on_states_fire_a_row_and_have_a_timer_handler():
    for state, deadline in DEADLINES.items():
        assert lifecycle.allows(state, deadline.fires, Actor.SYSTEM)
        assert deadline.timer in HANDLERS, deadline  # registered by orders.tasks in OrdersConfig.ready()
    for row in TABLE:
        assert row.arms == (DEADLINES.get(row.target) if row.target != row.state else None)
        assert row.cancels == (DEADLINES.get(row.state) if row.target != row.state else None)
    # Delivered and held waits for release_at; a direct checkout waits for its payment.
    assert {
        lifecycle.AWAITING: lifecycle.Deadline("payment_expires_at", "order.payment_expired", Event.PAYMENT_EXPIRED),
        lifecycle.DELIVERED_HELD: lifecycle.Deadline("release_at", "order.release_escrow", Event.RELEASE_DUE),
    } == DEADLINES


def test_every_money_step_names_the_accounts_it_touches_and_every_step_its_event():
    money = {Effect.TAKE_PAYMENT, Effect.COLLECT_BALANCE, Effect.RELEASE, Effect.RELEASE_WARRANTY, Effect.REFUND}
    assert set(TOUCHES) == money
    assert {e for e in Effect if not e.writes} == {Effect.RECORD_DELIVERY}
    written = {e.writes for r in TABLE for e in r.effects}
    assert written - {""} == {
        "awaiting_payment",
        "cancelled",
        "balance_unpaid",
        "paid",
        "balance_paid",
        "delivered",
        "confirmed",
        "escrow_released",
        "warranty_released",
        "escrow_frozen",
        "escrow_unfrozen",
        "escrow_closed",
        "refunded",
        "window_restarted",
    }


def test_only_buyers_confirm_only_merchants_or_stock_deliver_and_the_case_moves_the_escrow():
    assert lifecycle.actors(Event.CONFIRMED) == {Actor.BUYER}
    assert lifecycle.actors(Event.DELIVERED) == {Actor.MERCHANT, Actor.SYSTEM}
    assert lifecycle.actors(Event.BALANCE_PAID) == lifecycle.actors(Event.CHECKOUT) == {Actor.BUYER}
    assert lifecycle.actors(Event.PAID) == {Actor.BUYER, Actor.SYSTEM}  # the wallet, or the gateway's notice
    for event in (
        Event.RELEASE_DUE,
        Event.CASE_OPENED,
        Event.CASE_CLOSED,
        Event.REFUNDED,
        Event.PAYMENT_EXPIRED,
        Event.REDELIVERED,
    ):
        assert lifecycle.actors(event) == {Actor.SYSTEM}


def test_no_row_completes_an_order_without_collecting_the_balance_first():
    """Staged payment: whatever row releases the escrow collects the balance (尾款) before it, and
    collecting refuses when the buyer is short; so no order is ever completed with a balance due."""
    for row in TABLE:
        if Effect.RELEASE in row.effects:
            assert Effect.COLLECT_BALANCE in row.effects, row
            assert row.effects.index(Effect.COLLECT_BALANCE) < row.effects.index(Effect.RELEASE), row
        if row.target.order == OrderStatus.COMPLETED and row.state != row.target:
            assert Effect.COLLECT_BALANCE in row.effects, row
        if row.event == Event.DELIVERED:
            assert row.effects[0] == Effect.COLLECT_BALANCE, row  # refused before anything is recorded


def test_a_release_the_buyer_cannot_cover_waits_and_says_so():
    short = Facts(1000, 0, NOW, NOW, 0, balance_due=500, buyer_funds=499)
    covered = Facts(1000, 0, NOW, NOW, 0, balance_due=500, buyer_funds=500)
    waiting = lifecycle.find(lifecycle.DELIVERED_HELD, Event.RELEASE_DUE, Actor.SYSTEM, short)
    assert waiting.target == lifecycle.DELIVERED_HELD and waiting.effects == (Effect.NOTE_BALANCE_UNPAID,)
    released = lifecycle.find(lifecycle.DELIVERED_HELD, Event.RELEASE_DUE, Actor.SYSTEM, covered)
    assert released.target == lifecycle.COMPLETED
    # the left-over of a case closing after release_at: the balance is collected there too
    closing = lifecycle.find(lifecycle.DELIVERED_FROZEN, Event.CASE_CLOSED, Actor.SYSTEM, covered)
    assert closing.target == lifecycle.COMPLETED and Effect.COLLECT_BALANCE in closing.effects
    parked = lifecycle.find(lifecycle.DELIVERED_FROZEN, Event.CASE_CLOSED, Actor.SYSTEM, short)
    assert parked.target == lifecycle.DELIVERED_HELD and Effect.RELEASE not in parked.effects


@pytest.mark.parametrize("status", [*OrderStatus, *EscrowStatus], ids=lambda s: f"{type(s).__name__}.{s.name}")
def test_every_status_carries_its_chinese_label_and_its_english_translation(status):
    with translation.override("zh-hans"):
        chinese = str(status.label)
    with translation.override("en"):
        english = str(status.label)
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert english != chinese and not re.search(r"[\u4e00-\u9fff]", english), english


# ---- one transition path ---------------------------------------------------------------------------

SRC = Path(kameng.__file__).parent
# Writing an order's status or escrow status: an assignment (also of a tuple), a keyword to the
# manager's writers, setattr, raw SQL.
WRITES = re.compile(
    r"\b(?:\w*order\w*|o)\.(?:status|escrow_status)\b(?:\s*,[^=\n]*)?\s*=(?!=)"
    r"|\.escrow_status\s*=(?!=)"
    r"|\bOrder\.objects\b.*\b(?:update|create|update_or_create|get_or_create|bulk_create|bulk_update)\("
    r".*\b(?:escrow_)?status\s*="
    r"|setattr\(\s*\w+\s*,\s*[\"'](?:escrow_)?status[\"']"
    r"|\bbulk_update\(.*[\"'](?:escrow_)?status[\"']"
    r"|UPDATE\s+orders_order\b"
    r'|UPDATE\s+\{table\}\s+SET\s+"(?:escrow_)?status"',  # raw SQL on a quoted table name
    re.IGNORECASE,
)
ALLOWED = {
    ("orders/services.py", "    order.status, order.escrow_status = row.target"),  # _enter(), for transition()
    # _release_many(): the batch variant of transition() for release rows, states set by _enter()
    (
        "orders/services.py",
        """            f'UPDATE {table} SET "status" = v.column2, "escrow_status" = v.column3, "completed_at" = %s '""",
    ),
}


def test_no_code_but_the_transition_path_writes_an_orders_status():
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if WRITES.search(line) and not line.lstrip().startswith("#"):
                found.add((path.relative_to(SRC).as_posix(), line))
    assert found == ALLOWED, sorted(found - ALLOWED)


@pytest.mark.parametrize(
    "line",
    [
        "        order.status = OrderStatus.REFUNDED",
        "    order.escrow_status = EscrowStatus.FROZEN",
        "    o.status, o.escrow_status = 'x', 'y'",
        "    Order.objects.filter(pk=1).update(status='completed')",
        "    Order.objects.create(buyer=b, escrow_status='held')",
        "    setattr(order, 'status', 'paid')",
        "    self.order.escrow_status = 'held'",
        '    cursor.execute("update orders_order set status = %s", [s])',
    ],
)
def test_the_grep_catches_every_way_of_writing_a_status(line):
    assert WRITES.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "    if order.status == OrderStatus.PAID:",
        "    if order.status != OrderStatus.PAID or order.escrow_status <= x:",
        "    orders = orders.filter(status=status)",
        "    case.status = CaseStatus.CLOSED",
        "    topup.status = 'ok'",
    ],
)
def test_the_grep_leaves_reads_and_other_models_alone(line):
    assert not WRITES.search(line)
