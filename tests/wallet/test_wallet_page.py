"""The wallet page: a merchant sees what escrow holds for them, what they owe and what they can
withdraw, and withdraws; a buyer chooses the gateway to top up with."""

from django.test import Client

from kameng.money import yuan
from kameng.wallet.models import Payment, Withdrawal


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_merchant_sees_escrow_held_debt_and_withdrawable_and_withdraws(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=9900)
    fund(buyer, 30000)
    buy(buyer, listing)  # held in escrow until confirmed
    confirmed = buy(buyer, listing)
    assert api.post(f"/orders/{confirmed['id']}/confirm", token=buyer.token).status_code == 200
    client = signed_in(merchant)
    html = client.get("/wallet/").content.decode()
    assert 'data-testid="escrow-held">¥99.00<' in html
    assert 'data-testid="wallet-debt">¥0.00<' in html
    wallet = api.get("/wallet", token=merchant.token).data
    assert f'data-testid="withdrawable">{yuan(wallet["balance"])}<' in html and wallet["balance"] > 0

    res = client.post("/wallet/", {"action": "withdraw", "amount": "50.00", "gateway": "payout"})
    assert res.status_code == 302
    withdrawal = Withdrawal.objects.get(user=merchant)
    assert withdrawal.amount == 5000 and withdrawal.status == "paid"
    assert api.get("/wallet", token=merchant.token).data["balance"] == wallet["balance"] - 5000
    assert "已到账" in client.get("/wallet/").content.decode()
    too_much = client.post("/wallet/", {"action": "withdraw", "amount": "100000.00", "gateway": "payout"})
    assert too_much.status_code == 200 and "余额不足" in too_much.content.decode()


def test_a_buyer_tops_up_through_the_gateway_they_choose(buyer, epay):
    client = signed_in(buyer)
    page = client.get("/wallet/").content.decode()
    assert 'value="sandbox"' in page and 'value="epay"' in page and 'value="alipay"' not in page  # alipay is off
    res = client.post("/wallet/", {"amount": "12.00", "gateway": "epay"})
    payment = Payment.objects.get(user=buyer)
    assert payment.gateway == "epay" and payment.amount == 1200
    assert res.status_code == 302 and res["Location"].startswith(f"{epay.url}/submit.php?")
