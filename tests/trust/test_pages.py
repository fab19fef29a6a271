"""Trust pages: the public rules-and-statistics page with server-drawn SVG charts (Chinese, English
by choice), a merchant's credit profile with its sanction log, and the operators' sanctions page."""

import re

from django.test import Client

from kameng.catalog.models import Shop
from kameng.trust.models import SanctionEvent


def _html(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert not re.search(r"<[^>]+\sstyle=", html), "inline styles break the CSP"
    assert "<script>" not in html
    return html


def test_rules_page_publishes_standards_formula_and_live_statistics_with_charts(
    client, merchant, stocked, sale, open_refund, act
):
    listing = stocked(merchant)
    buyer, order = sale(listing)
    act(merchant, open_refund(buyer, order), "accept")
    html = _html(client.get("/rules/"))
    assert "平台规则与退款标准" in html and "商家信用评级" in html and "纠纷处理统计" in html
    assert html.count("<svg") >= 4 and 'role="img"' in html and "<title" in html
    assert re.search(r'id="stat-orders">1<', html) and re.search(r'id="stat-cases">1<', html)
    assert re.search(r'id="stat-dispute-rate">100%<', html)
    assert "基础分 80" in html and "一经售出概不退换" in html and "《电子商务法》第四十九条" in html
    assert "激活码无效或与描述不符" in html and "D 级（低于 60 分）且有商家责任记录：限制流量" in html


def test_rules_page_in_english(client):
    client.post("/language/", {"language": "en", "next": "/rules/"})
    html = _html(client.get("/rules/"))
    assert '<html lang="en">' in html
    assert "Platform rules and refund standards" in html and "Merchant credit rating" in html
    assert "Dispute statistics" in html and "base 80" in html and "Software licence codes" in html


def test_merchant_profile_shows_credit_and_reviews_and_the_sanction_log_to_the_merchant(
    client, restricted_merchant, login_as, admin, make_user
):
    url = f"/merchants/{restricted_merchant.shop_id}/"
    public = _html(client.get(url))
    assert 'id="credit-grade">D<' in public and 'id="credit-score">55<' in public and "限制流量" in public
    assert "sanction-log" not in public
    own = _html(login_as(Shop.objects.get(pk=restricted_merchant.shop_id).owner).get(url))
    assert "sanction-log" in own and "信用等级 D（55 分），限制流量" in own
    assert "sanction-log" in _html(login_as(admin).get(url))
    assert "sanction-log" not in _html(login_as(make_user("merchant")).get(url))
    assert client.get("/merchants/999999/").status_code == 404


def test_operators_sanction_page_changes_status_with_a_reason(client, restricted_merchant, login_as, admin, buyer):
    assert client.get("/staff/sanctions/").status_code == 302
    assert login_as(buyer).get("/staff/sanctions/").status_code == 403
    staff = login_as(admin)
    html = _html(staff.get("/staff/sanctions/"))
    assert f'id="shop-{restricted_merchant.shop_id}"' in html and "audit-log" in html
    assert 'for="reason-' in html and 'for="status-' in html
    response = staff.post(
        "/staff/sanctions/",
        {"shop": restricted_merchant.shop_id, "status": "suspended", "reason": "多次引导买家站外交易"},
    )
    assert response.status_code == 302
    assert Shop.objects.get(pk=restricted_merchant.shop_id).status == "suspended"
    event = SanctionEvent.objects.order_by("-pk").first()
    assert (event.source, event.actor_id, event.reason) == ("admin", admin.pk, "多次引导买家站外交易")
    # No reason, no change.
    staff.post("/staff/sanctions/", {"shop": restricted_merchant.shop_id, "status": "active", "reason": ""})
    assert Shop.objects.get(pk=restricted_merchant.shop_id).status == "suspended"
    assert "多次引导买家站外交易" in _html(staff.get("/staff/sanctions/"))


def test_pages_use_the_site_layout_with_its_skip_link(client):
    # The trust pages live in kameng.web and extend its layout (there is no standalone fallback any more).
    html = _html(Client().get("/rules/"))
    assert 'href="#main"' in html and "商家信用评级" in html
