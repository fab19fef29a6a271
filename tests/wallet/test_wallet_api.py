"""Wallet and the sandbox gateway: top-up → pay → signed notification → credited exactly once."""

import json

from kameng.wallet.gateways import SandboxGateway

NOTIFY = "/payments/notify/sandbox"


def balance(api, user):
    res = api.get("/wallet", token=user.token)
    assert res.status_code == 200
    assert res.data["currency"] == "CNY"
    return res.data["balance"]


def notify(api, body: bytes, signature: str):
    return api.client.post(
        f"/api/v1{NOTIFY}",
        data=body,
        content_type="application/json",
        headers={SandboxGateway.SIGNATURE_HEADER: signature},
    )


def test_topup_is_pending_until_paid_then_credited_once(api, buyer):
    assert balance(api, buyer) == 0
    res = api.post("/wallet/topups", {"amount": 5000}, token=buyer.token)
    assert res.status_code == 201
    topup = res.data
    assert topup["amount"] == 5000
    assert topup["status"] == "pending"
    assert topup["pay_url"] == f"/sandbox/pay/{topup['id']}"
    assert api.get(f"/wallet/topups/{topup['id']}", token=buyer.token).data["status"] == "pending"
    assert balance(api, buyer) == 0

    paid = api.client.post(
        topup["pay_url"], headers={"Accept": "application/json", "Authorization": f"Bearer {buyer.token}"}
    )
    assert paid.status_code == 200
    got = api.get(f"/wallet/topups/{topup['id']}", token=buyer.token).data
    assert got["id"] == topup["id"]
    assert got["amount"] == 5000
    assert got["status"] == "succeeded"
    assert balance(api, buyer) == 5000

    # The gateway's page pressed again: the same notification, nothing more credited.
    again = api.client.post(
        topup["pay_url"], headers={"Accept": "application/json", "Authorization": f"Bearer {buyer.token}"}
    )
    assert again.status_code == 200
    assert balance(api, buyer) == 5000


def test_forged_signature_is_400_and_credits_nothing(api, buyer):
    topup = api.post("/wallet/topups", {"amount": 8000}, token=buyer.token).data
    body = json.dumps({"out_trade_no": topup["out_trade_no"], "amount": 8000, "reference": "FORGED"}).encode()
    for signature in ("", "0" * 64, SandboxGateway.sign(body)[:-1] + "x"):
        res = notify(api, body, signature)
        assert res.status_code == 400
        assert res.json()["error"]["type"] == "invalid_request"
        assert res.json()["error"]["code"] == "invalid_signature"
    # A body changed after signing is as bad as no signature.
    signed = SandboxGateway.sign(body)
    tampered = body.replace(b"8000", b"9000")
    assert notify(api, tampered, signed).status_code == 400
    assert api.get(f"/wallet/topups/{topup['id']}", token=buyer.token).data["status"] == "pending"
    assert balance(api, buyer) == 0

    from kameng.wallet.models import PaymentNotification

    assert PaymentNotification.objects.filter(valid=False).count() == 4  # kept for audit


def test_replayed_notification_credits_nothing_more(api, buyer):
    topup = api.post("/wallet/topups", {"amount": 12345}, token=buyer.token).data
    from kameng.wallet.models import Payment

    body = SandboxGateway().notification_for(Payment.objects.get(pk=int(topup["id"])))
    signature = SandboxGateway.sign(body)
    first = notify(api, body, signature)
    assert first.status_code == 200
    assert first.json()["status"] == "succeeded"
    for _ in range(3):
        replay = notify(api, body, signature)
        assert replay.status_code == 200
    assert balance(api, buyer) == 12345

    from kameng.ledger.models import JournalEntry

    assert JournalEntry.objects.filter(kind="topup").count() == 1


def test_notification_amount_must_match_the_topup(api, buyer):
    topup = api.post("/wallet/topups", {"amount": 1000}, token=buyer.token).data
    body = json.dumps({"out_trade_no": topup["out_trade_no"], "amount": 999999, "reference": "SBX-X"}).encode()
    res = notify(api, body, SandboxGateway.sign(body))
    assert res.status_code == 400
    assert balance(api, buyer) == 0


def test_invalid_amounts_are_refused(api, buyer):
    for amount in (0, -100, 10_000_001):
        res = api.post("/wallet/topups", {"amount": amount}, token=buyer.token)
        assert res.status_code == 400
        assert res.data["error"]["param"] == "amount"


def test_topups_are_private(api, buyer, make_user):
    topup = api.post("/wallet/topups", {"amount": 1000}, token=buyer.token).data
    other = make_user("buyer")
    assert api.get(f"/wallet/topups/{topup['id']}", token=other.token).status_code == 404
    assert api.get("/wallet").status_code == 401


def test_unknown_gateway_is_404(api, db):
    res = api.client.post("/api/v1/payments/notify/paypal", data=b"{}", content_type="application/json")
    assert res.status_code == 404
    assert res.json()["error"]["type"] == "not_found"


def test_only_the_payments_own_user_can_pay_it_in_the_sandbox(api, buyer, make_user):
    topup = api.post("/wallet/topups", {"amount": 4321}, token=buyer.token).data
    other = make_user("buyer")
    anonymous = api.client.post(topup["pay_url"], headers={"Accept": "application/json"})
    stranger = api.client.post(
        topup["pay_url"], headers={"Accept": "application/json", "Authorization": f"Bearer {other.token}"}
    )
    assert anonymous.status_code == 404 and stranger.status_code == 404
    assert api.client.get(topup["pay_url"]).status_code == 404
    assert balance(api, buyer) == 0 and balance(api, other) == 0
    owner = api.client.post(
        topup["pay_url"], headers={"Accept": "application/json", "Authorization": f"Bearer {buyer.token}"}
    )
    assert owner.status_code == 200 and balance(api, buyer) == 4321


def test_sandbox_off_removes_its_pages_and_api(api, buyer, settings):
    topup = api.post("/wallet/topups", {"amount": 500}, token=buyer.token).data
    settings.SANDBOX_ENABLED = False
    headers = {"Accept": "application/json", "Authorization": f"Bearer {buyer.token}"}
    assert api.client.get(topup["pay_url"], headers=headers).status_code == 404
    assert api.client.post(topup["pay_url"], headers=headers).status_code == 404
    body = json.dumps({"out_trade_no": topup["out_trade_no"], "amount": 500, "reference": "SBX1"}).encode()
    assert notify(api, body, SandboxGateway.sign(body)).status_code == 404
    res = api.post("/wallet/topups", {"amount": 500}, token=buyer.token)
    assert res.status_code == 400 and res.data["error"]["code"] == "gateway_unavailable"
    assert balance(api, buyer) == 0
