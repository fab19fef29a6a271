"""Builders for refund-case tests: orders, cases in any status, actions and evidence over HTTP."""

from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

RATIONALE = "依据类目规则与双方证据：商品与描述不符，部分影响主要功能"


@pytest.fixture
def delivered_order(api, buyer, merchant, make_listing, fund, buy):
    """A buyer with a delivered ¥99 card-key order (fast track: standardized, under ¥200)."""
    listing = make_listing(merchant)
    fund(buyer, 50000)
    return buy(buyer, listing)


@pytest.fixture
def get_case(api):
    def get(case, user):
        res = api.get(f"/refunds/{case['id']}", token=user.token)
        assert res.status_code == 200, res.data
        return res.data

    return get


@pytest.fixture
def add_evidence(api):
    def add(case, user, text="补充证据：聊天截图文字版", category="problem"):
        res = api.client.post(
            f"/api/v1/refunds/{case['id']}/evidence",
            {"file": SimpleUploadedFile("note.txt", text.encode()), "category": category, "note": "补充"},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert res.status_code == 201, res.content
        return res.json()

    return add


@pytest.fixture
def wallet(api):
    def balance(user):
        return api.get("/wallet", token=user.token).data

    return balance


@pytest.fixture
def second_arbitrator(make_user):
    return make_user("arbitrator")


@pytest.fixture
def stocked_listing(merchant, make_listing):
    """A ¥300 standardized card-key listing with plenty of stock: a full refund is not fast track."""
    return make_listing(merchant, price=30000, stock=[f"KEY-{i:04d}" for i in range(40)])


@pytest.fixture
def new_order(buyer, fund, buy, stocked_listing):
    def make(listing=None, user=None):
        user = user or buyer
        listing = listing or stocked_listing
        fund(user, listing["price"])
        return buy(user, listing)

    return make


@pytest.fixture
def case_in(api, new_order, open_case, act, add_evidence, buyer, merchant, arbitrator):
    """A fresh case (on a fresh ¥300 order) driven over HTTP into the named state.

    States: awaiting_merchant, awaiting_buyer_offer, awaiting_buyer_rejected, awaiting_buyer_replacement,
    in_arbitration,
    decided (refund_partial ¥100, new evidence from both parties after it), compromise (a pending
    compromise of ¥150), in_appeal (the buyer appealed), closed (withdrawn).
    """

    def build(state, amount=None):
        order = new_order()
        case = open_case(order, amount=amount)
        if state == "awaiting_merchant":
            return case
        if state == "closed":
            return act(case, "withdraw", buyer)
        if state == "awaiting_buyer_offer":
            return act(case, "offer", merchant, {"amount": case["requested_amount"] // 2})
        if state == "awaiting_buyer_replacement":
            return act(case, "replace", merchant)  # the next key from stock
        case = act(case, "reject", merchant, {"reason": "激活码已被买家使用，系统显示激活成功"})
        if state == "awaiting_buyer_rejected":
            return case
        case = act(case, "escalate", buyer)
        if state == "in_arbitration":
            return case
        if state == "compromise":
            return act(
                case,
                "decide",
                arbitrator,
                {"outcome": "compromise", "amount": case["requested_amount"] // 2, "rationale": RATIONALE},
            )
        case = act(
            case,
            "decide",
            arbitrator,
            {"outcome": "refund_partial", "amount": case["requested_amount"] // 3, "rationale": RATIONALE},
        )
        add_evidence(case, buyer, "买家补充：激活失败录屏说明")
        add_evidence(case, merchant, "商家补充：激活日志")
        if state == "decided":
            return api.get(f"/refunds/{case['id']}", token=buyer.token).data
        assert state == "in_appeal", state
        return act(case, "appeal", buyer, {"reason": "仲裁未考虑激活失败录屏"})

    return build


@pytest.fixture
def clock_at(advance):
    """Put the shared test clock at `moment`: forward through the API; backwards (a past calendar
    year the holiday package covers) by setting the offset row, which the API deliberately refuses."""

    def set_(moment: datetime):
        from kameng.clock.models import ClockOffset
        from kameng.clock.services import now

        delta = int((moment - now()).total_seconds())
        if delta >= 0:
            advance(delta)
        else:
            row, _ = ClockOffset.objects.get_or_create(pk=1)
            row.seconds += delta
            row.save(update_fields=["seconds"])
        return now()

    return set_


@pytest.fixture
def queued_jobs(monkeypatch) -> list:
    """Every background job enqueued during the test, as (name, args), in order; the jobs still run."""
    from kameng.timers import jobs

    queued: list = []
    enqueue = jobs.enqueue

    def recording_enqueue(name, *args, **options):
        queued.append((name, args))
        enqueue(name, *args, **options)

    monkeypatch.setattr(jobs, "enqueue", recording_enqueue)
    return queued


def record_batches(monkeypatch, kinds) -> list:
    """Wrap the batch handlers of `kinds`: each call's (sorted targets, sorted targets left) is recorded."""
    from kameng.timers import services as timers

    calls: list = []
    for kind in kinds:

        def recording(targets, now, handle=timers.BATCH_HANDLERS[kind]):
            left = handle(targets, now)
            calls.append((sorted(targets), sorted(left)))
            return left

        monkeypatch.setitem(timers.BATCH_HANDLERS, kind, recording)
    return calls


def one_batch_rolled_back(now, read):
    """Run one sweep batch at `now`, return `read()` of what it wrote, and roll it all back."""
    from django.db import transaction

    from kameng.timers import services as timers

    with transaction.atomic():
        assert timers.run_due_batch(now, 100)
        seen = read()
        transaction.set_rollback(True)
    return seen
