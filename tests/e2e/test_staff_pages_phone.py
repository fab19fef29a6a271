"""Issue 15, point 10 in a real browser: the statistics page and the audit log read on a 375 px
phone in Chinese and English — chart text not shrunk to nothing, table rows keep their column names,
audit entries in words and local time. Screenshots under tests/e2e/artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in


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
    admin = server.staff("admin", language)

    page = new_page(width=375, height=812)
    log_in(page, admin, english)

    page.goto("/rules/#stats")
    tick = page.locator("#chart-dispute text.y-tick").first
    expect(tick).to_be_visible()
    assert tick.bounding_box()["height"] >= 6  # about 7 px on a phone, not 5
    shots.fits(page, "statistics")

    page.goto("/staff/audit/?type=case")
    row = page.get_by_test_id("audit-entries").locator("tbody tr").first
    expect(row).to_contain_text(f"Case #{case['id']}" if english else f"售后单 #{case['id']}")
    assert not re.search(r"\b(?:awaiting_merchant|closed|case\.\w+)\b", row.inner_text())
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.inner_text())
    shots.fits(page, "audit")
    assert page.console_errors == []
