"""Issue 15, points 3, 6 and 9 in a real browser, in Chinese at 1280 px and English at 375 px, with
screenshots under tests/e2e/artifacts/: the buyer sees the merchant's replacement key on the case
page and accepts it; the order chat stands read-only on the case page and on the arbitrator's review
page; an admin creates an arbitrator and disables one on the staff page."""

import pytest
from playwright.sync_api import expect

from .conftest import log_in

WORDS = {
    "zh": {
        "accept": "接受补发",
        "replacement": "商家补发",
        "chat": "订单留言",
        "user": "用户名",
        "password": "初始密码",
        "create": "创建仲裁员账号",
        "disable": "停用",
        "disabled": "已停用",
        "active": "在岗",
    },
    "en": {
        "accept": "Accept the replacement",
        "replacement": "Merchant sent a replacement",
        "chat": "Order chat",
        "user": "Username",
        "password": "Initial password",
        "create": "Create the account",
        "disable": "Disable",
        "disabled": "Disabled",
        "active": "Active",
    },
}
VIEWS = [("zh", 1280), ("en", 375)]


def _case(server, *, keys: list[str]) -> tuple[dict, dict, dict, dict]:
    merchant, listing = server.merchant_with_card_listing(title="Office 2021 激活码", price=12000, keys=keys)
    buyer = server.register("buyer")
    server.fund(buyer, 12000)
    status, order = server.api("POST", "/orders", {"listing": listing["id"]}, token=buyer["token"])
    assert status == 201, order
    body = {"order": order["id"], "reason": "defective", "description": "激活码无效 0xC004F074", "amount": 12000}
    status, case = server.api("POST", "/refunds", body, token=buyer["token"])
    assert status == 201, case
    return merchant, buyer, order, case


@pytest.mark.parametrize(("language", "width"), VIEWS)
def test_the_buyer_sees_the_replacement_key_and_accepts_it(server, new_page, shots, language, width):
    words = WORDS[language]
    merchant, buyer, order, case = _case(server, keys=["OFF-FIRST-0001", "OFF-SECOND-0002"])
    status, replaced = server.api("POST", f"/refunds/{case['id']}/replace", {}, token=merchant["token"])
    assert status == 200, replaced

    page = new_page(width=width, height=900 if width > 400 else 812)
    log_in(page, buyer["username"], language == "en")
    page.goto(f"/refunds/{case['id']}")
    block = page.get_by_test_id("replacement")
    expect(block).to_contain_text(words["replacement"])
    expect(block).to_contain_text("OFF-SECOND-0002")  # the new key, secret to everyone but the parties
    shots.fits(page, "replacement")
    page.locator("#actions").get_by_role("link", name=words["accept"]).click()
    page.get_by_test_id("confirm-action").click()
    steps = page.get_by_test_id("steps")
    expect(steps.locator("[data-step=closed]")).to_have_attribute("data-state", "current")
    shots.fits(page, "replacement-accepted")
    status, seen = server.api("GET", f"/refunds/{case['id']}", token=buyer["token"])
    assert status == 200 and seen["status"] == "closed" and seen["resolution"] == "replaced", seen
    assert page.console_errors == []


@pytest.mark.parametrize(("language", "width"), VIEWS)
def test_the_order_chat_is_shown_read_only_to_the_buyer_and_the_arbitrator(server, new_page, shots, language, width):
    words = WORDS[language]
    merchant, buyer, order, case = _case(server, keys=["OFF-CHAT-0001"])
    said = "第二次激活还是提示 0xC004F074"
    assert server.api("POST", f"/orders/{order['id']}/messages", {"body": said}, token=buyer["token"])[0] == 201
    status, case = server.api(
        "POST", f"/refunds/{case['id']}/reject", {"reason": "卡密已被激活"}, token=merchant["token"]
    )
    assert status == 200, case
    assert server.api("POST", f"/refunds/{case['id']}/escalate", {"reason": "仍然无效"}, token=buyer["token"])[0] == 200

    page = new_page(width=width, height=900 if width > 400 else 812)
    log_in(page, buyer["username"], language == "en")
    page.goto(f"/refunds/{case['id']}")
    chat = page.get_by_test_id("order-chat")
    expect(chat).to_contain_text(words["chat"])
    expect(chat).to_contain_text(said)
    expect(chat.locator("textarea, input[type=text], button")).to_have_count(0)  # read-only here
    expect(chat.locator(f"a[href='/orders/{order['id']}/#chat'], a[href='/orders/{order['id']}#chat']")).to_have_count(
        1
    )
    shots.fits(page, "case-chat")

    arbitrator = server.staff("arbitrator", language)
    staff = new_page(width=width, height=900 if width > 400 else 812)
    log_in(staff, arbitrator, language == "en")
    staff.goto(f"/arbitration/{case['id']}")
    chat = staff.get_by_test_id("order-chat")
    expect(chat).to_contain_text(said)
    expect(chat.locator("textarea, input[type=text]")).to_have_count(0)
    shots.fits(staff, "review-chat")
    assert page.console_errors == [] and staff.console_errors == []


@pytest.mark.parametrize(("language", "width"), VIEWS)
def test_an_admin_creates_an_arbitrator_and_disables_one(server, new_page, shots, language, width):
    words = WORDS[language]
    admin = server.staff("admin", language)
    page = new_page(width=width, height=900 if width > 400 else 812)
    log_in(page, admin, language == "en")
    page.goto("/staff/arbitrators/")
    name = server.unique("judge")
    page.get_by_label(words["user"], exact=True).fill(name)
    page.get_by_label(words["password"]).fill("Strong-pass-2026!")
    page.get_by_role("button", name=words["create"]).click()
    row = page.get_by_test_id("arbitrators").locator("tr", has_text=name)
    expect(row).to_contain_text(words["active"])
    shots.fits(page, "arbitrator-created")
    row.get_by_role("button", name=words["disable"]).click()
    row = page.get_by_test_id("arbitrators").locator("tr", has_text=name)
    expect(row).to_contain_text(words["disabled"])
    shots.fits(page, "arbitrator-disabled")
    status, _ = server.api("POST", "/auth/token", {"username": name, "password": "Strong-pass-2026!"})
    assert status == 401  # a disabled account cannot log in
    assert page.console_errors == []
