"""A visitor buys a card key without an account (免注册购买) on a 375 px phone: contact and query
password, the payment page, the sandbox gateway, back to the order with its key; then, on another
device, 查单 by order number and query password (a wrong password finds nothing). Also in English."""

import re

from playwright.sync_api import expect


def test_a_guest_buys_pays_sees_the_key_and_looks_the_order_up_later(server, new_page, shots):
    _merchant, listing = server.merchant_with_card_listing(
        title="腾讯视频 VIP 月卡", price=2500, keys=["TXV-E2E-0001", "TXV-E2E-0002"]
    )
    page = new_page(width=375, height=800)
    page.goto(f"/listings/{listing['id']}")
    page.get_by_test_id("guest-buy-link").click()
    expect(page.get_by_role("heading", name="免注册购买", exact=True)).to_be_visible()
    page.get_by_label("联系方式").fill("13812345678")
    page.get_by_label("查询密码").fill("cha-dan-e2e-1")
    shots.fits(page, "guest-buy")
    page.get_by_test_id("guest-buy").click()

    expect(page.get_by_test_id("awaiting-payment")).to_contain_text("待付款")
    number = page.get_by_test_id("order-number").inner_text()
    assert re.fullmatch(r"KM\d{16}", number), number
    shots.fits(page, "awaiting-payment")
    page.get_by_test_id("go-pay").click()
    expect(page.get_by_test_id("pay-amount")).to_have_text("¥25.00")
    page.get_by_role("link", name="去沙箱支付").click()
    page.get_by_role("button", name="确认支付").click()
    expect(page.get_by_role("status")).to_contain_text("订单已付款")
    page.get_by_test_id("back-to-order").click()
    expect(page.get_by_test_id("card-keys")).to_contain_text("TXV-E2E-0001")
    expect(page.get_by_test_id("order-status")).to_have_text("已发货，待确认")
    shots.fits(page, "paid-with-key")

    other = new_page(width=375, height=800, locale="en-US")  # another device, in English
    other.goto("/guest/lookup")
    expect(other.get_by_role("heading", name="Look up an order", exact=True)).to_be_visible()
    other.locator("#id_number").fill(number)
    other.locator("#id_query_password").fill("not-the-password")
    other.get_by_test_id("lookup").click()
    expect(other.get_by_role("alert")).to_contain_text("No matching order")
    expect(other.get_by_test_id("card-keys")).to_have_count(0)
    other.locator("#id_query_password").fill("cha-dan-e2e-1")
    other.get_by_test_id("lookup").click()
    expect(other.get_by_test_id("card-keys")).to_contain_text("TXV-E2E-0001")
    shots.fits(other, "looked-up")
    assert not page.console_errors and not other.console_errors, (page.console_errors, other.console_errors)
