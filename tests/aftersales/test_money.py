"""Where a refund's money comes from: escrow, else the merchant's wallet, else the platform
(先行赔付) against a merchant debt that blocks withdrawals until income settles it."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kameng.ledger.models import JournalEntry
from kameng.ledger.services import balance, debt_code, wallet_code

from .conftest import RATIONALE


def refunds_of(case) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(kind="refund", case_id=int(case["id"])))


def withdraw(api, user, amount, **kw):
    return api.post("/wallet/withdrawals", {"amount": amount}, token=user.token, **kw)


def test_a_refund_comes_out_of_escrow_into_the_buyers_wallet(api, buyer, merchant, new_order, open_case, act, wallet):
    order = new_order()
    before = wallet(buyer)["balance"]
    case = act(open_case(order, amount=12345), "accept", merchant)
    assert case["refunded_amount"] == 12345 and case["resolution"] == "refund_full"
    assert wallet(buyer)["balance"] == before + 12345
    assert balance(f"escrow:order:{order['id']}") == order["amount"] - 12345
    [entry] = refunds_of(case)
    assert entry.order_id == int(order["id"])
    assert api.post(f"/refunds/{case['id']}/accept", token=merchant.token).status_code == 409
    assert len(refunds_of(case)) == 1
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["amount"] == order["amount"] - 12345


def _accounts_locked(run) -> set[str]:
    """The ledger account codes named by the FOR UPDATE statements of `run()`."""
    with CaptureQueriesContext(connection) as captured:
        run()
    statements = [
        q["sql"] for q in captured.captured_queries if "ledger_account" in q["sql"] and "FOR UPDATE" in q["sql"]
    ]
    assert statements or connection.vendor == "sqlite", "the accept locks its accounts"
    return {code for sql in statements for code in re.findall(r"(?:wallet|escrow|debt):[a-z]+:\d+", sql)}


def test_a_refund_from_a_frozen_escrow_locks_neither_of_the_merchants_accounts(
    api, buyer, merchant, new_order, open_case, act
):
    """A busy shop's accepts do not queue on its wallet and debt rows: the escrow pays the refund."""
    order = new_order()
    case = open_case(order, amount=10000)
    locked = _accounts_locked(lambda: act(case, "accept", merchant))
    assert balance(wallet_code(merchant.pk)) == 0 and balance(f"escrow:order:{order['id']}") == order["amount"] - 10000
    if connection.vendor == "postgresql":  # SQLite has no row locks (select_for_update is a no-op there)
        assert f"escrow:order:{order['id']}" in locked and wallet_code(buyer.pk) in locked
        assert wallet_code(merchant.pk) not in locked and debt_code(merchant.pk) not in locked


def test_after_release_the_merchants_wallet_pays_the_refund(api, buyer, merchant, new_order, open_case, act, wallet):
    order = new_order()
    assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200
    assert wallet(merchant)["balance"] == 30000
    case = open_case(order, amount=10000)  # within after_sale_until, after confirmation
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["escrow"]["status"] == "released"  # nothing left to freeze
    locked = _accounts_locked(lambda: act(case, "accept", merchant))
    if connection.vendor == "postgresql":
        assert wallet_code(merchant.pk) in locked and debt_code(merchant.pk) in locked
    assert wallet(merchant) == {"balance": 20000, "currency": "CNY", "debt": 0}
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["status"] == "partially_refunded"


def test_where_the_merchant_is_short_the_platform_advances_and_books_a_debt(
    api, buyer, merchant, new_order, open_case, act, wallet, fund, buy, stocked_listing
):
    order = new_order()
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert withdraw(api, merchant, 25000).status_code == 201  # the merchant takes most of the money out
    before = wallet(buyer)["balance"]
    case = act(open_case(order), "accept", merchant)  # ¥300 back; the merchant has ¥50
    assert wallet(buyer)["balance"] == before + 30000
    assert wallet(merchant) == {"balance": 0, "currency": "CNY", "debt": 25000}
    got = api.get(f"/orders/{order['id']}", token=buyer.token).data
    assert got["status"] == "refunded" and got["escrow"]["status"] == "refunded"  # clawed back after release
    # a merchant in debt cannot withdraw
    res = withdraw(api, merchant, 1)
    assert res.status_code == 409 and res.data["error"]["code"] == "merchant_debt_outstanding"
    # new income settles the debt first
    fund(buyer, 30000)
    second = buy(buyer, stocked_listing)
    api.post(f"/orders/{second['id']}/confirm", token=buyer.token)
    assert wallet(merchant) == {"balance": 5000, "currency": "CNY", "debt": 0}
    assert withdraw(api, merchant, 5000).status_code == 201
    assert len(refunds_of(case)) == 1


def test_a_decision_after_release_also_advances(api, buyer, merchant, arbitrator, new_order, open_case, act, wallet):
    order = new_order()
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    withdraw(api, merchant, 30000)
    case = act(open_case(order), "reject", merchant, {"reason": "激活成功"})
    act(case, "escalate", buyer)
    act(case, "decide", arbitrator, {"outcome": "refund_partial", "amount": 7000, "rationale": RATIONALE})
    assert wallet(merchant)["debt"] == 0  # not final yet: nothing moved
    act(case, "accept_decision", buyer)
    act(case, "accept_decision", merchant)
    assert wallet(merchant) == {"balance": 0, "currency": "CNY", "debt": 7000}


def test_withdrawals(api, buyer, merchant, arbitrator, fund, wallet):
    fund(buyer, 10000)
    res = withdraw(api, buyer, 10001)
    assert res.status_code == 402 and res.data["error"]["type"] == "insufficient_funds"
    for amount in (0, -1):
        assert withdraw(api, buyer, amount).status_code == 400
    assert withdraw(api, arbitrator, 1).status_code == 403
    res = withdraw(api, buyer, 4000, headers={"Idempotency-Key": "w-1"})
    assert res.status_code == 201 and res.data["amount"] == 4000 and res.data["status"] == "paid"
    again = withdraw(api, buyer, 4000, headers={"Idempotency-Key": "w-1"})
    assert again.status_code == 201 and again.data == res.data
    assert wallet(buyer)["balance"] == 6000
    assert balance("gateway:payout") == 4000
    assert JournalEntry.objects.filter(kind="withdrawal").count() == 1
