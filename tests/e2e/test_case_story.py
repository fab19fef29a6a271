"""The case page in a real browser (issue 15, points 5 and 10): the step bar, the one sentence of who
acts by when and what happens otherwise, the money line, and the buyer's choice between a low offer
and escalation (no primary button; escalation asks why, then asks first) — in Chinese and English,
at 1280 and 375 px, with screenshots under tests/e2e/artifacts/."""

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD

TEXTS = {
    "zh": {
        "login": "登录",
        "user": "用户名",
        "password": "密码",
        "waiting": "需要你在",
        "otherwise": "逾期不答复，售后单按撤回处理",
        "escalate": "申请平台介入",
        "reason": "为什么申请平台介入",
        "confirm": "确认申请平台介入",
        "arbitrator": "平台仲裁员将在",
    },
    "en": {
        "login": "登录",
        "user": "用户名",
        "password": "密码",
        "waiting": "You need to act by",
        "otherwise": "the case counts as withdrawn",
        "escalate": "Ask the platform to step in",
        "reason": "Why you ask the platform to step in",
        "confirm": "Yes, ask the platform to step in",
        "arbitrator": "A platform arbitrator will decide by",
    },
}


def _case_with_a_low_offer(server) -> tuple[dict, str]:
    merchant, listing = server.merchant_with_card_listing(
        title="Windows 11 专业版 零售激活码", price=30000, keys=["W11-STORY-0001"]
    )
    buyer = server.register("buyer")
    server.fund(buyer, 30000)
    status, order = server.api("POST", "/orders", {"listing": listing["id"]}, token=buyer["token"])
    assert status == 201, order
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效 0xC004C060", "amount": 30000}
    status, case = server.api("POST", "/refunds", body, token=buyer["token"])
    assert status == 201, case
    status, case = server.api("POST", f"/refunds/{case['id']}/offer", {"amount": 3000}, token=merchant["token"])
    assert status == 200, case
    return buyer, case["id"]


# Each language once and each width once (as the other stories): English, the longer text, on the phone.
@pytest.mark.parametrize(("language", "width"), [("zh", 1280), ("en", 375)])
def test_the_buyer_sees_where_the_case_stands_and_escalates_with_a_reason(server, new_page, shots, language, width):
    words = TEXTS[language]
    buyer, case_id = _case_with_a_low_offer(server)
    page = new_page(width=width, height=900 if width > 400 else 812)
    page.goto("/login/")
    page.get_by_label(words["user"]).fill(buyer["username"])
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=words["login"]).click()
    if language == "en":
        page.get_by_role("button", name="English").click()

    page.goto(f"/refunds/{case_id}")
    steps = page.get_by_test_id("steps")
    expect(steps.locator("[aria-current=step]")).to_have_attribute("data-step", "negotiation")
    expect(page.get_by_test_id("next-step")).to_contain_text(words["waiting"])
    expect(page.get_by_test_id("next-step")).to_contain_text(words["otherwise"])
    expect(page.locator("#actions .btn-primary")).to_have_count(0)  # the low offer is not pushed
    shots.fits(page, "case-with-offer")

    page.get_by_role("button", name=words["escalate"]).click()  # no reason yet: asked for one, once
    expect(page.locator("#id_escalate-reason_error")).to_have_count(1)
    page.get_by_label(words["reason"]).fill("Key still invalid" if language == "en" else "激活码仍然无效")
    page.get_by_role("button", name=words["escalate"]).click()
    expect(page.get_by_test_id("confirm-said")).to_be_visible()
    shots.fits(page, "escalate-confirm")
    page.get_by_test_id("confirm-action").click()
    expect(steps.locator("[aria-current=step]")).to_have_attribute("data-step", "arbitration")
    expect(page.get_by_test_id("next-step")).to_contain_text(words["arbitrator"])
    shots.fits(page, "case-in-arbitration")
    assert page.console_errors == []
