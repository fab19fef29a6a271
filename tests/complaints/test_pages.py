"""The buyer's complaint page: channels with when-to-use, the missing details form, the preview, the download."""

import io
import zipfile

import pytest


@pytest.fixture
def case(order_for, open_case):
    return open_case(order_for(), description="激活码无效，提示错误代码 0x8007007B")


@pytest.fixture
def page(case):
    return f"/refunds/{case['id']}/complaint/"


def test_buyer_page_offers_three_channels_the_preview_and_asks_for_missing_details(client, buyer, case, page):
    client.force_login(buyer)
    res = client.get(page)
    assert res.status_code == 200
    html = res.content.decode()
    for title in ("12315 消费者投诉", "在线仲裁申请", "公安机关报案"):
        assert title in html
    assert "只在涉嫌欺诈时使用" in html and "仲裁条款" in html and "法院小额诉讼" in html  # when to use each
    assert "消费者投诉书（预览）" in html and "【请填写：联系电话】" in html  # the 12315 preview by default
    assert 'data-testid="missing-fields"' in html and "姓名、联系电话、通讯地址" in html
    assert f'href="/refunds/{case["id"]}/complaint/download?channel=12315"' in html

    police = client.get(page + "?channel=police").content.decode()
    assert "报案材料（预览）" in police and "立案侦查" in police


def test_filling_the_form_saves_the_profile_and_fills_the_documents(client, buyer, page):
    client.force_login(buyer)
    res = client.post(
        page + "?channel=arbitration",
        {"real_name": "张三", "phone": "13800138000", "address": "广东省广州市天河区某路1号"},
    )
    assert res.status_code == 302 and res["Location"].endswith("?channel=arbitration")
    buyer.refresh_from_db()
    assert (buyer.real_name, buyer.phone, buyer.address) == ("张三", "13800138000", "广东省广州市天河区某路1号")
    html = client.get(res["Location"]).content.decode()
    assert "姓名：张三" in html and "【请填写：联系电话】" not in html
    assert 'data-testid="missing-fields"' not in html


def test_an_invalid_phone_is_refused_and_nothing_is_saved(client, buyer, page):
    client.force_login(buyer)
    res = client.post(page, {"real_name": "张三", "phone": "打我电话", "address": ""})
    assert res.status_code == 200 and "请填写有效的联系电话" in res.content.decode()
    buyer.refresh_from_db()
    assert buyer.real_name == "" and buyer.phone == ""


def test_page_download_gives_the_zip(client, buyer, case):
    client.force_login(buyer)
    res = client.get(f"/refunds/{case['id']}/complaint/download?channel=police")
    assert res.status_code == 200 and res["Content-Type"] == "application/zip"
    assert "attachment" in res["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(res.content)).namelist()
    assert {"complaint.pdf", "complaint.txt", "manifest.json"} <= set(names)
    assert client.get(f"/refunds/{case['id']}/complaint/download?channel=tv").status_code == 400


def test_page_is_the_buyers_alone(client, case, page, merchant, arbitrator, make_user):
    assert client.get(page)["Location"].startswith("/login/")  # anonymous: sign in first
    client.force_login(merchant)
    assert client.get(page).status_code == 403
    assert client.get(page.replace("complaint/", "complaint/download?channel=12315")).status_code == 403
    client.force_login(arbitrator)
    assert client.get(page).status_code == 403
    client.force_login(make_user("buyer"))
    assert client.get(page).status_code == 404
