"""免注册购买 and 查单 (api-v1.md v1.1 "Guest checkout"): a guest buys with a contact and a query
password through a gateway (the 易支付 simulator, a real HTTP server), gets a lookup_token scoped to
that one order, and finds the order again by number + query password; wrong or unknown answers 404
(never "wrong password"), rate-limited per order and per address. The key arrives by email too."""

import re

import pytest
from django.core import mail

from kameng.api.base import api as ninja_api
from kameng.orders.models import GuestAccess, GuestToken

PASSWORD = "cha-dan-2026"
ALLOWED = {
    ("GET", "/orders/{order_id}"),
    ("GET", "/orders/{order_id}/messages"),
    ("POST", "/orders/{order_id}/messages"),
}
ALLOWED |= {("POST", "/refunds")}


@pytest.fixture
def card(make_listing, merchant):
    return make_listing(merchant, title="Steam 充值卡 50 元", price=5000, stock=["STEAM-0001", "STEAM-0002"])


def guest_buy(api, listing, headers=None, **overrides):
    body = {"listing": listing["id"], "contact": "guest@example.com", "query_password": PASSWORD, "pay_with": "epay"}
    return api.post("/guest/orders", {**body, **overrides}, headers=headers)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_guest_buys_pays_at_the_gateway_and_gets_the_key_on_the_page_and_by_email(
    api, card, epay, epay_notify, django_capture_on_commit_callbacks
):
    res = guest_buy(api, card)
    assert res.status_code == 201, res.data
    order, token = res.data["order"], res.data["lookup_token"]
    assert order["status"] == "awaiting_payment" and order["payment"]["pay_url"].startswith(epay.url)
    assert token.startswith("gk_")

    with django_capture_on_commit_callbacks(execute=True):
        answer = epay_notify(epay.pay(order["payment"]["pay_url"]))
    assert answer.content == b"success"
    paid = api.get(f"/orders/{order['id']}", headers=bearer(token))
    assert paid.status_code == 200, paid.data
    assert paid.data["status"] == "delivered" and paid.data["delivery"]["items"] == ["STEAM-0001"]
    (email,) = mail.outbox
    assert email.to == ["guest@example.com"] and order["number"] in email.subject
    assert "STEAM-0001" in email.body and "STEAM-0002" not in email.body
    assert email.subject == f"[卡盟] 订单 {order['number']}" and "卡密：" in email.body


def test_a_guest_who_bought_in_english_gets_the_email_in_english(
    api, card, epay, epay_notify, django_capture_on_commit_callbacks
):
    res = guest_buy(api, card, headers={"Accept-Language": "en"})
    assert res.status_code == 201, res.data
    order = res.data["order"]
    assert GuestAccess.objects.get(order_id=order["id"]).order.buyer.language == "en"

    with django_capture_on_commit_callbacks(execute=True):
        epay_notify(epay.pay(order["payment"]["pay_url"]))
    (email,) = mail.outbox
    assert email.subject == f"[kameng] Order {order['number']}"
    assert email.body.splitlines() == [
        f"Your order {order['number']} is paid; the platform holds the money in escrow.",
        "Item: Steam 充值卡 50 元",
        "Card keys:",
        "STEAM-0001",
        "If anything is wrong, contact the merchant or request a refund on the “Look up an order” page; "
        "never pay outside the platform.",
    ]


def test_guest_checkout_refusals(api, card):
    wallet = guest_buy(api, card, pay_with="wallet")
    assert wallet.status_code == 400 and wallet.data["error"]["param"] == "pay_with"
    contact = guest_buy(api, card, contact="not-an-address", pay_with="sandbox")
    assert contact.status_code == 400 and contact.data["error"]["param"] == "contact"
    short = guest_buy(api, card, query_password="12345", pay_with="sandbox")
    assert short.status_code == 400 and short.data["error"]["param"] == "query_password"
    assert guest_buy(api, card, contact="13812345678", pay_with="sandbox").status_code == 201  # a mobile number
    assert GuestAccess.objects.get().contact == "13812345678"


def test_lookup_by_number_and_query_password_issues_a_new_token(api, card):
    order = guest_buy(api, card, pay_with="sandbox").data["order"]
    found = api.post("/guest/lookup", {"number": order["number"], "query_password": PASSWORD})
    assert found.status_code == 200, found.data
    assert found.data["order"]["id"] == order["id"] and found.data["lookup_token"].startswith("gk_")
    assert api.get(f"/orders/{order['id']}", headers=bearer(found.data["lookup_token"])).status_code == 200
    lower = api.post("/guest/lookup", {"number": order["number"].lower(), "query_password": PASSWORD})
    assert lower.status_code == 200  # the number as printed, in either case


def test_a_wrong_password_and_an_unknown_number_answer_the_same_404(api, card):
    order = guest_buy(api, card, pay_with="sandbox").data["order"]
    wrong = api.post("/guest/lookup", {"number": order["number"], "query_password": "not-the-one"})
    unknown = api.post("/guest/lookup", {"number": "KM2099010199999999", "query_password": PASSWORD})
    for res in (wrong, unknown):
        assert res.status_code == 404 and res.data["error"]["type"] == "not_found"
        assert "密码错误" not in res.data["error"]["message"]
    strip = lambda e: {k: v for k, v in e.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong.data["error"]) == strip(unknown.data["error"])
    english = api.post(
        "/guest/lookup", {"number": order["number"], "query_password": "x" * 8}, headers={"Accept-Language": "en"}
    )
    assert "wrong" not in english.data["error"]["message"].lower()


def test_lookups_are_rate_limited_per_order_and_per_address(api, card, settings):
    order = guest_buy(api, card, pay_with="sandbox").data["order"]
    for _ in range(10):
        assert api.post("/guest/lookup", {"number": order["number"], "query_password": "guess-123"}).status_code == 404
    limited = api.post("/guest/lookup", {"number": order["number"], "query_password": PASSWORD})
    assert limited.status_code == 429 and limited.data["error"]["type"] == "rate_limited"
    # the address limit counts every number: guessing across many orders stops too
    for i in range(19):
        api.post("/guest/lookup", {"number": f"KM20990101{i:08d}", "query_password": "guess-123"})
    other = api.post("/guest/lookup", {"number": "KM2099010100000099", "query_password": "guess-123"})
    assert other.status_code == 429


def test_the_query_password_and_the_tokens_are_stored_hashed(api, card):
    res = guest_buy(api, card, pay_with="sandbox").data
    access = GuestAccess.objects.get()
    assert PASSWORD not in access.password_hash and re.match(r"^\w+\$", access.password_hash)
    assert not GuestToken.objects.filter(token_hash=res["lookup_token"]).exists()
    guest = access.order.buyer
    assert not guest.has_usable_password()
    login = api.post("/auth/token", {"username": guest.username, "password": PASSWORD})
    assert login.status_code == 401


def test_a_lookup_token_opens_its_order_chat_and_refund_request(api, merchant, card, epay, epay_notify):
    order, token = (lambda d: (d["order"], d["lookup_token"]))(guest_buy(api, card).data)
    epay_notify(epay.pay(order["payment"]["pay_url"]))
    said = api.post(f"/orders/{order['id']}/messages", {"body": "卡密显示已使用"}, headers=bearer(token))
    assert said.status_code == 201, said.data
    api.post(f"/orders/{order['id']}/messages", {"body": "请稍等，我核实一下"}, token=merchant.token)
    chat = api.get(f"/orders/{order['id']}/messages", headers=bearer(token)).data["data"]
    assert [m["body"] for m in chat] == ["卡密显示已使用", "请稍等，我核实一下"]
    body = {"order": order["id"], "reason": "defective", "description": "卡密已被使用", "amount": 5000}
    case = api.post("/refunds", body, headers=bearer(token))
    assert case.status_code == 201, case.data
    assert case.data["order"] == order["id"]


def test_a_lookup_token_opens_nothing_else(api, buyer, merchant, card, fund, buy, epay, epay_notify):
    """Every other operation of the API answers a lookup_token as it answers no token (401), and
    the allowed ones refuse any other order (404)."""
    order, token = (lambda d: (d["order"], d["lookup_token"]))(guest_buy(api, card).data)
    epay_notify(epay.pay(order["payment"]["pay_url"]))
    fund(buyer, 5000)
    theirs = buy(buyer, card)
    body = {"order": order["id"], "reason": "defective", "description": "坏了", "amount": 100}
    case = api.post("/refunds", body, headers=bearer(token)).data

    schema = ninja_api.get_openapi_schema()
    checked = set()
    for path, operations in schema["paths"].items():
        route = path.removeprefix("/api/v1")
        for method, operation in operations.items():
            key = (method.upper(), route)
            if key in ALLOWED or not operation.get("security"):
                continue  # public operations answer anyone; the allowed ones are checked below
            url = re.sub(r"\{[a-z_]+\}", lambda m: {"{case_id}": case["id"]}.get(m.group(0), order["id"]), route)
            res = api.call(method, url, {} if method != "get" else None, headers=bearer(token))
            assert res.status_code == 401, (method, url, res.status_code, res.content[:200])
            checked.add(key)
    assert len(checked) > 40 and ("GET", "/orders") in checked and ("GET", "/refunds/{case_id}") in checked
    assert api.get("/orders/export", headers=bearer(token)).status_code == 401  # not in the schema's security

    for path in (f"/orders/{theirs['id']}", f"/orders/{theirs['id']}/messages"):
        assert api.get(path, headers=bearer(token)).status_code == 404
    other = {"order": theirs["id"], "reason": "defective", "description": "坏了", "amount": 100}
    assert api.post("/refunds", other, headers=bearer(token)).status_code == 404
    assert api.post(f"/orders/{theirs['id']}/messages", {"body": "hi"}, headers=bearer(token)).status_code == 404


def test_the_guest_pays_by_the_original_route_when_refunded(
    api, merchant, card, epay, epay_notify, django_capture_on_commit_callbacks
):
    order, token = (lambda d: (d["order"], d["lookup_token"]))(guest_buy(api, card).data)
    epay_notify(epay.pay(order["payment"]["pay_url"]))
    body = {"order": order["id"], "reason": "defective", "description": "卡密已被使用", "amount": 5000}
    case = api.post("/refunds", body, headers=bearer(token)).data
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/refunds/{case['id']}/accept", token=merchant.token).status_code == 200
    assert [c["money"] for c in epay.refund_calls] == ["50.00"]
    assert api.get(f"/orders/{order['id']}", headers=bearer(token)).data["status"] == "refunded"
