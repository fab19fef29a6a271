"""The sweep's batch path for merchant deadlines writes exactly what the one-by-one path writes.

One bite of due `case.merchant_deadline` timers is swept three times from the same start: with the
batch handler, (after rolling that back) with the one-by-one handler only in one batch, and with
each timer in a transaction of its own (`run_one_due`, no per-batch memo). The cases: two fast-track
ones (refunded in full: ledger, order, case closed, credit facts, notices), one too large for the
fast track (to arbitration), one the merchant answered while its timer stayed armed (stale), one
of a second merchant with a webhook endpoint and a notification channel, one paid through the
sandbox gateway (its refund goes back there: one by one inside the batch), one the merchant accepted
(settled already) and one whose deadline is still ahead, both with a stale timer due. The batch
settles the plain fast-track ones together (`_settle_together`) and runs the rest through `_run`.
Every row the sweep may write, and every job it queues, must be the same, ids aside. SQLite here;
PostgreSQL in the CI pass.
"""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kameng.aftersales import lifecycle, services
from kameng.aftersales.models import CaseEvent, Notification, RefundCase
from kameng.clock.services import advance as move_clock
from kameng.clock.services import now as clock_now
from kameng.ledger import services as ledger
from kameng.ledger.models import Account, JournalEntry, Posting
from kameng.notify.models import Channel, Dispatch, Endpoint, WebhookDelivery
from kameng.orders import escrow
from kameng.orders.models import Order, OrderEvent
from kameng.timers import services as timers
from kameng.timers.models import Timer, TimerStatus
from kameng.trust.models import CreditFact, MerchantCredit
from kameng.wallet.models import PaymentRefund

from .conftest import one_batch_rolled_back, record_batches

H = 3600


@pytest.fixture
def cases(api, merchant, make_user, make_listing, buyer, fund, buy, open_case, act):
    other = make_user("merchant")
    res = api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token)
    assert res.status_code == 201, res.data
    now = clock_now()
    Endpoint.objects.create(
        user=other, url="https://hooks.example.com/k", events=["refund.closed"], secret="whsec_x", created_at=now
    )
    Channel.objects.create(user=other, kind="json", url="json://hooks.example.com/c", created_at=now, updated_at=now)
    fund(buyer, 200_000)
    small = make_listing(merchant, stock=[f"A-{i}" for i in range(6)])
    large = make_listing(merchant, price=30000, stock=["L-1"])  # over the fast track's ¥200
    theirs = make_listing(other, stock=["B-1"])
    opened = {
        "fast": open_case(buy(buyer, small)),
        "fast2": open_case(buy(buyer, small)),
        "large": open_case(buy(buyer, large)),
        "answered": open_case(buy(buyer, small)),
        "theirs": open_case(buy(buyer, theirs)),
    }
    paid = api.post("/orders", {"listing": small["id"], "pay_with": "sandbox"}, token=buyer.token)
    assert paid.status_code == 201, paid.data
    at_gateway = api.client.post(
        paid.data["payment"]["pay_url"],
        headers={"Accept": "application/json", "Authorization": f"Bearer {buyer.token}"},
    )
    assert at_gateway.status_code < 400, at_gateway.content
    opened["gateway"] = open_case(paid.data)
    opened["settled"] = open_case(buy(buyer, theirs_too := make_listing(other, stock=["B-2"])))
    assert theirs_too
    ids = {name: int(case["id"]) for name, case in opened.items()}
    act(opened["answered"], "reject", merchant, {"reason": "激活码已核实可用，买家操作有误"})
    act(opened["settled"], "accept", other, {})
    # Stale deadlines, as a sweeper that held them while the merchant answered leaves them.
    for name in ("answered", "settled"):
        timers.schedule(lifecycle.MERCHANT_TIMER, f"case:{ids[name]}", clock_now(), now=clock_now())
    move_clock(49 * H)  # past every merchant deadline (48 h)
    # A case whose deadline is ahead, with a timer due (its own was replaced): nothing to do yet.
    ids["ahead"] = int(open_case(buy(buyer, small))["id"])
    timers.schedule(lifecycle.MERCHANT_TIMER, f"case:{ids['ahead']}", clock_now(), now=clock_now())
    return ids


def _per(subject, rows) -> list:
    """The rows (in id order) of each subject (the value at `subject`, an index or a slice) in turn."""
    return sorted(rows, key=lambda row: repr(row[subject]))


def _unnumbered(key: str) -> str:
    return "gateway-refund:" if key.startswith("gateway-refund:") else key


def _rows(queued: list) -> dict:
    """Everything a swept merchant deadline may write or queue, without row ids."""
    # A gateway refund's key names its PaymentRefund row (a PostgreSQL sequence: not rolled back): id aside.
    keys = {pk: _unnumbered(key) for pk, key in JournalEntry.objects.values_list("id", "idempotency_key")}
    codes = dict(Account.objects.values_list("id", "code"))
    dispatches = {d.pk: (d.event, d.title) for d in Dispatch.objects.all()}
    deliveries = {d.pk: (d.endpoint_id, d.event) for d in WebhookDelivery.objects.all()}
    refunds = {r.pk: (r.payment_id, r.amount, r.key) for r in PaymentRefund.objects.all()}
    by_id = {"notify.send": dispatches, "notify.deliver_webhook": deliveries, "send_payment_refund": refunds}
    # The tables whose ids say the order rows were written in: rows by id, ids dropped, each subject's
    # rows in turn (a case's timeline, an order's log, its entries, a user's notices of a case, a
    # shop's facts of a case). The batch writes the cases it settles together before the others, so
    # the rows of two cases may interleave otherwise than one by one; each subject's may not.
    ordered = {
        "case_events": _per(
            0,
            [
                (e.case_id, e.type, e.actor_id, e.actor_role, e.from_status, e.to_status, json.dumps(e.data), e.at)
                for e in CaseEvent.objects.order_by("id")
            ],
        ),
        "order_events": _per(
            0,
            [
                (e.order_id, e.type, e.actor_id, e.actor_role, json.dumps(e.data, sort_keys=True), e.at)
                for e in OrderEvent.objects.order_by("id")
            ],
        ),
        "entries": _per(  # the gateway's refund reads the clock as it posts (a refund takes `now`): its time aside
            3,
            [
                (_unnumbered(entry[0]), *entry[1:-1], None if entry[1] == "gateway_refund" else entry[-1])
                for entry in JournalEntry.objects.order_by("id").values_list(
                    "idempotency_key", "kind", "memo", "order_id", "case_id", "actor", "created_at"
                )
            ],
        ),
        "notifications": _per(  # notify() reads the clock as it writes (case notices take `now`): created_at aside
            slice(0, 2),
            [
                (n.user_id, n.case_id or 0, n.kind, n.text, n.template, repr(n.params), repr(n.delivered_to))
                for n in Notification.objects.order_by("id")
            ],
        ),
        "credit_facts": sorted(  # a fact's key ends in its case's id
            CreditFact.objects.order_by("id").values_list(
                "shop_id", "kind", "at", "value", "category", "outcome", "key"
            ),
            key=lambda fact: (fact[0], fact[-1].rsplit(":", 1)[-1]),
        ),
    }
    return ordered | {
        "cases": sorted(
            (c.pk, c.status, c.phase, c.refunded_amount, c.resolution or "", c.closed_at, c.merchant_timed_out)
            + (c.merchant_respond_by, c.decide_by)
            for c in RefundCase.objects.all()
        ),
        "orders": sorted(Order.objects.values_list("id", "status", "escrow_status", "completed_at", "refunded_amount")),
        "postings": sorted(
            (keys[e], codes[a], amount)
            for e, a, amount in Posting.objects.values_list("entry_id", "account_id", "amount")
        ),
        "accounts": sorted(Account.objects.values_list("code", "kind", "balance")),
        "timers": sorted(  # a gateway refund's retry timer names its PaymentRefund row: id aside
            (kind, "" if kind == "payment_refund" else target, *rest)
            for kind, target, *rest in Timer.objects.values_list(
                "kind", "target", "status", "due_at", "ran_at", "attempts"
            )
        ),
        "credit": sorted(MerchantCredit.objects.values_list("shop_id", "refresh_due_at")),
        "dispatches": sorted(
            Dispatch.objects.values_list("user_id", "kind", "channel_id", "event", "title", "body", "status")
        ),
        "webhooks": sorted(  # the payload as sent, less its timestamp: the clock's reading as it was queued
            (endpoint, event, json.dumps({**json.loads(payload), "timestamp": None}, sort_keys=True))
            for endpoint, event, payload in WebhookDelivery.objects.values_list("endpoint_id", "event", "payload")
        ),
        "jobs": sorted((name, by_id[name][args[0]] if name in by_id else args) for name, args in queued),
        "payment_refunds": sorted(PaymentRefund.objects.values_list("payment_id", "amount", "key", "status")),
    }


def test_batched_merchant_deadlines_write_exactly_the_rows_of_one_by_one_deadlines(cases, monkeypatch, queued_jobs):
    ids = cases
    monkeypatch.setattr(timers, "BATCH_SECONDS", 3600)  # one batch, however loaded the machine
    queued = queued_jobs
    batched_calls = record_batches(monkeypatch, [lifecycle.MERCHANT_TIMER])
    now = clock_now()
    due = sorted(
        Timer.objects.filter(kind=lifecycle.MERCHANT_TIMER, status="pending", due_at__lte=now).values_list(
            "target", flat=True
        )
    )
    batched = one_batch_rolled_back(now, lambda: _rows(queued))
    queued.clear()
    monkeypatch.delitem(timers.BATCH_HANDLERS, lifecycle.MERCHANT_TIMER)
    # one by one, in the sweep's batch (its per-batch memos: policy, credit rows)
    in_a_batch = one_batch_rolled_back(now, lambda: _rows(queued))
    queued.clear()
    while timers.run_one_due(now):  # and each in a transaction of its own, without them
        pass
    one_by_one = _rows(queued)
    for name, rows in one_by_one.items():
        assert in_a_batch[name] == rows, name

    # The batch handler had every due deadline and left none to the one-by-one path.
    assert [(targets, left) for targets, left in batched_calls] == [(due, [])]
    assert len(due) == 8
    for name, rows in one_by_one.items():
        assert batched[name] == rows, name
    # And what both wrote is merchant silence's outcome.
    case = {pk: (status, refunded) for pk, status, _, refunded, *_ in one_by_one["cases"]}
    assert case[ids["fast"]] == case[ids["fast2"]] == ("closed", 9900)
    assert case[ids["theirs"]] == ("closed", 9900)
    assert case[ids["large"]] == ("in_arbitration", 0)
    assert case[ids["answered"]][0] == "awaiting_buyer"
    assert case[ids["gateway"]] == ("closed", 9900)
    assert case[ids["settled"]] == ("closed", 9900)
    assert case[ids["ahead"]] == ("awaiting_merchant", 0)
    assert one_by_one["payment_refunds"]  # the gateway-paid order's refund went back by its route
    assert [k for k, *_ in one_by_one["entries"]].count(f"refund:case:{ids['fast']}") == 1
    assert {kind for _, kind, *_ in one_by_one["credit_facts"]} >= {"timeout"}
    assert {event for _, event, _ in one_by_one["webhooks"]} == {"refund.closed"}
    assert one_by_one["dispatches"]
    assert not any(
        kind == lifecycle.MERCHANT_TIMER and status == TimerStatus.PENDING
        for kind, _, status, *_ in one_by_one["timers"]
    )
    assert ledger.check().ok


def test_a_failing_case_in_the_bite_does_not_lose_the_others(cases, monkeypatch):
    """A deadline that raises rolls the batch back; the sweep then runs its timers one by one: the
    failing one backs off alone, every other case moves on."""
    from kameng.aftersales import services

    ids = cases
    broken = ids["fast2"]

    def refuse(event):
        if event.case_id == broken and event.type == "merchant_timeout":
            raise RuntimeError("a listener refuses this case")

    monkeypatch.setattr(services, "_listeners", [*services._listeners, refuse])
    timers.sweep(clock_now())

    timer = Timer.objects.get(kind=lifecycle.MERCHANT_TIMER, target=f"case:{broken}")
    assert (timer.status, timer.attempts) == (TimerStatus.PENDING, 1) and "refuses" in timer.last_error
    assert RefundCase.objects.get(pk=broken).status == "awaiting_merchant"
    assert not JournalEntry.objects.filter(idempotency_key=f"refund:case:{broken}").exists()
    for name in ("fast", "theirs"):
        assert RefundCase.objects.get(pk=ids[name]).status == "closed", name
    assert RefundCase.objects.get(pk=ids["large"]).status == "in_arbitration"
    assert ledger.check().ok


def test_the_plain_settlements_move_together_and_a_retried_batch_moves_nothing_twice(cases):
    """The fast-track cases paid from the wallet are stored in one UPDATE of the cases (the arbitration
    one and the gateway-paid one each in their own, through `_run`); the same batch run again finds
    every case moved on: nothing more is written, and a refund whose key was posted is refused whole."""
    ids = cases
    now = clock_now()
    every = sorted(ids.values())
    with transaction.atomic(), CaptureQueriesContext(connection) as first:
        assert services.expire_merchant_deadlines(every, now) == []
    updates = [q["sql"] for q in first.captured_queries if q["sql"].startswith('UPDATE "aftersales_refundcase"')]
    assert len(updates) == 3
    written = _rows([])
    with transaction.atomic():
        assert services.expire_merchant_deadlines(every, now) == []
    assert _rows([]) == written
    large = Order.objects.select_related("shop", "buyer").get(refund_cases__pk=ids["large"])
    posted = f"refund:case:{ids['fast']}"
    with pytest.raises(ledger.AlreadyPosted), transaction.atomic():
        escrow.refund_many([escrow.Refund(large, 100, posted, ids["large"])], actor="system", now=now)
    assert _rows([]) == written
    assert ledger.check().ok
