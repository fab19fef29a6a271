"""Card-key inventory (issue 17.2): imports from text, .txt, .csv and .xlsx with a report, delivery
order, low-stock notices, voiding and exporting unsold keys, 补货中 and clean refusals."""

import csv
import io

import pytest
from django.utils import translation
from openpyxl import Workbook


def upload(api, listing, token, *, name=None, data=b"", text="", content_type="text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"text": text}
    if name is not None:
        body["file"] = SimpleUploadedFile(name, data, content_type=content_type)
    res = api.client.post(
        f"/api/v1/listings/{listing['id']}/stock/import", body, headers={"Authorization": f"Bearer {token}"}
    )
    res.data = res.json()
    return res


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def empty_listing(make_listing, merchant):
    return make_listing(merchant, stock=[])


def test_pasted_text_reports_added_duplicates_and_invalid_lines(api, merchant, empty_listing):
    text = "AAA-1\n\nAAA-2\nAAA-1\nBAD\x07KEY\n" + "X" * 2001 + "\nAAA-3"
    res = upload(api, empty_listing, merchant.token, text=text)
    assert res.status_code == 200, res.data
    assert res.data["added"] == 3
    assert res.data["duplicates"] == 1
    assert res.data["invalid"] == [{"line": 5, "reason": "control_character"}, {"line": 6, "reason": "too_long"}]
    assert res.data["available"] == 3
    again = upload(api, empty_listing, merchant.token, text="AAA-2\nAAA-4")
    assert (again.data["added"], again.data["duplicates"], again.data["available"]) == (1, 1, 4)


def test_txt_and_gbk_csv_files(api, merchant, empty_listing):
    res = upload(api, empty_listing, merchant.token, name="keys.txt", data=b"T-1\r\nT-2\r\n")
    assert (res.data["added"], res.data["available"]) == (2, 2)
    gbk = "卡密,备注\nC-1,一号\nC-2,二号\n".encode("gb18030")
    res = upload(api, empty_listing, merchant.token, name="keys.csv", data=gbk, content_type="text/csv")
    assert res.status_code == 200, res.data
    assert (res.data["added"], res.data["available"]) == (2, 4)


def test_xlsx_first_sheet_first_cell_numbers_kept_whole(api, merchant, empty_listing):
    data = xlsx([["卡密"], ["XL-1"], [None, "XL-2"], [123456789012], ["XL-1"]])
    res = upload(
        api,
        empty_listing,
        merchant.token,
        name="keys.xlsx",
        data=data,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert res.status_code == 200, res.data
    assert (res.data["added"], res.data["duplicates"]) == (3, 1)
    exported = api.get(f"/listings/{empty_listing['id']}/stock/export", token=merchant.token)
    keys = [row[0] for row in csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))][1:]
    assert keys == ["XL-1", "XL-2", "123456789012"]


def test_files_are_judged_by_content(api, merchant, empty_listing):
    fake = upload(api, empty_listing, merchant.token, name="keys.xlsx", data=b"just text, not a workbook")
    assert fake.status_code == 415 and fake.data["error"]["code"] == "unreadable_file"
    zipped_txt = upload(api, empty_listing, merchant.token, name="keys.txt", data=xlsx([["A"]]))
    assert zipped_txt.status_code == 415
    other = upload(api, empty_listing, merchant.token, name="keys.pdf", data=b"%PDF-1.7")
    assert other.status_code == 415 and other.data["error"]["code"] == "unsupported_file_type"
    big = upload(api, empty_listing, merchant.token, name="keys.txt", data=b"K\n" * (1024 * 1024 + 1))
    assert big.status_code == 413
    nothing = upload(api, empty_listing, merchant.token, text="  \n ")
    assert nothing.status_code == 400
    assert api.get(f"/listings/{empty_listing['id']}").data["stock_available"] == 0


def test_only_the_owner_imports_exports_and_voids(api, merchant, make_user, empty_listing):
    other = make_user("merchant")
    api.post("/shops", {"name": "别家"}, token=other.token)
    upload(api, empty_listing, merchant.token, text="SECRET-1")
    assert upload(api, empty_listing, other.token, text="MINE").status_code == 403
    assert api.get(f"/listings/{empty_listing['id']}/stock/export", token=other.token).status_code == 403
    assert api.post(f"/listings/{empty_listing['id']}/stock/void", {"all": True}, token=other.token).status_code == 403
    buyer = make_user("buyer")
    assert api.get(f"/listings/{empty_listing['id']}/stock/export", token=buyer.token).status_code == 403


def test_export_is_excel_safe_and_lists_only_unsold(api, merchant, buyer, fund, buy, empty_listing):
    upload(api, empty_listing, merchant.token, text='=HYPERLINK("http://evil")\nK-2\nK-3')
    fund(buyer, 9900)
    order = buy(buyer, empty_listing)
    sold = order["delivery"]["items"][0]
    res = api.get(f"/listings/{empty_listing['id']}/stock/export", token=merchant.token)
    assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
    assert res.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0] == ["卡密", "入库时间"]
    keys = [r[0] for r in rows[1:]]
    assert sold not in keys and len(keys) == 2
    assert all(not k.startswith("=") for k in keys)


def test_void_named_or_all_unsold_keys_never_sold_ones(api, merchant, buyer, fund, buy, empty_listing):
    upload(api, empty_listing, merchant.token, text="V-1\nV-2\nV-3\nV-4")
    fund(buyer, 9900)
    sold = buy(buyer, empty_listing)["delivery"]["items"][0]  # oldest first: V-1
    assert sold == "V-1"
    res = api.post(f"/listings/{empty_listing['id']}/stock/void", {"items": ["V-2", "V-1"]}, token=merchant.token)
    assert res.status_code == 200 and res.data == {"voided": 1, "available": 2}
    empty = api.post(f"/listings/{empty_listing['id']}/stock/void", {}, token=merchant.token)
    assert empty.status_code == 400
    res = api.post(f"/listings/{empty_listing['id']}/stock/void", {"all": True}, token=merchant.token)
    assert res.data == {"voided": 2, "available": 0}
    order = api.get("/orders", token=buyer.token).data["data"][0]
    assert order["delivery"]["items"] == ["V-1"]  # the buyer's key stays theirs
    # a voided key is not "new" again when imported a second time
    assert upload(api, empty_listing, merchant.token, text="V-2").data["duplicates"] == 1


def test_no_stock_shows_restocking_and_refuses_orders_cleanly(api, merchant, buyer, fund, empty_listing):
    detail = api.get(f"/listings/{empty_listing['id']}").data
    assert detail["stock_available"] == 0 and detail["restocking"] is True
    fund(buyer, 9900)
    res = api.post("/orders", {"listing": empty_listing["id"]}, token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "out_of_stock"
    assert api.get("/wallet", token=buyer.token).data["balance"] == 9900
    assert api.get("/orders", token=buyer.token).data["data"] == []
    upload(api, empty_listing, merchant.token, text="R-1")
    assert api.get(f"/listings/{empty_listing['id']}").data["restocking"] is False


def test_more_keys_than_are_left_takes_none_of_them(api, merchant, buyer, fund, make_listing):
    listing = make_listing(merchant, stock=["LEFT-1", "LEFT-2"], price=100)
    fund(buyer, 1000)
    res = api.post("/orders", {"listing": listing["id"], "quantity": 3}, token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "out_of_stock"
    assert api.get(f"/listings/{listing['id']}").data["stock_available"] == 2  # neither key left the stock
    assert api.get("/wallet", token=buyer.token).data["balance"] == 1000
    two = api.post("/orders", {"listing": listing["id"], "quantity": 2}, token=buyer.token)
    assert two.status_code == 201, two.data
    assert two.data["delivery"]["items"] == ["LEFT-1", "LEFT-2"]  # oldest first, in that order


def test_random_delivery_order_takes_any_unsold_key(api, merchant, buyer, fund, make_listing):
    keys = [f"RND-{i:03d}" for i in range(40)]
    listing = make_listing(merchant, stock=keys, price=100)
    res = api.patch(f"/listings/{listing['id']}", {"delivery_order": "random"}, token=merchant.token)
    assert res.status_code == 200 and res.data["delivery_order"] == "random"
    fund(buyer, 100 * 6)
    taken = [
        api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data["delivery"]["items"][0]
        for _ in range(6)
    ]
    assert len(set(taken)) == 6 and set(taken) <= set(keys)
    assert taken != keys[:6]  # oldest-first would give exactly these; 6 random draws of 40 match with p ≈ 3e-10
    bad = api.patch(f"/listings/{listing['id']}", {"delivery_order": "newest"}, token=merchant.token)
    assert bad.status_code == 400 and bad.data["error"]["param"] == "delivery_order"


def test_low_stock_threshold_tells_the_merchant_once(api, merchant, buyer, fund, make_listing):
    def low_stock_notices():
        data = api.get("/notifications?limit=100", token=merchant.token).data["data"]
        return [n["text"] for n in data if n["kind"] == "low_stock"]

    listing = make_listing(merchant, stock=[f"L-{i}" for i in range(4)], price=100)
    res = api.patch(f"/listings/{listing['id']}", {"low_stock_threshold": 2}, token=merchant.token)
    assert res.data["low_stock_threshold"] == 2
    fund(buyer, 400)
    api.post("/orders", {"listing": listing["id"]}, token=buyer.token)  # 3 left
    assert low_stock_notices() == []
    api.post("/orders", {"listing": listing["id"]}, token=buyer.token)  # 2 left: crossed
    api.post("/orders", {"listing": listing["id"]}, token=buyer.token)  # 1 left: no second notice
    notices = low_stock_notices()
    assert len(notices) == 1 and "只剩 2 条" in notices[0]
    bad = api.patch(f"/listings/{listing['id']}", {"low_stock_threshold": -1}, token=merchant.token)
    assert bad.status_code == 400


def test_a_paid_checkout_whose_reserved_key_is_gone_is_refunded_at_once_and_the_buyer_told(
    api, merchant, buyer, make_listing, epay, epay_notify, django_capture_on_commit_callbacks
):
    from kameng.aftersales.models import Notification
    from kameng.catalog.models import StockItem
    from kameng.ledger import services as ledger
    from kameng.wallet.models import PaymentRefund

    listing = make_listing(merchant, price=2500, stock=["ONLY-KEY"])
    order = api.post("/orders", {"listing": listing["id"], "pay_with": "epay"}, token=buyer.token).data
    StockItem.objects.filter(order_id=int(order["id"])).update(order=None)  # the reservation lost, however
    with django_capture_on_commit_callbacks(execute=True):
        assert epay_notify(epay.pay(order["payment"]["pay_url"])).content == b"success"  # in time
    refund = PaymentRefund.objects.get(payment__out_trade_no=order["payment"]["out_trade_no"])
    assert refund.status == "succeeded" and refund.amount == 2500 and "no stock" in refund.reason
    assert [c["money"] for c in epay.refund_calls] == ["25.00"]
    seen = api.get(f"/orders/{order['id']}", token=buyer.token).data
    # Cancelled at once, not left payable (and refundable again) until its deadline.
    assert seen["status"] == "cancelled" and seen["delivery"] is None and seen["escrow"]["amount"] == 0
    assert ledger.balance(ledger.wallet_code(buyer.pk)) == 0 and ledger.balance(ledger.wallet_code(merchant.pk)) == 0
    notice = Notification.objects.get(user=buyer, kind="payment_refunded")
    assert order["number"] in notice.text and "¥25.00" in notice.text and "原路退回" in notice.text
    with translation.override("en"):
        shown = notice.shown()
    assert order["number"] in shown and "went back by the way you paid" in shown
    assert ledger.check().ok
