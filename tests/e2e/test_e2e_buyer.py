"""The buyer's story in a real browser: register, top up through the sandbox gateway, buy a card
key, see it, confirm — and the same market read on a 375 px phone without sideways scrolling."""

import re

from playwright.sync_api import expect


def test_buyer_registers_tops_up_buys_a_card_key_and_confirms(server, new_page, shots):
    merchant, listing = server.merchant_with_card_listing(
        # Unique on the shared e2e server: test_story.py lists a "Windows 11 专业版激活码" of its own.
        title="Windows 11 专业版激活码（买家流程）",
        price=9900,
        keys=["W11-E2E-0001-AAAA", "W11-E2E-0002-BBBB"],
        description="正版授权。一经售出概不退换。",
    )
    username = server.unique("买家")
    page = new_page()

    # Register as a buyer.
    page.goto("/")
    shots(page, "home")
    page.get_by_role("link", name="注册").first.click()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill("e2e-pass-word-123")
    page.get_by_label("再次输入密码").fill("e2e-pass-word-123")
    page.get_by_role("radio", name=re.compile("买家：")).check()
    shots(page, "register")
    page.get_by_role("button", name="注册").click()
    expect(page.locator(".whoami")).to_contain_text(username)

    # Top up ¥200 through the sandbox gateway's page.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="钱包").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("¥0.00")
    page.get_by_label("充值金额（元）").fill("200")
    page.get_by_role("button", name="去支付").click()
    expect(page).to_have_url(re.compile(r"/sandbox/pay/\d+$"))
    expect(page.get_by_test_id("pay-amount")).to_have_text("¥200.00")
    shots(page, "sandbox-pay")
    page.get_by_role("button", name="确认支付").click()
    expect(page.get_by_role("status")).to_contain_text("支付成功")
    shots(page, "sandbox-paid")
    page.get_by_role("link", name="返回钱包").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("¥200.00")

    # Find the listing, read the three checks, buy.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="逛市场").click()
    page.get_by_label("搜索商品或店铺").fill("Windows 11")
    page.get_by_label("类目").select_option("software_license")
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("link", name="Windows 11 专业版激活码（买家流程）", exact=True).click()
    checks = page.locator("section", has=page.get_by_role("heading", name="购买前三查"))
    expect(checks).to_contain_text("此条款无效")
    expect(checks).to_contain_text(re.compile(r"[A-E] 级（\d+ 分）"))
    expect(page.locator(".price-large")).to_have_text("¥99.00")
    shots(page, "listing")
    page.get_by_role("button", name="立即购买（平台担保）").click()

    # The order page shows the key, the escrow and the snapshot.
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    expect(page.get_by_test_id("card-keys")).to_contain_text("W11-E2E-0001-AAAA")
    expect(page.get_by_test_id("escrow-status")).to_have_text("平台担保中")
    expect(page.get_by_test_id("snapshot-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    shots(page, "order-delivered")

    # Confirm, after the page asks.
    page.get_by_role("link", name="确认收货").click()
    expect(page.get_by_text("此操作不可撤销")).to_be_visible()
    shots(page, "confirm-step")
    page.get_by_role("button", name="确认收货并付款给商家").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已完成")
    expect(page.get_by_test_id("escrow-status")).to_have_text("已放款给商家")
    shots(page, "order-completed")

    # Balances agree on both sides.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="钱包").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("¥101.00")
    status, wallet = server.api("GET", "/wallet", token=merchant["token"])
    assert status == 200 and wallet["balance"] == 9900
    assert page.console_errors == []


def test_buyer_pages_fit_a_375px_phone(server, new_page, shots):
    _merchant, listing = server.merchant_with_card_listing(
        title="超长标题的王者荣耀点券充值卡密一百元面值全国通用自动发货秒到账" * 2,
        price=9800,
        keys=["PHONE-KEY-0001-WITH-A-VERY-LONG-SECRET-THAT-HAS-NO-SPACES-AT-ALL-0123456789"],
    )
    buyer = server.register("buyer")
    server.fund(buyer, 50000)
    page = new_page(width=375, height=812)

    page.goto("/login/")
    page.get_by_label("用户名").fill(buyer["username"])
    page.get_by_label("密码", exact=True).fill("e2e-pass-word-123")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".whoami")).to_contain_text(buyer["username"])

    for path, step in (
        ("/", "home"),
        (f"/listings/{listing['id']}", "listing"),
        ("/rules/", "rules"),
        ("/wallet/", "wallet"),
    ):
        page.goto(path)
        shots.fits(page, step)

    page.goto(f"/listings/{listing['id']}")
    page.get_by_role("button", name="立即购买（平台担保）").click()
    expect(page.get_by_test_id("card-keys")).to_contain_text("PHONE-KEY-0001")
    shots.fits(page, "order")
    page.goto("/orders/")
    shots.fits(page, "orders")
    page.get_by_label("充值金额（元）").count()  # (the wallet form lives on /wallet/)
    page.goto("/wallet/")
    page.get_by_label("充值金额（元）").fill("50")
    page.get_by_role("button", name="去支付").click()
    shots.fits(page, "sandbox-pay")
    assert page.console_errors == []


def test_keyboard_reaches_the_skip_link_and_the_login_form_and_english_is_kept_for_the_user(server, new_page):
    """One buyer, one sign-in by keyboard: then the language switch, kept on the account for another
    browser (no language cookie, Chinese Accept-Language), and back to Chinese there."""
    buyer = server.register("buyer")
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.goto("/login/")  # the username field has autofocus
    expect(page.get_by_label("用户名")).to_be_focused()
    page.keyboard.type(buyer["username"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码", exact=True)).to_be_focused()
    page.keyboard.type("e2e-pass-word-123")
    page.keyboard.press("Enter")
    expect(page.locator(".whoami")).to_contain_text(buyer["username"])

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Virtual goods market")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # Another browser (no language cookie, Chinese Accept-Language) still gets English after login.
    other = new_page()
    other.goto("/login/")
    other.get_by_label("用户名").fill(buyer["username"])
    other.get_by_label("密码", exact=True).fill("e2e-pass-word-123")
    other.get_by_role("button", name="登录").click()
    expect(other.get_by_role("navigation", name="Main navigation")).to_contain_text("My orders")
    other.get_by_role("button", name="中文").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("虚拟商品市场")
