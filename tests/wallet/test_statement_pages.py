"""The statement page (对账单) and the operator's commission report page: the same figures as
`GET /wallet/statement` and `GET /stats/commission`, the reconciliation shown true, CSV downloads
that Excel opens (BOM), role checks, Chinese and English."""

import csv
import io

import pytest
from django.test import Client


@pytest.fixture
def policy(admin):
    from django.utils import timezone

    from kameng.policy.services import set_policy

    def set_(key, value):
        set_policy(key, value, acting_user=admin, now=timezone.now())

    return set_


def signed_in(user, language="zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def sell(api, buyer, merchant, make_listing, fund, price, **listing):
    item = make_listing(merchant, price=price, **listing)
    fund(buyer, price)
    order = api.post("/orders", {"listing": item["id"]}, token=buyer.token).data
    assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200
    return order


@pytest.fixture
def month_of_trade(api, buyer, merchant, make_listing, fund, policy):
    policy("commission_bp", {"software_license": 1000, "gift_card": 500})
    sell(api, buyer, merchant, make_listing, fund, 10000)
    order = sell(api, buyer, merchant, make_listing, fund, 4000, category="gift_card")
    case = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "卡密无效", "amount": 1000},
        token=buyer.token,
    ).data
    assert api.post(f"/refunds/{case['id']}/accept", {}, token=merchant.token).status_code == 200
    assert api.post("/wallet/withdrawals", {"amount": 2000}, token=merchant.token).status_code == 201
    return api.get("/wallet/statement", token=merchant.token).data


def test_the_statement_page_shows_the_reconciliation_true_and_the_lines(merchant, month_of_trade):
    s = month_of_trade
    assert (s["income"], s["commission"], s["refunds"], s["withdrawals"]) == (14000, 1200, 1000, 2000)
    page = signed_in(merchant).get(f"/wallet/statement/?from={s['start']}&to={s['end']}")
    html = page.content.decode()
    assert page.status_code == 200
    for testid, text in [
        ("opening", "¥0.00"),
        ("income", "+¥140.00"),
        ("commission", "−¥12.00"),
        ("refunds", "−¥10.00"),
        ("withdrawals", "−¥20.00"),
        ("closing", "¥98.00"),
    ]:
        assert f'data-testid="{testid}">{text}<' in html, testid
    assert 'data-testid="reconciles">对账平衡<' in html
    assert html.count("订单放款") >= 2 and "提现" in html and "退款" in html
    assert f"?from={s['start']}&amp;to={s['end']}&amp;format=csv" in html


def test_the_statement_csv_is_excel_safe_and_sums_up(merchant, month_of_trade):
    s = month_of_trade
    res = signed_in(merchant).get(f"/wallet/statement/?from={s['start']}&to={s['end']}&format=csv")
    assert res.status_code == 200 and res["Content-Type"] == "text/csv; charset=utf-8"
    assert res["Content-Disposition"] == f'attachment; filename="kameng-statement-{s["start"]}-{s["end"]}.csv"'
    assert res.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the Chinese columns right
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "类型", "金额(元)", "其中佣金(元)", "订单", "摘要"]
    summary = {r[0]: r[2] for r in rows if len(r) == 3}
    assert summary["期初余额"] == "0.00" and summary["期末余额"] == "98.00" and summary["平台佣金"] == "-12.00"


def test_the_statement_page_in_english_and_its_errors(merchant, buyer, month_of_trade):
    html = signed_in(merchant, "en").get("/wallet/statement/").content.decode()
    assert "Statement" in html and "Opening balance" in html and 'data-testid="reconciles">Reconciled<' in html
    bad = signed_in(merchant).get("/wallet/statement/?from=2026-13-01")
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
    backwards = signed_in(merchant).get("/wallet/statement/?from=2026-12-10&to=2026-12-01")
    assert backwards.status_code == 400
    mine = signed_in(buyer).get("/wallet/statement/").content.decode()  # a buyer sees only their own wallet
    assert 'data-testid="income">+¥0.00<' in mine
    assert Client().get("/wallet/statement/").status_code == 302  # to the login page


def test_the_commission_report_by_day_and_category_with_csv(api, admin, merchant, month_of_trade):
    report = api.get("/stats/commission?days=7", token=admin.token).data
    assert report["total"] == 1200
    assert report["by_category"] == [
        {"category": "software_license", "commission": 1000},
        {"category": "gift_card", "commission": 200},
    ]
    client = signed_in(admin)
    html = client.get("/staff/commission/?days=7").content.decode()
    assert 'data-testid="commission-total">¥12.00<' in html
    assert "¥10.00" in html and "¥2.00" in html and html.count("<tr>") >= 7 + 2
    res = client.get("/staff/commission/?days=7&format=csv")
    assert res["Content-Type"] == "text/csv; charset=utf-8" and res.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0] == ["日期", "佣金(元)"] and rows[1][1] == "12.00" and len([r for r in rows[1:8] if r]) == 7
    assert rows[-1] == ["合计", "12.00"] and ["类目", "佣金(元)"] in rows
    english = signed_in(admin, "en").get("/staff/commission/?days=7").content.decode()
    assert "Commission report" in english and "By category" in english
    assert signed_in(merchant).get("/staff/commission/").status_code == 403
