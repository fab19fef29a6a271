"""The card-shop operator's tools in a real browser, in Chinese at 1280 px and in English on a
375 px phone: stock import (pasted text, then an .xlsx file; the report of what is added, what is a
duplicate and which lines are invalid) and the notification settings (a json:// channel pointing
at a local HTTP receiver, "send test", the message arriving there and the log line saying so)."""

import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from .conftest import PASSWORD

ZH = {
    "locale": "zh-CN",
    "width": 1280,
    "username": "用户名",
    "password": "密码",
    "login": "登录",
    "paste": "粘贴卡密（每行一条）",
    "file": "或上传 .txt / .csv / .xlsx 文件",
    "preview": "预览",
    "confirm": r"确认添加 {n} 条",
    "invalid": "第 3 行：超过2000个字符",
    "added": "已添加 {added} 条卡密，跳过重复 {dup} 条，当前可售库存 {stock} 条",
    "url": "通知地址",
    "save": "保存",
    "saved": "通知渠道已保存",
    "test": "发送测试",
    "tested": "测试通知已发出",
    "sent": "已送达",
}
EN = {
    "locale": "en-US",
    "width": 375,
    "username": "Username",
    "password": "Password",
    "login": "Log in",
    "paste": "Paste card keys (one per line)",
    "file": "or upload a .txt / .csv / .xlsx file",
    "preview": "Preview",
    "confirm": r"Add {n} items",
    "invalid": "Line 3: longer than 2,000 characters",
    "added": "Added {added} card keys, skipped {dup} duplicates; {stock} in stock now",
    "url": "Notification URL",
    "save": "Save",
    "saved": "Channel saved",
    "test": "Send test",
    "tested": "Test notification sent",
    "sent": "Sent",
}
LANGUAGES = pytest.mark.parametrize("t", [ZH, EN], ids=["zh-1280", "en-375"])


def signed_in_page(new_page, user: dict, t: dict):
    page = new_page(width=t["width"], height=900, locale=t["locale"])
    page.goto("/login/")
    page.get_by_label(t["username"]).fill(user["username"])
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t["login"]).click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    return page


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@LANGUAGES
def test_stock_import_from_pasted_text_and_an_xlsx_file_with_its_report(server, new_page, shots, t):
    merchant, listing = server.merchant_with_card_listing(title="Office 2024 激活码", price=6800, keys=["OFF-0001"])
    page = signed_in_page(new_page, merchant, t)
    page.goto(f"/shop/listings/{listing['id']}/stock")

    # Pasted: one new key twice (a duplicate in the batch), one already in stock, one far too long.
    page.get_by_label(t["paste"]).fill("OFF-0002\nOFF-0002\n" + "X" * 2001 + "\nOFF-0001\nOFF-0003")
    page.get_by_role("button", name=t["preview"], exact=True).click()
    expect(page.get_by_test_id("preview-lines")).to_have_text("5")
    expect(page.get_by_test_id("preview-new")).to_have_text("2")
    expect(page.get_by_test_id("preview-invalid")).to_have_text("1")
    expect(page.get_by_test_id("invalid-lines")).to_contain_text(t["invalid"])
    shots.fits(page, "paste-preview")
    page.get_by_role("button", name=re.compile(t["confirm"].format(n=2))).click()
    expect(page.get_by_role("status")).to_contain_text(t["added"].format(added=2, dup=2, stock=3))
    shots(page, "paste-added")

    # An .xlsx workbook: first cell of each row, a header skipped, one key already in stock.
    workbook = xlsx([["卡密", "备注"], ["OFF-0003", "重复"], ["OFF-0004", ""], [20251201, "数字卡号"]])
    page.get_by_label(t["file"]).set_input_files(
        files=[
            {
                "name": "keys.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": workbook,
            }
        ]
    )
    expect(page.locator("#file-info")).to_contain_text("keys.xlsx")
    page.get_by_role("button", name=t["preview"], exact=True).click()
    expect(page.get_by_test_id("preview-lines")).to_have_text("3")
    expect(page.get_by_test_id("preview-new")).to_have_text("2")
    expect(page.get_by_test_id("preview-invalid")).to_have_text("0")
    shots.fits(page, "xlsx-preview")
    page.get_by_role("button", name=re.compile(t["confirm"].format(n=2))).click()
    expect(page.get_by_role("status")).to_contain_text(t["added"].format(added=2, dup=1, stock=5))
    shots(page, "xlsx-added")
    status, seen = server.api("GET", f"/listings/{listing['id']}")
    assert status == 200 and seen["stock_available"] == 5
    assert page.console_errors == []


class Receiver:
    """A local HTTP endpoint for apprise's json:// channel: it records each POST's JSON body."""

    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@LANGUAGES
def test_a_json_channel_is_saved_tested_and_the_message_arrives(server, new_page, shots, receiver, t):
    merchant, _listing = server.merchant_with_card_listing(title="网易云音乐 黑胶月卡", price=1500, keys=["NE-0001"])
    page = signed_in_page(new_page, merchant, t)
    page.goto("/shop/integrations/")
    channel = page.get_by_test_id("channel-json")
    channel.get_by_label(t["url"]).fill(f"json://127.0.0.1:{receiver.port}/kameng")
    channel.get_by_role("button", name=t["save"], exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(t["saved"])
    shots.fits(page, "channel-saved")

    page.get_by_test_id("channel-json").get_by_role("button", name=t["test"]).click()
    expect(page.get_by_role("status")).to_contain_text(t["tested"])
    page.reload()  # the sending runs after its commit; the log shows what it answered
    expect(page.get_by_test_id("dispatch-status").first).to_have_text(t["sent"])
    expect(page.get_by_test_id("dispatches")).to_contain_text("[卡盟] 测试通知")
    shots.fits(page, "test-sent")
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0]["title"] == "[卡盟] 测试通知" and "通知渠道已配置成功" in receiver.bodies[0]["message"]
    assert page.console_errors == []


@LANGUAGES
def test_the_merchant_reads_a_statement_that_reconciles_and_downloads_it(server, new_page, shots, t):
    merchant, listing = server.merchant_with_card_listing(
        title="爱奇艺 黄金会员 月卡", price=1990, keys=["IQ-1", "IQ-2"]
    )
    buyer = server.register("buyer")
    server.fund(buyer, 3980)
    for _ in range(2):
        status, order = server.api("POST", "/orders", {"listing": listing["id"]}, token=buyer["token"])
        assert status == 201, order
        status, confirmed = server.api("POST", f"/orders/{order['id']}/confirm", token=buyer["token"])
        assert status == 200, confirmed
    status, paid_out = server.api("POST", "/wallet/withdrawals", {"amount": 1000}, token=merchant["token"])
    assert status == 201, paid_out
    page = signed_in_page(new_page, merchant, t)
    page.goto("/wallet/")
    page.get_by_test_id("statement-link").click()
    expect(page.get_by_test_id("income")).to_have_text("+¥39.80")
    expect(page.get_by_test_id("withdrawals")).to_have_text("−¥10.00")
    expect(page.get_by_test_id("closing")).to_have_text("¥29.80")
    expect(page.get_by_test_id("reconciles")).to_have_text("对账平衡" if t is ZH else "Reconciled")
    expect(page.get_by_test_id("statement-lines").locator("tbody tr")).to_have_count(3)
    shots.fits(page, "statement")
    with page.expect_download() as download:
        page.get_by_test_id("statement-csv").click()
    data = download.value.path().read_bytes()
    assert download.value.suggested_filename.startswith("kameng-statement-") and data.startswith(b"\xef\xbb\xbf")
    assert "期末余额,,29.80" in data.decode("utf-8-sig")
    assert page.console_errors == []
