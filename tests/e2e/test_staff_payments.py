"""补单 in a real browser: an admin finds a buyer's pending top-up on 支付补单, asks the gateway on the
confirmation page and reads the answer (the sandbox has no payment for it: nothing booked), and the
re-check is listed from the audit log; on a desktop and a 375 px phone. Screenshots under
tests/e2e/artifacts/."""

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD


@pytest.mark.parametrize("width", [1280, 375])
def test_an_admin_rechecks_a_pending_topup(server, new_page, shots, width):
    buyer = server.register("buyer")
    status, topup = server.api("POST", "/wallet/topups", {"amount": 4321}, token=buyer["token"])
    assert status == 201, topup
    admin = server.staff("admin")

    page = new_page(width=width, height=900)
    page.goto("/login/")
    page.get_by_label("用户名").fill(admin)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="支付补单").click()
    row = page.locator(f'tr[data-out-trade-no="{topup["out_trade_no"]}"]')
    expect(row.locator("td").nth(2)).to_have_text("¥43.21")
    expect(row).to_contain_text("钱包充值")
    expect(row).to_contain_text(buyer["username"])
    shots.fits(page, "pending")

    row.get_by_role("link", name="向渠道查询").click()
    expect(page.get_by_test_id("confirm-said")).to_contain_text(topup["out_trade_no"])
    shots(page, "confirm")
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_text(f"渠道显示尚未付款（{topup['out_trade_no']}），未入账。")).to_be_visible()
    expect(page.get_by_test_id("rechecks")).to_contain_text(f"补单 sandbox {topup['out_trade_no']}: not paid")
    shots(page, "result")
    assert page.console_errors == []
    status, after = server.api("GET", f"/wallet/topups/{topup['id']}", token=buyer["token"])
    assert after["status"] == "pending"
