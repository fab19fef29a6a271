"""The merchant's pages: shop, listings with versions and unfair-clause warnings, stock upload
with a preview step, and manual delivery."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kameng.catalog.models import Listing, Shop, StockItem
from kameng.orders.models import Order

LISTING_FORM = {
    "title": "Office 2021 专业增强版",
    "category": "software_license",
    "kind": "card_key",
    "price": "39.90",
    "description": "正版密钥，在线激活",
    "promises": "100%稳定激活\n24小时内激活\n",
    "after_sale_days": "7",
    "verification_minutes": "1440",
    "deposit_percent": "",
    "status": "active",
}


@pytest.fixture
def new_merchant(make_user):
    return make_user("merchant")


def test_merchant_opens_and_edits_a_shop(login_as, new_merchant, doc):
    client = login_as(new_merchant)
    page = doc(client.get("/shop/"))
    assert "开设店铺" in page.text()
    empty = doc(client.post("/shop/", {"name": "", "response_promise_hours": "1", "refund_promise_hours": "24"}))
    assert empty.field_error("name")
    response = client.post(
        "/shop/",
        {
            "name": "数码小铺",
            "description": "正版",
            "contact": "客服 9:00-21:00",
            "response_promise_hours": "2",
            "refund_promise_hours": "12",
        },
    )
    assert response["Location"] == "/shop/"
    shop = Shop.objects.get(owner=new_merchant)
    assert shop.name == "数码小铺"
    client.post(
        "/shop/",
        {
            "name": "数码小铺 2 店",
            "description": "正版",
            "contact": "",
            "response_promise_hours": "3",
            "refund_promise_hours": "12",
        },
    )
    shop.refresh_from_db()
    assert shop.name == "数码小铺 2 店" and shop.response_promise_hours == 3
    dashboard = doc(client.get("/shop/")).text()
    assert "数码小铺 2 店" in dashboard and "级（" in dashboard


def test_listing_pages_send_a_merchant_without_a_shop_to_open_one(login_as, new_merchant):
    assert login_as(new_merchant).get("/shop/listings/new")["Location"] == "/shop/"


def test_create_listing_then_edit_makes_versions_and_warns_about_unfair_clauses(login_as, merchant, doc):
    client = login_as(merchant)
    response = client.post("/shop/listings/new", {**LISTING_FORM, "description": "虚拟商品，一经售出概不退换"})
    listing = Listing.objects.get()
    assert response["Location"] == f"/shop/listings/{listing.pk}/edit"
    assert listing.price == 3990 and listing.promises == ["100%稳定激活", "24小时内激活"]

    page = doc(client.get(response["Location"]))
    warning = page.by_id("warn-h").parent.text()
    assert "一经售出概不退换" in warning and "《消费者权益保护法实施条例》第十七条" in warning
    assert "第四十九条" not in warning  # 电子商务法第四十九条 is for "no contract after payment" clauses only
    assert "第 1 版" in page.text()

    client.post(f"/shop/listings/{listing.pk}/edit", {**LISTING_FORM, "price": "35.00"})
    listing.refresh_from_db()
    assert listing.version == 2 and listing.price == 3500 and listing.warnings == []
    edited = doc(client.get(f"/shop/listings/{listing.pk}/edit"))
    assert edited.by_id("warn-h") is None
    history = edited.by_id("versions-h").parent.text()
    assert "第 2 版" in history and "第 1 版" in history and "¥39.90" in history and "¥35.00" in history
    assert "v2" in doc(client.get("/shop/listings/")).text()


@pytest.mark.parametrize(
    "field, value",
    [
        ("price", "abc"),
        ("price", "0"),
        ("price", "1.234"),
        ("title", ""),
        ("after_sale_days", "400"),
        ("verification_minutes", "-1"),
        ("category", "weapons"),
    ],
)
def test_listing_form_errors_sit_next_to_their_field(login_as, merchant, doc, field, value):
    page = doc(login_as(merchant).post("/shop/listings/new", {**LISTING_FORM, field: value}))
    assert page.field_error(field), (field, value)
    assert not Listing.objects.exists()


def test_service_rule_errors_are_attached_to_the_field_they_name(login_as, merchant, doc):
    # Staged payment is a service rule (not a form rule): card keys cannot use it.
    page = doc(login_as(merchant).post("/shop/listings/new", {**LISTING_FORM, "deposit_percent": "30"}))
    assert "自动发卡商品不支持分阶段付款" in page.field_error("deposit_percent")


def test_merchants_cannot_edit_other_shops_listings(login_as, merchant, make_user, make_listing, api):
    listing = make_listing(merchant)
    rival = make_user("merchant")
    api.post("/shops", {"name": "对手店"}, token=rival.token)
    client = login_as(rival)
    assert client.get(f"/shop/listings/{listing['id']}/edit").status_code == 404
    assert client.post(f"/shop/listings/{listing['id']}/edit", LISTING_FORM).status_code == 404
    assert client.get(f"/shop/listings/{listing['id']}/stock").status_code == 404


def test_stock_upload_from_text_previews_then_adds(login_as, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=["OLD-1"])
    client = login_as(merchant)
    url = f"/shop/listings/{listing['id']}/stock"
    preview = doc(client.post(url, {"step": "preview", "text": "NEW-1\nNEW-2\n\nNEW-1\nOLD-1\n  NEW-3  \n"}))
    assert preview.testid("preview-lines").text() == "5"
    assert preview.testid("preview-new").text() == "3"
    assert "2 条重复的卡密不会被添加" in preview.text()
    assert StockItem.objects.filter(listing_id=listing["id"]).count() == 1  # nothing added yet

    items = preview.by_id("id_items_text").attrs["value"]
    response = client.post(url, {"step": "confirm", "items_text": items})
    assert response["Location"] == url
    secrets = set(StockItem.objects.filter(listing_id=listing["id"]).values_list("secret", flat=True))
    assert secrets == {"OLD-1", "NEW-1", "NEW-2", "NEW-3"}
    assert "已添加 3 条卡密，跳过重复 2 条，当前可售库存 4 条" in doc(client.get(url)).text()


def test_stock_upload_reads_csv_files_in_gbk_and_skips_the_header(login_as, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=[])
    client = login_as(merchant)
    url = f"/shop/listings/{listing['id']}/stock"
    data = "卡密,备注\nCSV-1,第一批\nCSV-2,第一批\nCSV-2,重复\n".encode("gbk")
    preview = doc(client.post(url, {"step": "preview", "file": SimpleUploadedFile("keys.csv", data, "text/csv")}))
    assert preview.testid("preview-lines").text() == "3" and preview.testid("preview-new").text() == "2"
    client.post(url, {"step": "confirm", "items_text": preview.by_id("id_items_text").attrs["value"]})
    assert set(StockItem.objects.values_list("secret", flat=True)) == {"CSV-1", "CSV-2"}

    txt = SimpleUploadedFile("keys.txt", "\ufeffTXT-1\r\nTXT-2\r\n".encode("utf-8"), "text/plain")
    preview = doc(client.post(url, {"step": "preview", "file": txt}))
    assert preview.testid("preview-new").text() == "2"


def test_stock_upload_rejects_other_files_and_empty_input(login_as, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=[])
    client = login_as(merchant)
    url = f"/shop/listings/{listing['id']}/stock"
    exe = SimpleUploadedFile("keys.exe", b"MZ\x90\x00", "application/octet-stream")
    assert "只支持 .txt、.csv 或 .xlsx 文件" in doc(client.post(url, {"step": "preview", "file": exe})).field_error(
        "file"
    )
    assert doc(client.post(url, {"step": "preview", "text": "  \n "})).field_error("text")
    tampered = doc(client.post(url, {"step": "confirm", "items_text": "not json"}))
    assert StockItem.objects.count() == 0 and tampered.by_id("upload-h") is not None
    assert "预览数据无效" in tampered.text()


def test_manual_delivery_for_a_service_order(login_as, merchant, buyer, make_listing, fund, buy, doc):
    service = make_listing(merchant, title="账号代注册", category="game_account", kind="account", price=2000)
    card = make_listing(merchant)
    fund(buyer, 50000)
    order = buy(buyer, service, accept_special_terms=True)
    card_order = buy(buyer, card)
    client = login_as(merchant)

    shop_orders = doc(client.get("/orders/?status=paid")).text()
    assert "账号代注册" in shop_orders and "待你发货" in shop_orders
    assert doc(client.get(f"/orders/{card_order['id']}")).by_id("id_content") is None  # card keys deliver themselves

    assert doc(client.post(f"/orders/{order['id']}/deliver", {"content": " "})).field_error("content")
    response = client.post(f"/orders/{order['id']}/deliver", {"content": "账号 player01 密码 Pa55word"})
    assert response["Location"] == f"/orders/{order['id']}"
    assert Order.objects.get(pk=order["id"]).status == "delivered"
    buyer_view = doc(login_as(buyer).get(f"/orders/{order['id']}"))
    assert "账号 player01 密码 Pa55word" in buyer_view.by_id("delivery-h").parent.text()
    # Delivering twice is refused with the service's reason.
    again = doc(client.post(f"/orders/{order['id']}/deliver", {"content": "再发一次"}))
    assert "订单当前状态不能发货" in again.form_errors()
    # A buyer cannot use the merchant's delivery form.
    assert login_as(buyer).post(f"/orders/{order['id']}/deliver", {"content": "x"}).status_code == 403


def test_a_contact_in_the_listing_form_is_refused_next_to_its_field(login_as, merchant, doc):
    client = login_as(merchant)
    form = doc(client.get("/shop/listings/new")).text()
    assert "站外联系方式" in form  # the form's hints say so before the merchant writes one
    page = doc(client.post("/shop/listings/new", {**LISTING_FORM, "description": "正版密钥，售后加微信 kameng888"}))
    assert "站外联系方式" in page.field_error("description")
    assert not Listing.objects.exists()
