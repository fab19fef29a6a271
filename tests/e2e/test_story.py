"""The whole after-sales story in a real browser, in Chinese and then in English: a merchant lists a
card key with stock, a buyer tops up and buys, opens a case with a screenshot, the merchant rejects,
the buyer escalates, an arbitrator claims and decides, the merchant accepts the decision so it is
final, and both wallets show the money where it should be. Then the buyer's part on a 375 px phone.

Labels are looked up through the same gettext catalog the pages use, so one script reads both
languages. Screenshots of every step land in tests/e2e/artifacts/<test>/.
"""

import io
import re
from pathlib import Path

import pytest
from django.utils import translation
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import expect

PASSWORD = "e2e-pass-word-123"  # what the suite's `server.register` gives every account


class Labels:
    """Page text in the story's language, from the committed catalog."""

    def __init__(self, lang: str):
        self.code = "en" if lang == "en" else "zh-hans"

    def __call__(self, text: str, **values) -> str:
        with translation.override(self.code):
            out = translation.gettext(text)
        return out % values if values else out

    def plural(self, singular: str, plural: str, n: int) -> str:
        with translation.override(self.code):
            return translation.ngettext(singular, plural, n) % {"n": n}

    def starting(self, text: str) -> re.Pattern:
        return re.compile("^" + re.escape(self(text)))


def cjk_font() -> str | None:
    try:
        import noto_cjk_sans_otc

        bundled = Path(noto_cjk_sans_otc.__file__).parent / "NotoSansCJK-Regular.ttc"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    for path in (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    ):
        if Path(path).is_file():
            return path
    return None


def screenshot_png(order_number: str) -> bytes:
    """A phone-sized 'screenshot' of the failed activation: order number, product, error code."""
    lines = [f"订单号 {order_number}", "Windows 11 专业版激活码", "点击 激活 → 激活码无效", "错误代码 0x8007007B"]
    path = cjk_font()
    font = ImageFont.truetype(path, 30) if path else ImageFont.load_default()
    if path is None:
        lines = [
            f"Order {order_number}",
            "Windows 11 Pro key",
            "Activate -> invalid product key",
            "error code 0x8007007B",
        ]
    image = Image.new("RGB", (720, 420), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((32, 40 + i * 80), line, font=font, fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sign_in(page, t: Labels, username: str, *, english: bool) -> None:
    page.goto("/login/")
    page.get_by_label(t("用户名")).fill(username)
    page.get_by_label(t("密码"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t("登录")).click()
    expect(page.locator(".whoami")).to_contain_text(username)
    if english and page.locator("html").get_attribute("lang") != "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def nav(page, t: Labels, name: str):
    return page.get_by_role("navigation", name=t("主导航")).get_by_role("link", name=t(name))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_whole_after_sales_story(lang, server, new_page, shots):
    t = Labels(lang)
    english = lang == "en"
    locale = "en-US" if english else "zh-CN"
    title = "Windows 11 专业版激活码" if not english else "Windows 11 Pro licence key"
    keys = [server.unique("W11-KEY-"), server.unique("W11-KEY-")]

    # ---- the merchant opens a shop and lists a card key with stock ----
    merchant = server.register("merchant")
    shop = new_page(locale=locale)
    sign_in(shop, t, merchant["username"], english=english)
    expect(shop.get_by_role("heading", name=t("开设店铺"))).to_be_visible()
    shop.get_by_label(t("店铺名称")).fill(f"{merchant['username']} 数码")
    shop.get_by_role("button", name=t("开店")).click()
    shop.get_by_role("link", name=t("发布商品")).first.click()
    shop.get_by_label(t("商品标题")).fill(title)
    shop.get_by_label(t("类目")).select_option("software_license")
    shop.get_by_label(t("交付方式")).select_option("card_key")
    shop.get_by_label(t("价格（元）")).fill("99")
    shop.get_by_label(t("商品描述")).fill("正版授权，在线激活。")
    shop.get_by_label(t("服务承诺（每行一条）")).fill("100%稳定激活\n24小时内激活")
    shop.get_by_role("button", name=t("发布")).click()
    expect(shop).to_have_url(re.compile(r"/shop/listings/\d+/edit$"))
    listing_id = re.search(r"/shop/listings/(\d+)/edit", shop.url).group(1)
    shop.get_by_role("link", name=t.starting("补库存")).first.click()
    shop.get_by_label(t("粘贴卡密（每行一条）")).fill("\n".join(keys))
    shop.get_by_role("button", name=t("预览")).click()
    shop.get_by_role("button", name=t.plural("确认添加 %(n)s 条", "确认添加 %(n)s 条", 2)).click()
    shots(shop, "merchant-stock-added")

    # ---- the buyer tops up ¥200 and buys ----
    buyer = server.register("buyer")
    page = new_page(locale=locale)
    sign_in(page, t, buyer["username"], english=english)
    nav(page, t, "钱包").click()
    page.get_by_label(t("充值金额（元）")).fill("200")
    page.get_by_role("button", name=t("去支付")).click()
    page.get_by_role("button", name=t("确认支付")).click()
    page.get_by_role("link", name=t("返回钱包")).click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("¥200.00")
    page.goto(f"/listings/{listing_id}")
    page.get_by_role("button", name=t("立即购买（平台担保）")).click()
    expect(page.get_by_test_id("card-keys")).to_contain_text(keys[0])
    order_number = page.locator("h1").inner_text().split()[-1]
    shots(page, "buyer-order")

    # ---- 申请售后 with a screenshot ----
    page.get_by_role("link", name=t("申请售后")).click()
    page.get_by_role("radio", name=t.starting("功能缺陷")).check()
    page.get_by_label(t("问题描述")).fill("激活码无效，激活时提示错误代码 0x8007007B，截图见附件。")
    expect(page.get_by_label(t("申请退款金额（元）"))).to_have_value("99.00")
    page.get_by_label(t("问题证据（截图、录屏、错误提示）")).set_input_files(
        files=[{"name": "activation-error.png", "mimeType": "image/png", "buffer": screenshot_png(order_number)}]
    )
    page.get_by_label(t("证据说明")).fill("第二步点击激活后出现")
    shots(page, "buyer-refund-form")
    page.get_by_role("button", name=t("提交售后申请")).click()
    expect(page).to_have_url(re.compile(r"/refunds/\d+$"), timeout=60000)
    case_id = re.search(r"/refunds/(\d+)$", page.url).group(1)
    expect(page.get_by_test_id("case-status")).to_have_text(t("待商家处理"))
    expect(page.locator("[data-dimension=problem]")).to_contain_text("activation-error.png")
    expect(page.locator("[data-deadline=merchant_respond_by] [data-countdown-seconds]")).to_be_visible()
    expect(page.locator("img.thumb")).to_have_count(1)
    shots(page, "buyer-case-opened")

    # ---- the merchant rejects from the inbox ----
    shop.reload()
    nav(shop, t, "售后处理").click()
    row = shop.get_by_test_id("inbox-waiting").locator("li", has_text=f"#{case_id}")
    expect(row).to_contain_text(title)
    shots(shop, "merchant-inbox")
    row.locator("summary", has_text=t("拒绝")).click()
    row.get_by_label(t("拒绝理由")).fill("卡密出库前已验证可用，买家可能输入有误。")
    row.get_by_role("button", name=t("拒绝退款")).click()
    expect(shop.get_by_role("status")).to_contain_text(t("已拒绝退款申请，等待买家答复。"))
    expect(shop.get_by_test_id("inbox-others")).to_contain_text(f"#{case_id}")

    # ---- the buyer escalates ----
    page.reload()
    expect(page.get_by_test_id("case-status")).to_have_text(t("待买家答复"))
    shots(page, "buyer-after-rejection")
    page.get_by_label(t("为什么申请平台介入")).fill("卡密仍然无效，商家没有补发。")
    page.get_by_role("button", name=t("申请平台介入")).click()
    page.get_by_test_id("confirm-action").click()  # the page echoes the reason and asks to confirm
    expect(page.get_by_test_id("case-status")).to_have_text(t("平台仲裁中"))
    expect(page.locator("[data-deadline=decide_by]")).to_be_visible()

    # ---- the arbitrator claims from the queue and decides ----
    arbitrator = server.staff("arbitrator", lang)
    desk = new_page(locale=locale)
    sign_in(desk, t, arbitrator, english=english)
    nav(desk, t, "仲裁队列").click()
    queue_row = desk.locator(f"tr[data-case='{case_id}']")
    expect(queue_row).to_contain_text(t("快速通道"))
    shots(desk, "arbitration-queue")
    queue_row.get_by_role("button", name=re.compile("^" + re.escape(t("接手")))).click()
    expect(desk).to_have_url(re.compile(rf"/arbitration/{case_id}$"))
    expect(desk.get_by_test_id("claimed-by")).to_contain_text(t("由我处理"))
    expect(desk.get_by_test_id("category-rule")).to_be_visible()
    expect(desk.get_by_test_id("assist-contradictions")).to_contain_text("100%稳定激活")
    expect(desk.get_by_test_id("assist-findings")).to_contain_text("0x8007007B")
    shots(desk, "arbitration-review")
    desk.get_by_role("radio", name=t("全额退款")).check()
    desk.get_by_label(t("裁决理由")).fill(
        "买家截图显示激活码无效（错误代码 0x8007007B），与商家“100%稳定激活”的承诺不符；"
        "依软件授权码类目规则“激活码无效全额退款”，裁决全额退款。"
    )
    desk.get_by_role("button", name=t("下一步：确认裁决")).click()
    expect(desk.get_by_test_id("confirm-outcome")).to_have_text(t("全额退款"))
    shots(desk, "arbitration-confirm")
    desk.get_by_role("button", name=t("确认作出裁决")).click()
    expect(desk.get_by_test_id("case-status")).to_have_text(t("已裁决"))

    # ---- the merchant accepts the decision: it becomes final and the money moves ----
    shop.goto(f"/refunds/{case_id}")
    expect(shop.get_by_test_id("decision-outcome")).to_have_text(t("全额退款"))
    shop.get_by_role("link", name=t("接受裁决")).click()
    expect(
        shop.get_by_text(
            t(
                "接受后裁决立即生效（%(o)s，退款 %(a)s），你将放弃申诉的权利。此操作不可撤销。",
                o=t("全额退款"),
                a="¥99.00",
            )
        )
    ).to_be_visible()
    shots(shop, "merchant-accept-decision")
    shop.get_by_test_id("confirm-action").click()
    expect(shop.get_by_test_id("case-status")).to_have_text(t("已结束"))
    expect(shop.get_by_test_id("decision-final")).to_contain_text(t("已生效"))

    page.reload()
    expect(page.get_by_test_id("resolution")).to_have_text(t("全额退款"))
    expect(page.get_by_test_id("refunded-amount")).to_have_text("¥99.00")
    expect(page.get_by_test_id("timeline")).to_contain_text(t("退款到账"))
    shots(page, "buyer-case-closed")

    # ---- the wallets agree: the buyer has the ¥99 back, the merchant was never paid ----
    nav(page, t, "钱包").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("¥200.00")
    shots(page, "buyer-wallet")
    nav(shop, t, "钱包").click()
    expect(shop.get_by_test_id("wallet-balance")).to_have_text("¥0.00")
    shots(shop, "merchant-wallet")
    status, body = server.api("GET", "/wallet", token=buyer["token"])
    assert status == 200 and body["balance"] == 20000
    status, body = server.api("GET", "/wallet", token=merchant["token"])
    assert status == 200 and body["balance"] == 0
    for p in (page, shop, desk):
        assert p.console_errors == [], p.console_errors


def test_the_buyers_refund_request_fits_a_375px_phone(server, new_page, shots):
    t = Labels("zh")
    _merchant, listing = server.merchant_with_card_listing(
        title="王者荣耀点券充值卡密一百元面值全国通用自动发货秒到账超长标题" * 2,
        price=9800,
        keys=["PHONE-CASE-0001-WITH-A-VERY-LONG-SECRET-THAT-HAS-NO-SPACES-0123456789"],
    )
    buyer = server.register("buyer")
    server.fund(buyer, 50000)
    page = new_page(width=375, height=812)
    sign_in(page, t, buyer["username"], english=False)

    page.goto(f"/listings/{listing['id']}")
    page.get_by_role("button", name=t("立即购买（平台担保）")).click()
    expect(page.get_by_test_id("card-keys")).to_contain_text("PHONE-CASE-0001")
    order_number = page.locator("h1").inner_text().split()[-1]
    page.get_by_role("link", name=t("申请售后")).click()
    shots.fits(page, "refund-form")
    page.get_by_role("radio", name=t.starting("描述不符")).check()
    page.get_by_label(t("问题描述")).fill("充值后到账不足，少了 200 点券。")
    page.get_by_label(t("申请退款金额（元）")).fill("120")
    evidence = [{"name": "shortfall.png", "mimeType": "image/png", "buffer": screenshot_png(order_number)}]
    page.get_by_label(t("问题证据（截图、录屏、错误提示）")).set_input_files(files=evidence)
    page.get_by_role("button", name=t("提交售后申请")).click()  # sent by the upload script, answered with errors
    expect(page.locator("#id_amount_error")).to_contain_text("¥98.00")
    expect(page.get_by_label(t("申请退款金额（元）"))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(t("问题描述"))).to_have_value("充值后到账不足，少了 200 点券。")
    shots.fits(page, "refund-form-error")
    page.get_by_label(t("申请退款金额（元）")).fill("49.5")
    page.get_by_label(t("问题证据（截图、录屏、错误提示）")).set_input_files(files=evidence)
    page.get_by_role("button", name=t("提交售后申请")).click()
    expect(page).to_have_url(re.compile(r"/refunds/\d+$"), timeout=60000)
    expect(page.get_by_test_id("requested-amount")).to_have_text("¥49.50")
    shots.fits(page, "case-page")
    page.get_by_role("link", name=t("撤回申请")).click()
    shots.fits(page, "withdraw-confirm")
    page.get_by_test_id("confirm-action").click()
    expect(page.get_by_test_id("case-status")).to_have_text(t("已结束"))
    nav(page, t, "我的售后").click()
    expect(page.get_by_test_id("closed-cases")).to_contain_text(t("买家撤回"))
    shots.fits(page, "my-cases")
    assert page.console_errors == []
