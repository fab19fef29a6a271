"""Every page renders for the roles that use it, and keeps the layout promises: labels on every
field, a skip link, no inline script or style (CSP), every asset served locally."""

import re

import pytest

CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"')


@pytest.fixture
def market(merchant, buyer, make_listing, fund, buy):
    """A card-key listing, a service listing, and one order of each by the buyer."""
    card = make_listing(merchant)
    service = make_listing(
        merchant, title="王者荣耀代练 钻石到星耀", category="game_boosting", kind="service", price=15000
    )
    fund(buyer, 100000)
    card_order = buy(buyer, card)
    service_order = buy(buyer, service, accept_special_terms=True)
    return {"card": card, "service": service, "card_order": card_order, "service_order": service_order}


def _pages(market):
    card, order = market["card"]["id"], market["card_order"]["id"]
    service_order = market["service_order"]["id"]
    return {
        "anonymous": [
            "/",
            f"/listings/{card}",
            "/rules/",
            "/login/",
            "/register/",
            "/?q=Windows&category=software_license",
        ],
        "buyer": [
            "/",
            f"/listings/{card}",
            "/rules/",
            "/wallet/",
            "/orders/",
            "/orders/?status=delivered",
            f"/orders/{order}",
            f"/orders/{order}/confirm",
            f"/orders/{service_order}",
        ],
        "merchant": [
            "/",
            "/shop/",
            "/shop/listings/",
            "/shop/listings/new",
            f"/shop/listings/{card}/edit",
            f"/shop/listings/{card}/stock",
            "/orders/",
            f"/orders/{order}",
            f"/orders/{service_order}",
            "/wallet/",
        ],
    }


def _client_for(role, login_as, buyer, merchant):
    from django.test import Client

    return {
        "anonymous": Client(),
        "buyer": login_as(buyer) if role == "buyer" else None,
        "merchant": login_as(merchant) if role == "merchant" else None,
    }[role]


@pytest.mark.parametrize("role", ["anonymous", "buyer", "merchant"])
def test_every_page_renders_for_its_role(role, market, login_as, buyer, merchant, doc):
    client = _client_for(role, login_as, buyer, merchant)
    for path in _pages(market)[role]:
        response = client.get(path)
        assert response.status_code == 200, (role, path, response.status_code)
        page = doc(response)
        assert page.by_id("main") is not None, path


@pytest.mark.parametrize("role", ["anonymous", "buyer", "merchant"])
def test_every_field_has_a_label_and_pages_keep_the_csp(role, market, login_as, buyer, merchant, doc):
    client = _client_for(role, login_as, buyer, merchant)
    for path in _pages(market)[role]:
        page = doc(client.get(path))
        labels = {n.attrs.get("for") for n in page.all("label")}
        for node in page.all():
            if node.tag not in ("input", "select", "textarea"):
                continue
            if node.attrs.get("type") in ("hidden", "submit", "button"):
                continue
            in_label = any(a.tag == "label" for a in node.ancestors())
            assert node.attrs.get("id") in labels or in_label, (path, node.tag, node.attrs)
        # Skip link first in the body, pointing at <main id="main">.
        skip = page.all("a")[0]
        assert skip.attrs.get("href") == "#main" and "skip-link" in skip.attrs.get("class", "")
        # CSP-friendly: no inline scripts, inline styles or inline event handlers.
        for node in page.all():
            assert "style" not in node.attrs, (path, node.tag)
            assert not any(name.startswith("on") for name in node.attrs), (path, node.tag, node.attrs)
            if node.tag == "script":
                assert node.attrs.get("src", "").startswith("/static/") and not node.text().strip(), path
            for attr in ("src", "href"):
                value = node.attrs.get(attr) or ""
                assert not value.startswith(("http://", "https://", "//")), (path, attr, value)
        policy = CSP_META.search(page.raw).group(1)
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "'unsafe-inline'" not in policy


def test_static_assets_are_served_locally(client):
    for path in ("/static/web/app.css", "/static/web/app.js", "/static/web/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path


def test_pages_need_the_right_role(market, login_as, buyer, merchant, client):
    # Anonymous visitors are sent to log in, with a way back.
    for path in ("/wallet/", "/orders/", "/shop/", "/shop/listings/new", f"/orders/{market['card_order']['id']}"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), path
    # A buyer is not a merchant and the other way round.
    as_buyer = login_as(buyer)
    for path in ("/shop/", "/shop/listings/", "/shop/listings/new"):
        assert as_buyer.get(path).status_code == 403, path
    as_merchant = login_as(merchant)
    assert as_merchant.post(f"/listings/{market['card']['id']}/buy", {"quantity": 1}).status_code == 403


def test_staff_roles_see_the_market_and_their_orders_page(arbitrator, admin, login_as, market):
    for user in (arbitrator, admin):
        client = login_as(user)
        assert client.get("/").status_code == 200
        assert client.get("/orders/").status_code == 200
    # The operator sees every order; the arbitrator only those in a refund case.
    assert login_as(admin).get(f"/orders/{market['card_order']['id']}").status_code == 200
    assert login_as(arbitrator).get(f"/orders/{market['card_order']['id']}").status_code == 404


def test_nav_follows_the_role(login_as, buyer, merchant, client, doc):
    def nav_text(c):
        page = doc(c.get("/"))
        nav = next(n for n in page.all("nav") if n.attrs.get("aria-label"))
        return nav.text()

    assert "登录" not in nav_text(client) and "我的订单" not in nav_text(client)
    assert "我的订单" in nav_text(login_as(buyer)) and "钱包" in nav_text(login_as(buyer))
    merchant_nav = nav_text(login_as(merchant))
    assert "我的店铺" in merchant_nav and "商品管理" in merchant_nav and "店铺订单" in merchant_nav


def test_unknown_page_is_a_friendly_404(client, doc):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in doc(response).text()
