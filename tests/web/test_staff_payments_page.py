"""补单 page (/staff/payments/): admins see the pending gateway payments (gateway, out_trade_no,
amount, age, top-up or order) and re-check one against the gateway's query API — confirmed on a page
of its own, the result shown after it, audited. Against the local 易支付 aggregator (real HTTP)."""

from django.test import Client

from kameng.orders.models import Order
from kameng.security.models import AuditRecord
from kameng.wallet.models import Payment


def rows(doc, response):
    table = next((t for t in doc(response).all("table") if t.attrs.get("data-testid") == "pending-payments"), None)
    return (
        {}
        if table is None
        else {
            r.attrs["data-out-trade-no"]: r.text()
            for r in table.iter()
            if r.tag == "tr" and "data-out-trade-no" in r.attrs
        }
    )


def test_only_admins_reach_the_page_and_it_is_in_the_staff_navigation(
    login_as, buyer, merchant, arbitrator, admin, doc
):
    for user in (buyer, merchant, arbitrator):
        assert login_as(user).get("/staff/payments/").status_code == 403, user.role
        assert login_as(user).post("/staff/payments/KM1/recheck", {"confirmed": "yes"}).status_code == 403
    assert Client().get("/staff/payments/").status_code == 302
    client = login_as(admin)
    nav = next(n for n in doc(client.get("/staff/")).all("nav") if n.attrs.get("aria-label") == "主导航")
    assert any(a.attrs.get("href") == "/staff/payments/" for a in nav.iter())
    assert "/staff/payments/" in {a.attrs.get("href") for a in doc(client.get("/staff/")).all("a")}
    assert client.get("/staff/payments/KM-NO-SUCH/recheck").status_code == 404


def test_a_lost_notification_is_found_by_a_recheck_and_the_order_delivered(
    api, login_as, doc, admin, buyer, merchant, make_listing, epay
):
    card = make_listing(merchant, price=2500)
    order = api.post("/orders", {"listing": card["id"], "pay_with": "epay"}, token=buyer.token)
    assert order.status_code == 201, order.data
    checkout = Payment.objects.get(purpose="order", ref=str(order.data["id"]))
    topup = api.post("/wallet/topups", {"amount": 1234, "gateway": "epay"}, token=buyer.token).data
    epay.pay(checkout.pay_url)  # the buyer paid at the aggregator; its notification never reached us

    client = login_as(admin)
    listed = rows(doc, client.get("/staff/payments/"))
    assert set(listed) == {checkout.out_trade_no, topup["out_trade_no"]}
    number = Order.objects.get(pk=order.data["id"]).number
    assert "易支付" in listed[checkout.out_trade_no] and "¥25.00" in listed[checkout.out_trade_no]
    assert "¥¥" not in "".join(listed.values())
    assert f"订单 {number}" in listed[checkout.out_trade_no] and "钱包充值" in listed[topup["out_trade_no"]]
    assert rows(doc, client.get("/staff/payments/?gateway=sandbox")) == {}

    confirm = client.get(f"/staff/payments/{checkout.out_trade_no}/recheck")
    said = next(d for d in doc(confirm).all("dl") if d.attrs.get("data-testid") == "confirm-said").text()
    assert checkout.out_trade_no in said and "¥25.00" in said and "¥¥" not in said and number in said
    assert Payment.objects.get(pk=checkout.pk).status == "pending"  # looking at the page asks nothing

    done = client.post(f"/staff/payments/{checkout.out_trade_no}/recheck", {"confirmed": "yes"}, follow=True)
    html = done.content.decode()
    assert "渠道确认已付款，已入账 ¥25.00" in html
    assert Order.objects.get(pk=order.data["id"]).status == "delivered"  # paid into escrow, the key delivered
    assert set(rows(doc, done)) == {topup["out_trade_no"]}
    audit = AuditRecord.objects.get(type="payment.recheck", target=f"payment:{checkout.out_trade_no}")
    assert audit.actor == admin and audit.data["booked"] is True
    assert "paid, booked" in next(t for t in doc(done).all("table") if t.attrs.get("data-testid") == "rechecks").text()

    unpaid = client.post(f"/staff/payments/{topup['out_trade_no']}/recheck", {"confirmed": "yes"}, follow=True)
    assert "渠道显示尚未付款" in unpaid.content.decode()
    assert Payment.objects.get(out_trade_no=topup["out_trade_no"]).status == "pending"
    again = client.get(f"/staff/payments/{checkout.out_trade_no}/recheck")
    assert "这笔付款已入账，无需补单。" in again.content.decode()
    assert (
        "已不是待支付"
        in client.post(
            f"/staff/payments/{checkout.out_trade_no}/recheck", {"confirmed": "yes"}, follow=True
        ).content.decode()
    )


def test_a_gateway_that_does_not_answer_is_said_so_in_english_too(api, login_as, admin, buyer, epay):
    topup = api.post("/wallet/topups", {"amount": 500, "gateway": "epay"}, token=buyer.token).data
    epay.pay(topup["pay_url"])
    epay.close()  # the aggregator is down
    client = login_as(admin)
    client.post("/language/", {"language": "en", "next": "/staff/payments/"})
    page = client.get("/staff/payments/").content.decode()
    assert "Payment re-check" in page and "Ask the gateway" in page
    done = client.post(f"/staff/payments/{topup['out_trade_no']}/recheck", {"confirmed": "yes"}, follow=True)
    assert f"{topup['out_trade_no']}: The payment gateway could not be asked; try again later" in done.content.decode()
    assert Payment.objects.get(out_trade_no=topup["out_trade_no"]).status == "pending"
    assert AuditRecord.objects.filter(type="payment.recheck", summary__startswith="gateway error").count() == 1
