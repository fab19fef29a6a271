"""Signed webhooks (issue 17.5): Standard Webhooks deliveries verified by a real local receiver
with the standardwebhooks package's Webhook.verify, retries with back-off, the deliveries log,
resend, and SSRF protection."""

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

H = 3600


def subscribe(api, merchant, url, events=("order.paid", "order.delivered", "order.completed")):
    res = api.post("/webhooks", {"url": url, "events": list(events)}, token=merchant.token)
    assert res.status_code == 201, res.data
    return res.data


def test_order_events_arrive_signed_and_verify(api, merchant, buyer, make_listing, fund, receiver, run_jobs):
    hook = subscribe(api, merchant, receiver.url)
    assert hook["secret"].startswith("whsec_") and hook["events"] == [
        "order.paid",
        "order.delivered",
        "order.completed",
    ]
    listing = make_listing(merchant, price=500)
    fund(buyer, 500)
    with run_jobs():
        order = api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data
    with run_jobs():
        api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    verifier = Webhook(hook["secret"])
    types = []
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["webhook-signature"].startswith("v1,")
        payload = verifier.verify(request["body"], headers)  # raises on a bad signature or timestamp
        types.append(payload["type"])
        assert payload["data"]["id"] == order["id"] and payload["data"]["number"] == order["number"]
    assert types == ["order.paid", "order.delivered", "order.completed"]
    tampered = receiver.requests[0]["body"].replace(b'"amount":500', b'"amount":1')
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, {k.lower(): v for k, v in receiver.requests[0]["headers"].items()})

    log = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"]
    assert [d["event"] for d in log] == ["order.completed", "order.delivered", "order.paid"]
    assert all(d["status"] == "sent" and d["response_status"] == 200 and d["attempts"] == 1 for d in log)


def test_only_subscribed_events_and_only_the_merchants_own(
    api, merchant, make_user, buyer, make_listing, fund, receiver, run_jobs
):
    subscribe(api, merchant, receiver.url, events=["order.completed"])
    other = make_user("merchant")
    api.post("/shops", {"name": "别家"}, token=other.token)
    subscribe(api, other, receiver.url, events=["order.paid"])
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    assert receiver.requests == []  # merchant wants only completions; the other shop sold nothing


def test_failures_retry_with_backoff_then_succeed(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, advance
):
    receiver.statuses = [500, 503, 200]
    hook = subscribe(api, merchant, receiver.url, events=["order.paid"])
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert (row["status"], row["attempts"], row["response_status"], row["last_error"]) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    assert row["next_attempt_at"] is not None
    with run_jobs():
        advance(29)
    assert len(receiver.requests) == 1  # not before its back-off
    with run_jobs():
        advance(2)
    with run_jobs():
        advance(121)
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert (row["status"], row["attempts"], row["response_status"]) == ("sent", 3, 200)
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # one message id across attempts


def test_gives_up_after_24_hours_and_resend_delivers(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, advance
):
    from kameng.notify.outbox import BACKOFF

    receiver.statuses = [500]
    hook = subscribe(api, merchant, receiver.url, events=["order.paid"])
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    for delay in BACKOFF:
        with run_jobs():
            advance(delay + 1)
    assert 23 * H < sum(BACKOFF) <= 24 * H
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert (row["status"], row["attempts"]) == ("failed", len(BACKOFF) + 1)
    receiver.statuses = [204]
    with run_jobs():
        res = api.post(f"/webhooks/{hook['id']}/deliveries/{row['id']}/resend", token=merchant.token)
    assert res.status_code == 200
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert (row["status"], row["response_status"]) == ("sent", 204)


def test_refund_events(api, merchant, buyer, make_listing, fund, receiver, run_jobs):
    hook = subscribe(api, merchant, receiver.url, events=["refund.opened", "refund.updated", "refund.closed"])
    fund(buyer, 500)
    order = api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token).data
    with run_jobs():
        case = api.post(
            "/refunds",
            {"order": order["id"], "reason": "defective", "description": "卡密无法激活", "amount": 500},
            token=buyer.token,
        ).data
    with run_jobs():
        api.post(f"/refunds/{case['id']}/accept", {}, token=merchant.token)
    bodies = [
        Webhook(hook["secret"]).verify(r["body"], {k.lower(): v for k, v in r["headers"].items()})
        for r in receiver.requests
    ]
    # the refund is its own event (the money moved), then the case closes
    assert [(b["type"], b["data"]["event"]) for b in bodies] == [
        ("refund.opened", "opened"),
        ("refund.updated", "refunded"),
        ("refund.closed", "accept"),
    ]
    assert bodies[0]["data"]["id"] == case["id"] and bodies[0]["data"]["status"] == "awaiting_merchant"
    assert bodies[2]["data"]["status"] == "closed" and bodies[2]["data"]["refunded_amount"] == 500
    # the refund's event, written with the accept's in one INSERT, tells the case as it stood when booked
    refunded = bodies[1]["data"]
    assert (refunded["status"], refunded["refunded_amount"], refunded["resolution"]) == ("awaiting_merchant", 500, None)
    assert bodies[2]["data"]["resolution"] == "refund_full"


def test_withdrawal_paid(api, merchant, buyer, make_listing, fund, receiver, run_jobs):
    hook = subscribe(api, merchant, receiver.url, events=["withdrawal.paid"])
    fund(buyer, 500)
    order = api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token).data
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    with run_jobs():
        res = api.post("/wallet/withdrawals", {"amount": 300}, token=merchant.token)
    assert res.status_code == 201, res.data
    body = Webhook(hook["secret"]).verify(
        receiver.requests[0]["body"], {k.lower(): v for k, v in receiver.requests[0]["headers"].items()}
    )
    assert body["type"] == "withdrawal.paid" and body["data"]["amount"] == 300


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "ftp://example.com/",
        "https:///nohost",
    ],
)
def test_private_or_plain_urls_are_refused(api, merchant, url):
    res = api.post("/webhooks", {"url": url, "events": ["order.paid"]}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["code"] == "url_not_allowed", url
    assert api.get("/webhooks", token=merchant.token).data["data"] == []


def test_a_name_resolving_inward_later_is_refused_at_delivery(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, settings
):
    hook = subscribe(api, merchant, receiver.url, events=["order.paid"])
    settings.WEBHOOK_ALLOW_PRIVATE = False  # as if the saved name now resolved to 127.0.0.1
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    assert receiver.requests == []
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert row["status"] == "pending" and row["response_status"] is None and "https" in row["last_error"]


def test_manage_webhooks(api, merchant, buyer, make_user, receiver):
    assert api.post("/webhooks", {"url": receiver.url, "events": ["order.paid"]}, token=buyer.token).status_code == 403
    bad = api.post("/webhooks", {"url": receiver.url, "events": ["order.shipped"]}, token=merchant.token)
    assert bad.status_code == 400 and bad.data["error"]["code"] == "invalid_events"
    hook = subscribe(api, merchant, receiver.url)
    listed = api.get("/webhooks", token=merchant.token).data["data"]
    assert [h["id"] for h in listed] == [hook["id"]] and listed[0]["secret"] is None  # shown once only
    other = make_user("merchant")
    assert api.get(f"/webhooks/{hook['id']}/deliveries", token=other.token).status_code == 404
    assert api.call("delete", f"/webhooks/{hook['id']}", token=other.token).status_code == 404
    gone = api.call("delete", f"/webhooks/{hook['id']}", token=merchant.token)
    assert gone.status_code == 204 and gone.content == b""
    assert api.get("/webhooks", token=merchant.token).data["data"] == []


class Rebinding:
    """The OS resolver, as a rebinding name server answers: `hooks.example.com` gets the addresses of
    `answers` in turn (the last one stays), every other name the real answer. Connections are
    recorded; one to the public address is refused (nothing listens there in a test)."""

    PUBLIC = "93.184.216.34"

    def __init__(self, monkeypatch, answers):
        import socket

        self.answers, self.lookups, self.connects = list(answers), 0, []
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
        rebinding = self

        def getaddrinfo(host, port, *args, **kwargs):
            if host != "hooks.example.com":
                return real_getaddrinfo(host, port, *args, **kwargs)
            rebinding.lookups += 1
            address = rebinding.answers.pop(0) if len(rebinding.answers) > 1 else rebinding.answers[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 443)))]

        def connect(sock, address):
            rebinding.connects.append(address)
            if address[0] == Rebinding.PUBLIC:
                raise ConnectionRefusedError(111, "refused")
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)


def test_dns_rebinding_cannot_turn_the_checked_address_into_a_private_one(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, settings, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    # Public to the check on saving and to the check before sending; 127.0.0.1 to any later lookup.
    dns = Rebinding(monkeypatch, [Rebinding.PUBLIC, Rebinding.PUBLIC, "127.0.0.1"])
    url = f"https://hooks.example.com:{receiver.port}/hook"
    hook = subscribe(api, merchant, url, events=["order.paid"])
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    assert dns.lookups == 2  # saved, then checked once before the request: the client never looks again
    assert dns.connects == [(Rebinding.PUBLIC, receiver.port)]  # only where the check looked
    assert receiver.requests == []
    row = api.get(f"/webhooks/{hook['id']}/deliveries", token=merchant.token).data["data"][0]
    assert row["status"] == "pending" and row["response_status"] is None and row["last_error"] == "ConnectionError"


def test_a_pinned_request_keeps_the_host_name_in_its_host_header(
    api, merchant, buyer, make_listing, fund, receiver, run_jobs, monkeypatch
):
    dns = Rebinding(monkeypatch, ["127.0.0.1"])  # private addresses allowed here (the receiver)
    hook = subscribe(api, merchant, f"http://hooks.example.com:{receiver.port}/hook", events=["order.paid"])
    fund(buyer, 500)
    with run_jobs():
        api.post("/orders", {"listing": make_listing(merchant, price=500)["id"]}, token=buyer.token)
    (request,) = receiver.requests
    assert request["headers"]["Host"] == f"hooks.example.com:{receiver.port}"
    assert Webhook(hook["secret"]).verify(request["body"], {k.lower(): v for k, v in request["headers"].items()})
    assert dns.connects == [("127.0.0.1", receiver.port)]


def test_a_sweep_batch_reads_each_merchants_endpoints_once(api, merchant, buyer, make_listing, fund, buy, open_case):
    """Two merchant deadlines of one merchant in one batch: four refund events queued, one read of the endpoints."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from kameng.clock.services import advance
    from kameng.clock.services import now as clock_now
    from kameng.notify.models import Endpoint, WebhookDelivery
    from kameng.timers import services as timers

    Endpoint.objects.create(
        user=merchant,
        url="https://hooks.example.com/k",
        events=["refund.updated", "refund.closed"],
        secret="whsec_x",
        created_at=clock_now(),
    )
    listing = make_listing(merchant, stock=["K-1", "K-2"])
    fund(buyer, 2 * listing["price"])
    cases = [open_case(buy(buyer, listing)) for _ in range(2)]
    advance(49 * 3600)  # past both merchant deadlines (their reminders too)
    before = WebhookDelivery.objects.count()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert timers.run_due_batch(clock_now(), 100)
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "notify_endpoint"' in q["sql"]]
    assert len(reads) == 1
    queued = WebhookDelivery.objects.filter(payload__contains='"refund.')
    assert WebhookDelivery.objects.count() - before == 4 == queued.count()
    assert {c["id"] for c in cases} <= {
        p.split('"id":"')[1].split('"')[0] for p in queued.values_list("payload", flat=True)
    }
