"""The sweep's batch path for the two reminder kinds writes exactly what the one-by-one path writes.

One mixed batch of due reminders (`notify.merchant_deadline`, 24 h and 2 h before the merchant's
deadline, and `case.reminder` before a phase's deadline) is swept twice from the same start: with the
batch handlers, and (after rolling that back) with the one-by-one handlers only. The cases: two
still waiting for the merchant (one of them late: its 2 h reminder is due too), one whose deadline
moved, one that left awaiting_merchant while its reminders stayed armed, one waiting for the buyer,
and one whose merchant deadline passes in the same batch as its reminders (the reminders come first
in the timers' order: they must still see the case waiting). Merchants with and without a
notification channel, a buyer with an e-mail address. Every row the sweep may write, and every job it
queues, must be the same, ids aside. SQLite here; PostgreSQL in the CI pass.
"""

from datetime import timedelta

import pytest

from kameng.aftersales import lifecycle
from kameng.aftersales.models import Notification, RefundCase
from kameng.clock.services import advance as move_clock
from kameng.clock.services import now as clock_now
from kameng.notify.listeners import DEADLINE_TIMER
from kameng.notify.models import Channel, Dispatch
from kameng.timers import services as timers
from kameng.timers.models import Timer

from .conftest import one_batch_rolled_back, record_batches

H = 3600
REMINDER_KINDS = (DEADLINE_TIMER, lifecycle.REMINDER_TIMER)


@pytest.fixture
def cases(api, merchant, make_user, make_listing, buyer, fund, buy, open_case, act):
    other = make_user("merchant")
    res = api.post("/shops", {"name": "第二家小店", "description": "诚信经营"}, token=other.token)
    assert res.status_code == 201, res.data
    Channel.objects.create(
        user=merchant, kind="json", url="json://hooks.example.com/k", created_at=clock_now(), updated_at=clock_now()
    )
    buyer.email = "buyer@example.com"
    buyer.save(update_fields=["email"])
    fund(buyer, 100_000)
    mine, theirs = make_listing(merchant, stock=[f"A-{i}" for i in range(6)]), make_listing(other, stock=["B-1"])
    opened = {"late": open_case(buy(buyer, mine))}  # its merchant deadline passes in the swept batch
    move_clock(2 * H)
    opened |= {
        "due": open_case(buy(buyer, mine)),
        "theirs": open_case(buy(buyer, theirs)),  # a merchant without a channel
        "moved": open_case(buy(buyer, mine)),
        "left": open_case(buy(buyer, mine)),
        "buyer": open_case(buy(buyer, mine)),
    }
    ids = {name: int(case["id"]) for name, case in opened.items()}
    moved = RefundCase.objects.get(pk=ids["moved"])
    moved.merchant_respond_by += timedelta(hours=100)  # its reminders armed for the old deadline stay due
    moved.save(update_fields=["merchant_respond_by"])
    act(opened["left"], "accept", merchant)
    act(opened["buyer"], "reject", merchant, {"reason": "激活码已核实可用，买家操作有误"})
    now = clock_now()
    # Stale reminders, as a sweeper that held them while the merchant answered leaves them.
    for kind, target in (
        (DEADLINE_TIMER, f"case:{ids['left']}:24"),
        (lifecycle.REMINDER_TIMER, f"case:{ids['left']}"),
        (lifecycle.REMINDER_TIMER, f"case:{ids['buyer']}"),  # its phase (awaiting the buyer) has a deadline
    ):
        timers.schedule(kind, target, now + timedelta(minutes=10), now=now)
    move_clock(47 * H)  # 49 h after "late" opened, 47 h after the others: their 2 h reminders are due
    return ids


def _rows(queued: list) -> dict:
    """Everything a swept reminder may write or queue, without row ids."""
    dispatches = {d.pk: d for d in Dispatch.objects.all()}
    return {
        "notifications": sorted(  # created_at aside: notify() reads the clock as it writes (case notices take `now`)
            (n.user_id, n.case_id or 0, n.kind, n.text, n.template, repr(n.params), repr(n.delivered_to))
            for n in Notification.objects.all()
        ),
        "dispatches": sorted(
            Dispatch.objects.values_list("user_id", "kind", "channel_id", "event", "title", "body", "status")
        ),
        "timers": sorted(Timer.objects.values_list("kind", "target", "status", "due_at", "ran_at", "attempts")),
        "cases": sorted(RefundCase.objects.values_list("id", "status", "phase", "refunded_amount")),
        "jobs": sorted(
            (name, (dispatches[args[0]].event, dispatches[args[0]].title) if name == "notify.send" else args)
            for name, args in queued
        ),
    }


def test_batched_reminders_write_exactly_the_rows_of_one_by_one_reminders(cases, monkeypatch, queued_jobs):
    ids = cases
    monkeypatch.setattr(timers, "BATCH_SECONDS", 3600)  # one batch, however loaded the machine
    queued = queued_jobs
    batched_calls = record_batches(monkeypatch, REMINDER_KINDS)
    now = clock_now()
    due = sorted(
        Timer.objects.filter(kind__in=REMINDER_KINDS, status="pending", due_at__lte=now).values_list(
            "target", flat=True
        )
    )
    batched = one_batch_rolled_back(now, lambda: _rows(queued))
    queued.clear()
    for kind in REMINDER_KINDS:
        monkeypatch.delitem(timers.BATCH_HANDLERS, kind)
        monkeypatch.setattr(timers, "EARLY", timers.EARLY - {kind})
    assert timers.run_due_batch(now, 100)
    one_by_one = _rows(queued)

    # The batch handlers had every due reminder and left none to the one-by-one path.
    assert sorted(t for targets, _ in batched_calls for t in targets) == due
    assert all(not left for _, left in batched_calls)
    for name, rows in one_by_one.items():
        assert batched[name] == rows, name
    # And what both wrote is what each case asks for.
    told = {(case, kind) for _, case, kind, *_ in one_by_one["notifications"]}
    assert (ids["due"], "deadline_2h") in told and (ids["theirs"], "deadline_2h") in told
    assert (ids["late"], "deadline_near") in told  # its reminder ran before its deadline moved it on
    assert (ids["moved"], "deadline_2h") not in told and (ids["moved"], "deadline_near") in told
    assert not {kind for case, kind in told if case == ids["left"]} & {"deadline_near", "deadline_2h"}
    assert (ids["buyer"], "deadline_near") in told
    assert {event for _, _, _, event, *_ in one_by_one["dispatches"]} >= {"deadline_24h", "deadline_2h"}
    assert any(name == "send_notification_email" and args[0] == "buyer@example.com" for name, args in queued)
    assert not any(status == "pending" and due_at <= now for kind, _, status, due_at, *_ in one_by_one["timers"])
