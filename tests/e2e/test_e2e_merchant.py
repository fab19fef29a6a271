"""The merchant's side in a real browser: open a shop, list a card key (and see the unfair-clause
warning right after saving), upload stock from a CSV file with a preview, deliver by hand."""

import re

from playwright.sync_api import expect


def test_merchant_opens_a_shop_lists_a_card_key_and_uploads_stock(server, new_page, shots):
    merchant = server.register("merchant")
    page = new_page()
    page.goto("/login/")
    page.get_by_label("用户名").fill(merchant["username"])
    page.get_by_label("密码", exact=True).fill("e2e-pass-word-123")
    page.get_by_role("button", name="登录").click()

    # Open the shop.
    expect(page.get_by_role("heading", name="开设店铺")).to_be_visible()
    page.get_by_label("店铺名称").fill("星辰数码")
    page.get_by_role("button", name="开店").click()
    expect(page.get_by_role("status")).to_contain_text("店铺已开设")
    shots(page, "shop")

    # List a card key whose description carries an unfair clause.
    page.get_by_role("link", name="发布商品").first.click()
    page.get_by_label("商品标题").fill("Adobe 全家桶年度授权")
    page.get_by_label("类目").select_option("software_license")
    page.get_by_label("交付方式").select_option("card_key")
    page.get_by_label("价格（元）").fill("88.80")
    page.get_by_label("商品描述").fill("正版授权。虚拟商品，一经售出概不退换！")
    page.get_by_label("服务承诺（每行一条）").fill("100%稳定激活\n24小时内激活")
    page.get_by_role("button", name="发布").click()
    expect(page).to_have_url(re.compile(r"/shop/listings/\d+/edit$"))
    warning = page.get_by_role("alert").filter(has_text="发现无效的霸王条款")
    expect(warning).to_contain_text("一经售出概不退换")
    expect(warning).to_contain_text("《消费者权益保护法实施条例》第十七条")
    shots(page, "listing-saved-with-warning")

    # Fix it: a new version, the warning gone.
    page.get_by_label("商品描述").fill("正版授权，激活失败全额退款。")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.get_by_role("status")).to_contain_text("已保存为第 2 版")
    expect(page.get_by_text("发现无效的霸王条款")).to_have_count(0)

    # Upload stock from a CSV file: preview first, then confirm.
    page.get_by_role("link", name=re.compile("补库存")).first.click()
    csv_bytes = "卡密\nADOBE-0001\nADOBE-0002\nADOBE-0002\nADOBE-0003\n".encode()
    page.get_by_label("或上传 .txt / .csv / .xlsx 文件").set_input_files(
        files=[{"name": "keys.csv", "mimeType": "text/csv", "buffer": csv_bytes}]
    )
    expect(page.locator("#file-info")).to_contain_text("keys.csv")
    page.get_by_role("button", name="预览").click()
    expect(page.get_by_test_id("preview-lines")).to_have_text("4")
    expect(page.get_by_test_id("preview-new")).to_have_text("3")
    shots(page, "stock-preview")
    page.get_by_role("button", name=re.compile("确认添加 3 条")).click()
    expect(page.get_by_role("status")).to_contain_text("已添加 3 条卡密，跳过重复 1 条，当前可售库存 3 条")
    shots(page, "stock-added")

    # The market shows it to buyers, with its stock.
    page.goto("/?q=Adobe")
    card = page.locator(".listing-card", has_text="Adobe 全家桶年度授权")
    expect(card).to_contain_text("¥88.80")
    expect(card).to_contain_text("库存 3")
    assert page.console_errors == []


def test_merchant_delivers_a_service_order_by_hand(server, new_page):
    merchant = server.register("merchant")
    status, _shop = server.api("POST", "/shops", {"name": "代练工作室"}, token=merchant["token"])
    assert status == 201
    status, listing = server.api(
        "POST",
        "/listings",
        {
            "title": "英雄联盟 代练 白银到黄金",
            "category": "game_boosting",
            "kind": "service",
            "price": 12000,
            "description": "五天内完成",
            "promises": ["不使用外挂"],
        },
        token=merchant["token"],
    )
    assert status == 201, listing
    buyer = server.register("buyer")
    server.fund(buyer, 20000)
    status, order = server.api(
        "POST", "/orders", {"listing": listing["id"], "accept_special_terms": True}, token=buyer["token"]
    )
    assert status == 201, order

    page = new_page()
    page.goto("/login/")
    page.get_by_label("用户名").fill(merchant["username"])
    page.get_by_label("密码", exact=True).fill("e2e-pass-word-123")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="店铺订单").click()
    page.get_by_role("link", name=order["number"]).click()
    page.get_by_label("交付内容").fill("已上黄金，截图见留言。")
    page.get_by_role("button", name="确认发货").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货，待确认")
    expect(page.get_by_test_id("delivery-content")).to_have_text("已上黄金，截图见留言。")
    assert page.console_errors == []
