"""Commission and settlement (issue 17.6): a per-category commission (basis points, policy) taken on
release into the platform's ledger account; T+N before released money is withdrawable; the wallet
statement (JSON and CSV) that reconciles; the operator's commission by day."""

import csv
import io

import pytest

DAY = 24 * 3600


@pytest.fixture
def policy(admin):
    from django.utils import timezone

    from kameng.policy.services import set_policy

    def set_(key, value):
        set_policy(key, value, acting_user=admin, now=timezone.now())

    return set_


def platform_balance():
    from kameng.ledger.services import PLATFORM_COMMISSION, balance

    return balance(PLATFORM_COMMISSION)


def sell(api, buyer, merchant, make_listing, fund, price=10000):
    listing = make_listing(merchant, price=price)
    fund(buyer, price)
    order = api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data
    assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200
    return order


def test_commission_is_taken_on_release_per_category(api, buyer, merchant, make_listing, fund, policy):
    policy("commission_bp", {"software_license": 550})  # 5.5 %
    sell(api, buyer, merchant, make_listing, fund, price=10001)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 10001 - 550  # floor(550.055)
    assert platform_balance() == 550
    other = make_listing(merchant, category="gift_card", price=2000)  # no commission set for it
    fund(buyer, 2000)
    order = api.post("/orders", {"listing": other["id"]}, token=buyer.token).data
    api.post(f"/orders/{order['id']}/confirm", token=buyer.token)
    assert platform_balance() == 550


def test_no_commission_by_default(api, buyer, merchant, make_listing, fund):
    sell(api, buyer, merchant, make_listing, fund)
    assert api.get("/wallet", token=merchant.token).data["balance"] == 10000
    assert platform_balance() == 0


def test_statement_reconciles_json_and_csv(api, buyer, merchant, make_listing, fund, policy, advance):
    policy("commission_bp", {"software_license": 1000})
    sell(api, buyer, merchant, make_listing, fund)
    order = sell(api, buyer, merchant, make_listing, fund, price=5000)
    refund = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "无法激活", "amount": 2000},
        token=buyer.token,
    ).data
    assert api.post(f"/refunds/{refund['id']}/accept", {}, token=merchant.token).status_code == 200
    assert api.post("/wallet/withdrawals", {"amount": 3000}, token=merchant.token).status_code == 201
    s = api.get("/wallet/statement", token=merchant.token).data
    assert (s["income"], s["commission"], s["refunds"], s["withdrawals"]) == (15000, 1500, 2000, 3000)
    assert s["opening_balance"] == 0 and s["closing_balance"] == 15000 - 1500 - 2000 - 3000
    assert s["closing_balance"] == api.get("/wallet", token=merchant.token).data["balance"]
    total = s["opening_balance"] + s["income"] - s["commission"] - s["refunds"] - s["withdrawals"] + s["other"]
    assert total == s["closing_balance"]

    today = s["end"]
    res = api.get(f"/wallet/statement?from={today}&to={today}&format=csv", token=merchant.token)
    assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    summary = {r[0]: r[2] for r in rows if len(r) == 3}
    assert summary["期末余额"] == "85.00" and summary["平台佣金"] == "-15.00"

    advance(2 * DAY)
    later = api.get(f"/wallet/statement?from={s['end']}", token=merchant.token).data
    assert later["opening_balance"] == 0 and later["closing_balance"] == s["closing_balance"]
    tomorrow = api.get("/wallet/statement", token=merchant.token).data
    assert tomorrow["end"] != today
    bad = api.get("/wallet/statement?from=2026-13-01", token=merchant.token)
    assert bad.status_code == 400 and bad.data["error"]["param"] == "from"
    backwards = api.get("/wallet/statement?from=2026-12-10&to=2026-12-01", token=merchant.token)
    assert backwards.status_code == 400


def test_settlement_delay_before_withdrawal(api, buyer, merchant, make_listing, fund, policy, advance):
    policy("settlement_days", 2)
    sell(api, buyer, merchant, make_listing, fund)
    res = api.post("/wallet/withdrawals", {"amount": 100}, token=merchant.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "not_settled"
    assert api.get("/wallet/statement", token=merchant.token).data["withdrawable"] == 0
    advance(2 * DAY + 1)
    assert api.post("/wallet/withdrawals", {"amount": 10000}, token=merchant.token).status_code == 201


def test_operator_report_of_commission_by_day(api, buyer, merchant, admin, make_listing, fund, policy):
    policy("commission_bp", {"software_license": 300})
    sell(api, buyer, merchant, make_listing, fund)
    report = api.get("/stats/commission?days=7", token=admin.token).data
    assert len(report["data"]) == 7 and report["data"][0]["commission"] == 300 and report["total"] == 300
    assert api.get("/stats/commission", token=merchant.token).status_code == 403
    assert api.get("/stats/commission?days=0", token=admin.token).status_code == 400
