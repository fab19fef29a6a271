"""Staged payment (定金 + 尾款), as api-v1.md v1.1 says: the merchant cannot deliver while the buyer's
wallet cannot cover the balance (409 balance_unpaid, nothing changes, the buyer is told); the buyer
pays the balance early with POST /orders/{id}/pay_balance (402 if short); no order is ever completed
while a balance is due."""

import pytest

from kameng.clock.services import now as clock_now
from kameng.orders.models import OrderEvent


def wallet(api, user):
    return api.get("/wallet", token=user.token).data["balance"]


@pytest.fixture
def staged(api, buyer, merchant, make_listing, fund, buy):
    """A 10000-fen boosting order with a 30% deposit paid; the buyer's wallet is empty afterwards."""
    listing = make_listing(
        merchant, category="game_boosting", kind="service", price=10000, deposit_percent=30, verification_minutes=60
    )
    fund(buyer, 3000)
    order = buy(buyer, listing, accept_special_terms=True)
    assert (order["status"], order["escrow"]["amount"], order["balance_due"]) == ("paid", 3000, 7000)
    return order


def test_delivery_is_refused_while_the_buyer_cannot_cover_the_balance_and_the_buyer_is_told(
    api, buyer, merchant, staged
):
    before = api.get(f"/orders/{staged['id']}", token=buyer.token).data
    refused = api.post(f"/orders/{staged['id']}/deliver", {"content": "已上钻石"}, token=merchant.token)
    assert refused.status_code == 409, refused.data
    assert refused.data["error"]["type"] == "conflict" and refused.data["error"]["code"] == "balance_unpaid"
    assert "70.00" in refused.data["error"]["message"]
    english = api.post(
        f"/orders/{staged['id']}/deliver", {"content": "done"}, token=merchant.token, headers={"Accept-Language": "en"}
    )
    assert english.data["error"]["message"].startswith("The buyer's wallet cannot cover the balance of ¥70.00")

    after = api.get(f"/orders/{staged['id']}", token=buyer.token).data
    assert after == before  # nothing changed: not delivered, no content, the same escrow
    assert OrderEvent.objects.filter(order_id=staged["id"], type="delivered").count() == 0
    notices = api.get("/notifications", token=buyer.token).data["data"]
    unpaid = [n for n in notices if n["kind"] == "balance_unpaid"]
    assert len(unpaid) == 2 and staged["number"] in unpaid[0]["text"] and "70.00" in unpaid[0]["text"]
    assert not [
        n for n in api.get("/notifications", token=merchant.token).data["data"] if n["kind"] == "balance_unpaid"
    ]


def test_pay_balance_is_402_while_short_then_moves_the_balance_into_escrow(api, buyer, merchant, fund, staged):
    path = f"/orders/{staged['id']}/pay_balance"
    short = api.post(path, token=buyer.token)
    assert short.status_code == 402 and short.data["error"]["type"] == "insufficient_funds"
    assert api.get(f"/orders/{staged['id']}", token=buyer.token).data["balance_due"] == 7000

    fund(buyer, 7500)
    paid = api.post(path, token=buyer.token)
    assert paid.status_code == 200, paid.data
    assert (paid.data["status"], paid.data["balance_due"], paid.data["escrow"]["amount"]) == ("paid", 0, 10000)
    assert wallet(api, buyer) == 500
    again = api.post(path, token=buyer.token)
    assert again.status_code == 409 and again.data["error"]["code"] == "no_balance_due"

    delivered = api.post(f"/orders/{staged['id']}/deliver", {"content": "已上钻石"}, token=merchant.token)
    assert delivered.status_code == 200 and delivered.data["status"] == "delivered"
    done = api.post(f"/orders/{staged['id']}/confirm", token=buyer.token).data
    assert done["status"] == "completed" and wallet(api, merchant) == 10000 and wallet(api, buyer) == 500
    types = list(OrderEvent.objects.filter(order_id=staged["id"]).values_list("type", flat=True))
    assert types == ["paid", "balance_paid", "delivered", "confirmed", "escrow_released"]


def test_only_the_buyer_pays_the_balance(api, buyer, merchant, make_user, fund, staged):
    path = f"/orders/{staged['id']}/pay_balance"
    assert api.post(path, token=merchant.token).status_code == 403
    stranger = make_user("buyer")
    fund(stranger, 10000)
    assert api.post(path, token=stranger.token).status_code == 404
    assert api.post(path).status_code == 401
    assert api.get(f"/orders/{staged['id']}", token=buyer.token).data["balance_due"] == 7000


def test_a_wallet_order_without_a_balance_has_nothing_to_pay(api, buyer, merchant, make_listing, fund, buy):
    fund(buyer, 9900)
    order = buy(buyer, make_listing(merchant))
    res = api.post(f"/orders/{order['id']}/pay_balance", token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "no_balance_due"


def test_a_release_after_a_case_closed_collects_the_balance_first(
    api, buyer, merchant, fund, advance, staged, delivered_short
):
    """The left-over of staged payment: a case closing after release_at released the escrow at once
    without the balance, completing the order with 70% never collected."""
    delivered_short(int(staged["id"]))
    body = {"order": staged["id"], "reason": "defective", "description": "段位没上去", "amount": 1000}
    case = api.post("/refunds", body, token=buyer.token)
    assert case.status_code == 201, case.data
    advance(2 * 3600)  # past release_at while the case holds the escrow frozen
    fund(buyer, 7000)
    withdrawn = api.post(f"/refunds/{case.data['id']}/withdraw", token=buyer.token)
    assert withdrawn.status_code == 200, withdrawn.data
    order = api.get(f"/orders/{staged['id']}", token=buyer.token).data
    assert (order["status"], order["balance_due"], order["escrow"]["status"]) == ("completed", 0, "released")
    assert wallet(api, merchant) == 10000 and wallet(api, buyer) == 0


def test_a_release_the_buyer_cannot_cover_waits_until_the_balance_is_paid(
    api, buyer, merchant, fund, advance, staged, delivered_short
):
    delivered_short(int(staged["id"]))
    advance(2 * 3600)  # the release timer fires: the buyer cannot cover the balance
    order = api.get(f"/orders/{staged['id']}", token=buyer.token).data
    assert (order["status"], order["escrow"]["status"], order["balance_due"]) == ("delivered", "held", 7000)
    assert OrderEvent.objects.filter(order_id=staged["id"], type="balance_unpaid").count() == 1
    assert wallet(api, merchant) == 0
    assert api.post(f"/orders/{staged['id']}/confirm", token=buyer.token).status_code == 402

    fund(buyer, 7000)
    paid = api.post(f"/orders/{staged['id']}/pay_balance", token=buyer.token)
    assert paid.status_code == 200, paid.data
    assert (paid.data["status"], paid.data["balance_due"], paid.data["escrow"]["amount"]) == ("completed", 0, 0)
    assert wallet(api, merchant) == 10000


def test_the_transition_path_refuses_to_complete_an_order_with_a_balance_due(
    monkeypatch, buyer, staged, delivered_short
):
    """The last line of defence behind the table: whatever row a future change adds, storing
    `completed` while a balance is due fails and rolls the transition back."""
    from django.db import transaction

    from kameng.orders import lifecycle
    from kameng.orders.services import transition

    order = delivered_short(int(staged["id"]))
    sneaky = lifecycle.Row(
        lifecycle.DELIVERED_HELD,
        lifecycle.Event.CONFIRMED,
        lifecycle.Actor.BUYER,
        lifecycle.COMPLETED,
        lifecycle.ALWAYS,
        (lifecycle.Effect.NOTE_CONFIRMED,),
    )
    monkeypatch.setattr(lifecycle, "TABLE", (sneaky,))
    with pytest.raises(AssertionError, match="balance of 7000 due"), transaction.atomic():
        transition(order, lifecycle.Event.CONFIRMED, actor=lifecycle.Actor.BUYER, user=buyer, now=clock_now())
    order.refresh_from_db()
    assert (order.status, order.balance_due) == ("delivered", 7000)


def test_the_order_page_offers_the_buyer_the_balance_and_pays_it(client, api, buyer, merchant, fund, staged):
    client.force_login(buyer)
    page = client.get(f"/orders/{staged['id']}").content.decode()
    assert 'data-testid="pay-balance"' in page and "¥70.00" in page
    short = client.post(f"/orders/{staged['id']}/pay-balance", follow=True).content.decode()
    assert "余额不足" in short
    fund(buyer, 7000)
    paid = client.post(f"/orders/{staged['id']}/pay-balance", follow=True).content.decode()
    assert "尾款已付入平台担保" in paid and 'data-testid="pay-balance"' not in paid
    assert api.get(f"/orders/{staged['id']}", token=buyer.token).data["balance_due"] == 0
    client.force_login(merchant)
    assert 'data-testid="pay-balance"' not in client.get(f"/orders/{staged['id']}").content.decode()
