"""The buyer's pages: search, the three checks, buying, the wallet and sandbox payment, orders,
the order page with its snapshot, escrow, delivery, confirmation and chat."""

import re

import pytest

from kameng.catalog.models import Shop
from kameng.orders.models import Order
from kameng.trust.credit import credit_for_shop
from kameng.wallet.models import Payment
from kameng.wallet.services import wallet_balance


@pytest.fixture
def card(merchant, make_listing):
    return make_listing(merchant, stock=["KEY-AAAA-0001", "KEY-AAAA-0002", "KEY-AAAA-0003"])


def test_home_lists_and_searches_listings_with_chinese_category_names(client, merchant, make_listing, doc):
    make_listing(merchant, title="Windows 11 专业版激活码")
    make_listing(merchant, title="原神 创世结晶 6480", category="game_currency", kind="direct_topup", price=64800)
    page = doc(client.get("/"))
    assert "Windows 11 专业版激活码" in page.text() and "原神 创世结晶 6480" in page.text()
    options = [o.text() for o in page.by_id("search-category").iter() if o.tag == "option"]
    assert "软件授权码" in options and "虚拟货币/游戏币" in options and "游戏代练" in options

    by_text = doc(client.get("/?q=原神")).text()
    assert "原神 创世结晶 6480" in by_text and "Windows 11" not in by_text
    by_category = doc(client.get("/?category=software_license")).text()
    assert "Windows 11 专业版激活码" in by_category and "原神" not in by_category
    assert "¥648.00" in doc(client.get("/?category=game_currency")).text()


def test_listing_page_shows_the_three_checks(client, merchant, make_listing, doc):
    listing = make_listing(
        merchant, description="一经售出概不退换，最终解释权归本店所有", after_sale_days=5, verification_minutes=120
    )
    page = doc(client.get(f"/listings/{listing['id']}"))
    text = page.text()
    # Platform rules: the category's rule and a link to the published rules.
    assert any(a.attrs.get("href", "").startswith("/rules/") for a in page.all("a"))
    assert "激活码无效或与描述不符全额退款" in text
    # The merchant: status, tenure, credit, and the way to their full credit profile.
    credit = credit_for_shop(Shop.objects.get(pk=listing["shop"]))
    assert "正常经营" in text and "开店时长" in text
    assert f"{credit['grade']} 级（{credit['score']} 分）" in text
    assert any(a.attrs.get("href") == f"/merchants/{listing['shop']}/" for a in page.all("a"))
    # The refund terms, with the unfair clauses declared void and the law cited.
    assert "发货后 5 天内可申请售后" in text and "2 小时" in text
    assert text.count("此条款无效") >= 2 and "《消费者权益保护法实施条例》第十七条" in text
    # Price in yuan, stock, promises.
    assert "¥99.00" in text and "100%稳定激活" in text
    assert re.search(r"库存\s*5", text)


def test_customized_listing_requires_the_special_terms_checkbox(login_as, buyer, merchant, make_listing, fund, doc):
    boosting = make_listing(merchant, title="代练上分", category="game_boosting", kind="service", price=5000)
    fund(buyer, 10000)
    client = login_as(buyer)
    page = doc(client.get(f"/listings/{boosting['id']}"))
    box = page.by_id("id_accept_special_terms")
    assert box is not None and "required" in box.attrs
    assert "不适用七日无理由退货" in page.text()

    refused = doc(client.post(f"/listings/{boosting['id']}/buy", {}))
    assert "请先阅读并确认特殊条款" in refused.field_error("accept_special_terms")
    assert not Order.objects.exists()

    response = client.post(f"/listings/{boosting['id']}/buy", {"accept_special_terms": "on"})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}" and order.special_terms_accepted


def test_direct_topup_needs_a_target_account(login_as, buyer, merchant, make_listing, fund, doc):
    topup = make_listing(merchant, title="话费 50 元", category="mobile_topup", kind="direct_topup", price=4900)
    fund(buyer, 10000)
    client = login_as(buyer)
    assert doc(client.post(f"/listings/{topup['id']}/buy", {})).field_error("topup_target")
    client.post(f"/listings/{topup['id']}/buy", {"topup_target": "13800138000"})
    assert Order.objects.get().topup_target == "13800138000"


def test_buying_a_card_key_shows_the_key_and_debits_the_wallet(login_as, buyer, card, fund, doc):
    fund(buyer, 20000)
    client = login_as(buyer)
    response = client.post(f"/listings/{card['id']}/buy", {"quantity": "2"})
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}"
    page = doc(client.get(f"/orders/{order.pk}"))
    keys = [n.text() for n in page.by_id("delivery-h").parent.iter() if n.tag == "code"]
    assert keys == ["KEY-AAAA-0001", "KEY-AAAA-0002"]
    assert wallet_balance(buyer) == 20000 - 2 * 9900
    assert "¥198.00" in page.text() and "平台担保中" in page.text()


def test_buying_without_money_says_so_and_links_to_the_wallet(login_as, buyer, card, doc):
    page = doc(login_as(buyer).post(f"/listings/{card['id']}/buy", {"quantity": "1"}))
    assert "余额不足" in page.form_errors()
    assert any(a.attrs.get("href") == "/wallet/" and "充值" in a.text() for a in page.all("a"))
    assert not Order.objects.exists()


def test_bad_quantity_is_shown_next_to_the_field(login_as, buyer, card, fund, doc):
    fund(buyer, 100000)
    client = login_as(buyer)
    assert doc(client.post(f"/listings/{card['id']}/buy", {"quantity": "0"})).field_error("quantity")
    assert doc(client.post(f"/listings/{card['id']}/buy", {"quantity": "abc"})).field_error("quantity")
    page = doc(client.post(f"/listings/{card['id']}/buy", {"quantity": "5"}))  # three keys in stock
    assert "库存不足" in page.form_errors()
    assert not Order.objects.exists()


def test_wallet_top_up_goes_through_the_sandbox_pay_page(login_as, buyer, doc):
    client = login_as(buyer)
    wallet = doc(client.get("/wallet/"))
    assert "¥0.00" in wallet.by_id("balance-h").parent.text()

    response = client.post("/wallet/", {"amount": "123.45"})
    topup = Payment.objects.get()
    assert topup.amount == 12345  # yuan typed, integer fen stored
    assert response.status_code == 302 and response["Location"] == f"/sandbox/pay/{topup.pk}"

    pay_page = doc(client.get(response["Location"]))
    assert "¥123.45" in pay_page.text()
    assert any(b.text().strip() == "确认支付" for b in pay_page.all("button"))
    assert any(a.attrs.get("href") == "/wallet/" for a in pay_page.all("a"))

    paid = doc(client.post(response["Location"]))
    assert "支付成功" in paid.text()
    assert any(a.attrs.get("href") == "/wallet/" and "返回钱包" in a.text() for a in paid.all("a"))
    assert wallet_balance(buyer) == 12345
    assert "¥123.45" in doc(client.get("/wallet/")).by_id("balance-h").parent.text()

    # Paying again credits nothing more.
    client.post(response["Location"])
    assert wallet_balance(buyer) == 12345


@pytest.mark.parametrize("amount", ["", "abc", "0", "-5", "0.001", "100000.01"])
def test_invalid_top_up_amounts_are_refused_next_to_the_field(login_as, buyer, doc, amount):
    page = doc(login_as(buyer).post("/wallet/", {"amount": amount}))
    assert page.field_error("amount")
    assert not Payment.objects.exists()


def test_my_orders_filters_by_status_and_links_the_csv_export(
    login_as, buyer, merchant, card, make_listing, fund, buy, doc
):
    service = make_listing(merchant, title="代写简历", category="custom_design", kind="service", price=3000)
    fund(buyer, 50000)
    buy(buyer, card)
    buy(buyer, service, accept_special_terms=True)
    client = login_as(buyer)
    page = doc(client.get("/orders/"))
    assert "Windows 11 专业版激活码" in page.text() and "代写简历" in page.text()
    assert any(a.attrs.get("href") == "/api/v1/orders/export?format=csv" for a in page.all("a"))

    paid_only = doc(client.get("/orders/?status=paid")).text()
    assert "代写简历" in paid_only and "Windows 11" not in paid_only

    export = client.get("/api/v1/orders/export?format=csv")  # the session is enough
    assert export.status_code == 200 and export.content.startswith("\ufeff".encode())
    assert "代写简历" in export.content.decode("utf-8-sig")


def test_order_page_shows_snapshot_escrow_and_release_time(login_as, buyer, merchant, card, fund, buy, api, doc):
    fund(buyer, 20000)
    order = buy(buyer, card)
    # The merchant edits the listing afterwards; the order still shows what was bought.
    api.patch(f"/listings/{card['id']}", {"title": "改过的标题", "price": 1}, token=merchant.token)
    page = doc(login_as(buyer).get(f"/orders/{order['id']}"))
    snapshot = page.by_id("snap-h").parent.text()
    assert "Windows 11 专业版激活码" in snapshot and "改过的标题" not in snapshot and "¥99.00" in snapshot
    assert page.by_id("snap-h").parent.text().count(order["snapshot"]["sha256"]) == 1
    escrow = page.by_id("escrow-h").parent.text()
    assert "平台担保中" in escrow and "自动放款时间" in escrow and "剩余" in escrow


def test_confirming_asks_first_then_releases_the_escrow(login_as, buyer, card, fund, buy, doc):
    fund(buyer, 20000)
    order = buy(buyer, card)
    client = login_as(buyer)
    order_page = doc(client.get(f"/orders/{order['id']}"))
    link = next(a for a in order_page.all("a") if a.text().strip() == "确认收货")
    assert link.attrs["href"] == f"/orders/{order['id']}/confirm"

    ask = doc(client.get(link.attrs["href"]))
    assert "不可撤销" in ask.text() and "¥99.00" in ask.text()
    assert Order.objects.get().status == "delivered"  # looking at the question changes nothing

    response = client.post(link.attrs["href"])
    assert response["Location"] == f"/orders/{order['id']}"
    stored = Order.objects.get()
    assert stored.status == "completed" and stored.escrow_status == "released"
    done = doc(client.get(f"/orders/{order['id']}"))
    assert "已放款给商家" in done.text()
    assert not any(a.text().strip() == "确认收货" for a in done.all("a"))
    # A second confirmation is refused with the service's reason.
    assert "订单当前状态不能确认收货" in doc(client.post(link.attrs["href"])).text()


def test_other_users_get_404_on_someone_elses_order(login_as, make_user, buyer, card, fund, buy, api):
    fund(buyer, 20000)
    order = buy(buyer, card)
    stranger = make_user("buyer")
    other_merchant = make_user("merchant")
    api.post("/shops", {"name": "别家店"}, token=other_merchant.token)
    for user in (stranger, other_merchant):
        client = login_as(user)
        assert client.get(f"/orders/{order['id']}").status_code == 404
        assert client.get(f"/orders/{order['id']}/confirm").status_code == 404
        assert client.post(f"/orders/{order['id']}/confirm").status_code == 404
        assert client.post(f"/orders/{order['id']}/messages", {"body": "hi"}).status_code == 404
    assert Order.objects.get().status == "delivered"


def test_chat_posts_lists_and_warns_about_off_platform_payment(login_as, buyer, merchant, card, fund, buy, doc):
    fund(buyer, 20000)
    order = buy(buyer, card)
    as_buyer, as_merchant = login_as(buyer), login_as(merchant)
    response = as_buyer.post(f"/orders/{order['id']}/messages", {"body": "激活码提示错误 0xC004F050"})
    assert response["Location"] == f"/orders/{order['id']}#chat"
    as_merchant.post(f"/orders/{order['id']}/messages", {"body": "加我微信 wxid12345 私下转账给你退"})

    page = doc(as_buyer.get(f"/orders/{order['id']}"))
    chat = [n for n in page.by_id("chat").iter() if n.tag == "li"]
    assert "0xC004F050" in chat[0].text() and "疑似引导站外付款" not in chat[0].text()
    assert "wxid12345" in chat[1].text() and "站外付款不受平台保护" in chat[1].text()

    empty = doc(as_buyer.post(f"/orders/{order['id']}/messages", {"body": "   "}))
    assert empty.field_error("body")


def test_user_text_is_escaped_everywhere(login_as, buyer, merchant, make_listing, fund, buy, client):
    payload = "<script>alert('x')</script>"
    listing = make_listing(merchant, title=f"卡密 {payload}", description=payload, promises=[payload])
    fund(buyer, 20000)
    order = buy(buyer, listing)
    login_as(buyer).post(f"/orders/{order['id']}/messages", {"body": payload})
    pages = [
        client.get("/"),
        client.get(f"/listings/{listing['id']}"),
        login_as(buyer).get(f"/orders/{order['id']}"),
        login_as(buyer).get("/orders/"),
        login_as(merchant).get("/shop/listings/"),
        login_as(merchant).get(f"/shop/listings/{listing['id']}/edit"),
    ]
    for response in pages:
        html = response.content.decode()
        assert payload not in html, response.request["PATH_INFO"]
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html, response.request["PATH_INFO"]


def test_only_the_two_parties_see_the_delivered_keys(login_as, admin, buyer, merchant, card, fund, buy, doc):
    fund(buyer, 20000)
    order = buy(buyer, card)
    assert "KEY-AAAA-0001" in login_as(buyer).get(f"/orders/{order['id']}").content.decode()
    assert "KEY-AAAA-0001" in login_as(merchant).get(f"/orders/{order['id']}").content.decode()
    operator_view = login_as(admin).get(f"/orders/{order['id']}")
    assert operator_view.status_code == 200 and "KEY-AAAA-0001" not in operator_view.content.decode()


def test_order_page_follows_the_automatic_release(login_as, buyer, card, fund, buy, advance, doc):
    fund(buyer, 20000)
    order = buy(buyer, card)
    client = login_as(buyer)
    assert "自动放款时间" in doc(client.get(f"/orders/{order['id']}")).text()
    advance(24 * 3600 + 60)  # past the one-day verification window
    page = doc(client.get(f"/orders/{order['id']}"))
    escrow = page.by_id("escrow-h").parent.text()
    assert "已放款给商家" in escrow and "完成时间" in escrow and "自动放款时间" not in escrow
    assert not any(a.text().strip() == "确认收货" for a in page.all("a"))
