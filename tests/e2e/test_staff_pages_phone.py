"""Issue 15, point 10 in a real browser: the statistics page and the audit log read on a 375 px
phone in Chinese and English — chart text not shrunk to nothing, table rows keep their column names,
audit entries in words and local time. Screenshots under tests/e2e/artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import OVERFLOW_JS, PASSWORD


def _sign_in(page, username: str, english: bool) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if english:
        page.get_by_role("button", name="English").click()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_statistics_and_audit_read_on_a_phone(server, new_page, shots, language):
    english = language == "en"
    merchant, listing = server.merchant_with_card_listing(title="Steam 充值卡", price=5000, keys=["S-1"])
    buyer = server.register("buyer")
    server.fund(buyer, 5000)
    status, order = server.api("POST", "/orders", {"listing": listing["id"]}, token=buyer["token"])
    assert status == 201, order
    body = {"order": order["id"], "reason": "defective", "description": "无效", "amount": 5000}
    status, case = server.api("POST", "/refunds", body, token=buyer["token"])
    assert status == 201, case
    assert server.api("POST", f"/refunds/{case['id']}/accept", token=merchant["token"])[0] == 200
    admin = server.unique("ops")
    made = server.kameng("user", "create", "--username", admin, "--password", PASSWORD, "--role", "admin")
    assert made.returncode == 0, made.stderr

    page = new_page(width=375, height=812)
    _sign_in(page, admin, english)

    def fits(step: str) -> None:
        result = page.evaluate(OVERFLOW_JS)
        shots(page, step)
        assert result["scrollWidth"] <= result["width"], (step, result)
        assert not result["offenders"], (step, result)

    page.goto("/rules/#stats")
    tick = page.locator("#chart-dispute text.y-tick").first
    expect(tick).to_be_visible()
    assert tick.bounding_box()["height"] >= 6  # about 7 px on a phone, not 5
    fits("statistics")

    page.goto("/staff/audit/?type=case")
    row = page.get_by_test_id("audit-entries").locator("tbody tr").first
    expect(row).to_contain_text(f"Case #{case['id']}" if english else f"售后单 #{case['id']}")
    assert not re.search(r"\b(?:awaiting_merchant|closed|case\.\w+)\b", row.inner_text())
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.inner_text())
    fits("audit")
    assert page.console_errors == []
