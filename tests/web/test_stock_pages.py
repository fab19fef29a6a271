"""The stock page (issue 17.2): an .xlsx batch with invalid lines previewed then added, the delivery
order and low-stock threshold, voiding and the Excel-safe export; buyers see 补货中 at zero stock."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from kameng.catalog.models import Listing, StockItem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_preview_reports_invalid_lines_then_adds_the_valid_ones(login_as, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=["OLD-1"])
    client = login_as(merchant)
    url = f"/shop/listings/{listing['id']}/stock"
    data = workbook([["卡密"], ["XL-1"], ["OLD-1"], ["X" * 2001], ["XL-2"]])
    preview = doc(client.post(url, {"step": "preview", "file": SimpleUploadedFile("k.xlsx", data, XLSX)}))
    assert preview.testid("preview-new").text() == "2"
    assert preview.testid("preview-invalid").text() == "1"
    assert "第 4 行" in preview.testid("invalid-lines").text()
    client.post(url, {"step": "confirm", "items_text": preview.by_id("id_items_text").attrs["value"]})
    assert set(StockItem.objects.values_list("secret", flat=True)) == {"OLD-1", "XL-1", "XL-2"}

    fake = SimpleUploadedFile("k.xlsx", b"not a workbook", XLSX)
    assert "无法读取该文件" in doc(client.post(url, {"step": "preview", "file": fake})).field_error("file")


def test_settings_void_and_export(login_as, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=["=CMD()", "K-2", "K-3"])
    client = login_as(merchant)
    url = f"/shop/listings/{listing['id']}/stock"
    client.post(url, {"step": "settings", "delivery_order": "random", "low_stock_threshold": "5"})
    saved = Listing.objects.get(pk=listing["id"])
    assert (saved.delivery_order, saved.low_stock_threshold) == ("random", 5)
    bad = doc(client.post(url, {"step": "settings", "delivery_order": "random", "low_stock_threshold": "-2"}))
    assert bad.field_error("low_stock_threshold")

    export = client.get(f"{url}/export")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["'=CMD()", "K-2", "K-3"]

    client.post(url, {"step": "void", "items": "K-2\n"})
    assert "已作废 1 条未售卡密，当前可售库存 2 条" in doc(client.get(url)).text()
    assert doc(client.post(url, {"step": "void", "items": ""})).text().count("请列出要作废的卡密") == 1
    client.post(url, {"step": "void", "all": "on"})
    assert StockItem.objects.filter(voided_at__isnull=True).count() == 0


def test_buyer_sees_restocking_when_stock_runs_out(client, merchant, make_listing, doc):
    listing = make_listing(merchant, stock=[])
    page = doc(client.get(f"/listings/{listing['id']}"))
    assert page.testid("restocking").text() == "补货中"
