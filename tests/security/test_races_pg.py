"""Money races not covered elsewhere, on a real PostgreSQL: each shows exactly one effect.

Already covered: the last card key and confirmations (tests/orders/test_concurrency_pg.py),
accepts, rival case actions, appeal window vs accept_decision, merchant silence vs accept
(tests/aftersales/test_concurrency_pg.py), two sweepers (tests/timers). Here: one wallet paying
for many purchases at once, a repeated purchase under one Idempotency-Key, accept_offer (eight at
once, and against the buyer's deadline), both parties accepting a compromise at the same moment,
the compromise deadline against the last acceptance, and replays of one signed sandbox
notification.
"""

import pytest
from django.db.models import Count

from kameng.clock import services as clock
from kameng.ledger.models import Account, JournalEntry
from kameng.timers import services as timers
from kameng.timers.models import Timer

from .conftest import http_post

pytestmark = pytest.mark.postgres
PARALLEL = 8
RATIONALE = "依据类目规则与双方证据，双方各承担一部分责任，折中处理"


def refunds(case_id) -> int:
    return JournalEntry.objects.filter(kind="refund", case_id=int(case_id)).count()


def balance(api, user) -> int:
    return api.get("/wallet", token=user.token).data["balance"]


@pytest.fixture
def case_for(api, buyer, merchant, make_listing, fund, buy):
    """A fresh ¥300 order (not fast track) of `buyer` with an open case, per call."""
    listing = make_listing(merchant, price=30000, stock=[f"R-{i}" for i in range(10)])
    fund(buyer, 300000)

    def make():
        order = buy(buyer, listing)
        res = api.post(
            "/refunds",
            {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": order["amount"]},
            token=buyer.token,
        )
        assert res.status_code == 201, res.data
        return res.data

    return make


def test_one_wallet_pays_for_only_one_of_eight_simultaneous_purchases(
    race, postgres, api, buyer, merchant, make_listing, fund
):
    listings = [make_listing(merchant, title=f"点卡 {i}", price=5000, stock=[f"W-{i}"]) for i in range(PARALLEL)]
    fund(buyer, 5000)

    results = race([http_post("/orders", buyer.token, {"listing": item["id"]}) for item in listings])

    statuses = sorted(s for s, _ in results)
    assert statuses == [201] + [402] * (PARALLEL - 1), results
    assert all(b["error"]["type"] == "insufficient_funds" for s, b in results if s == 402)
    assert balance(api, buyer) == 0
    assert JournalEntry.objects.filter(kind="purchase").count() == 1
    assert not Account.objects.filter(kind__in=["wallet", "escrow"], balance__lt=0).exists()


def test_one_idempotency_key_buys_once_however_often_it_is_sent_at_once(
    race, postgres, api, buyer, merchant, make_listing, fund
):
    listing = make_listing(merchant, price=2000, stock=[f"I-{i}" for i in range(PARALLEL)])
    fund(buyer, 2000 * PARALLEL)
    key = {"Idempotency-Key": "double-click-7f3a"}

    results = race(
        [http_post("/orders", buyer.token, {"listing": listing["id"]}, headers=key) for _ in range(PARALLEL)]
    )

    created = {b["id"] for s, b in results if s == 201}
    assert len(created) == 1, results  # replays answer with the same order
    assert all(s == 201 or (s == 409 and b["error"]["type"] == "idempotency_error") for s, b in results), results
    assert JournalEntry.objects.filter(kind="purchase").count() == 1
    assert balance(api, buyer) == 2000 * (PARALLEL - 1)


def test_eight_simultaneous_accept_offers_refund_once(race, postgres, api, buyer, merchant, case_for):
    case = case_for()
    assert api.post(f"/refunds/{case['id']}/offer", {"amount": 12000}, token=merchant.token).status_code == 200
    before = balance(api, buyer)

    results = race([http_post(f"/refunds/{case['id']}/accept_offer", buyer.token) for _ in range(PARALLEL)])

    assert sorted(s for s, _ in results) == [200] + [409] * (PARALLEL - 1), results
    assert refunds(case["id"]) == 1 and balance(api, buyer) == before + 12000
    got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
    assert got["status"] == "closed" and got["refunded_amount"] == 12000
    assert [e["type"] for e in got["events"]].count("refunded") == 1


def test_accept_offer_racing_the_buyer_deadline_has_one_outcome(race, postgres, api, buyer, merchant, case_for):
    for _ in range(3):  # either side may win each round
        case = case_for()
        api.post(f"/refunds/{case['id']}/offer", {"amount": 10000}, token=merchant.token)
        before = balance(api, buyer)
        moment = clock.advance(7 * 24 * 3600 + 1)  # past buyer_respond_by, not swept yet

        results = race(
            [
                lambda moment=moment: ("sweep", timers.sweep(moment)),
                http_post(f"/refunds/{case['id']}/accept_offer", buyer.token),
            ]
        )

        ((status, body),) = [r for r in results if r[0] != "sweep"]
        got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
        assert got["status"] == "closed"
        if status == 200:
            assert got["resolution"] == "refund_partial" and refunds(case["id"]) == 1
            assert balance(api, buyer) == before + 10000
        else:
            assert status == 409 and got["resolution"] == "withdrawn" and refunds(case["id"]) == 0
            assert balance(api, buyer) == before
    assert not Timer.objects.filter(attempts__gt=0).exists()


def _compromise(api, case, arbitrator, buyer, merchant):
    assert api.post(f"/refunds/{case['id']}/reject", {"reason": "已使用"}, token=merchant.token).status_code == 200
    assert api.post(f"/refunds/{case['id']}/escalate", token=buyer.token).status_code == 200
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "compromise", "amount": 15000, "rationale": RATIONALE},
        token=arbitrator.token,
    )
    assert res.status_code == 200, res.data


def test_both_parties_accepting_a_compromise_at_once_refund_once(
    race, postgres, api, buyer, merchant, arbitrator, case_for
):
    for _ in range(3):
        case = case_for()
        _compromise(api, case, arbitrator, buyer, merchant)
        before = balance(api, buyer)

        results = race(
            [
                http_post(f"/refunds/{case['id']}/respond_compromise", buyer.token, {"accept": True}),
                http_post(f"/refunds/{case['id']}/respond_compromise", merchant.token, {"accept": True}),
            ]
        )

        assert sorted(s for s, _ in results) == [200, 200], results
        got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
        assert got["status"] == "closed" and got["decision"]["final"] is True
        assert refunds(case["id"]) == 1 and balance(api, buyer) == before + 15000


def test_the_compromise_deadline_racing_the_last_acceptance_has_one_outcome(
    race, postgres, api, buyer, merchant, arbitrator, case_for
):
    for _ in range(3):
        case = case_for()
        _compromise(api, case, arbitrator, buyer, merchant)
        assert (
            api.post(f"/refunds/{case['id']}/respond_compromise", {"accept": True}, token=buyer.token).status_code
            == 200
        )
        before = balance(api, buyer)
        moment = clock.advance(48 * 3600 + 1)

        results = race(
            [
                lambda moment=moment: ("sweep", timers.sweep(moment)),
                http_post(f"/refunds/{case['id']}/respond_compromise", merchant.token, {"accept": True}),
            ]
        )

        ((status, body),) = [r for r in results if r[0] != "sweep"]
        got = api.get(f"/refunds/{case['id']}", token=buyer.token).data
        if status == 200:  # the merchant was in time: final at the compromise
            assert got["status"] == "closed" and refunds(case["id"]) == 1
            assert balance(api, buyer) == before + 15000
        else:  # the deadline won: back to the arbitrator, no money moved
            assert status == 409 and got["status"] == "in_arbitration" and refunds(case["id"]) == 0
            assert balance(api, buyer) == before
    assert not Timer.objects.filter(attempts__gt=0).exists()


def test_replays_of_one_signed_notification_credit_once(race, postgres, api, buyer):
    from kameng.wallet.gateways import get_gateway
    from kameng.wallet.models import Payment, PaymentNotification

    topup = api.post("/wallet/topups", {"amount": 7777}, token=buyer.token).data
    gateway = get_gateway("sandbox")
    body = gateway.notification_for(Payment.objects.get(pk=int(topup["id"])))
    headers = {"X-Sandbox-Signature": gateway.sign(body)}
    calls = [http_post("/payments/notify/sandbox", raw=body, headers=headers) for _ in range(PARALLEL)]

    results = race(calls)

    assert all(s == 200 for s, _ in results), results
    assert balance(api, buyer) == 7777
    assert JournalEntry.objects.filter(kind="topup", idempotency_key=f"payment:{topup['id']}").count() == 1
    assert PaymentNotification.objects.filter(valid=True).count() == PARALLEL  # every delivery is on record
    assert api.get(f"/wallet/topups/{topup['id']}", token=buyer.token).data["status"] == "succeeded"
    dupes = JournalEntry.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1)
    assert not dupes.exists()
