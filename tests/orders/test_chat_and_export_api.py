"""Order chat (immutable, private to the two parties) and the CSV export."""

import csv
import io

import pytest


@pytest.fixture
def order(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, title="Adobe 全家桶 年度授权", price=12800)
    fund(buyer, 12800)
    return buy(buyer, listing)


def test_both_parties_chat_and_read_the_conversation_in_order(api, buyer, merchant, order):
    url = f"/orders/{order['id']}/messages"
    first = api.post(url, {"body": "你好，激活码提示已被使用"}, token=buyer.token)
    assert first.status_code == 201, first.data
    assert first.data["author"] == str(buyer.pk)
    assert first.data["body"] == "你好，激活码提示已被使用"
    assert first.data["flags"] == []
    assert first.data["created_at"]
    reply = api.post(url, {"body": "请截图发我，我马上核实"}, token=merchant.token)
    assert reply.status_code == 201
    for reader in (buyer, merchant):
        page = api.get(url, token=reader.token)
        assert page.status_code == 200
        assert [m["body"] for m in page.data["data"]] == ["你好，激活码提示已被使用", "请截图发我，我马上核实"]
        assert page.data["has_more"] is False


def test_pushing_payment_off_the_platform_is_flagged(api, merchant, order):
    res = api.post(
        f"/orders/{order['id']}/messages", {"body": "加我微信 kameng888 私下转账更便宜"}, token=merchant.token
    )
    assert res.data["flags"] == ["off_platform_payment"]


def test_strangers_cannot_read_or_write_the_chat(api, buyer, order, make_user):
    api.post(f"/orders/{order['id']}/messages", {"body": "只有双方能看"}, token=buyer.token)
    stranger_buyer = make_user("buyer")
    stranger_merchant = make_user("merchant")
    for stranger in (stranger_buyer, stranger_merchant):
        for res in (
            api.get(f"/orders/{order['id']}/messages", token=stranger.token),
            api.post(f"/orders/{order['id']}/messages", {"body": "偷看"}, token=stranger.token),
        ):
            assert res.status_code == 404
            assert res.data["error"]["type"] == "not_found"
            assert "只有双方能看".encode() not in res.content
    assert api.get(f"/orders/{order['id']}/messages").status_code == 401


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_messages_cannot_be_edited_or_deleted(api, buyer, order, method):
    url = f"/orders/{order['id']}/messages"
    msg = api.post(url, {"body": "原话"}, token=buyer.token).data
    for path in (url, f"{url}/{msg['id']}"):
        res = api.call(method, path, {"body": "改过的话"}, token=buyer.token)
        assert res.status_code in (404, 405), (path, res.status_code)
        assert res.data["error"]["type"] in ("invalid_request", "not_found")
        assert set(res.data["error"]) == {"type", "code", "message", "param", "request_id"}
    res = api.call(method, url, {"body": "改过的话"}, token=buyer.token)
    assert res.status_code == 405
    assert [m["body"] for m in api.get(url, token=buyer.token).data["data"]] == ["原话"]


def test_empty_message_is_invalid(api, buyer, order):
    res = api.post(f"/orders/{order['id']}/messages", {"body": "   "}, token=buyer.token)
    assert res.status_code == 400
    assert res.data["error"]["param"] == "body"


def test_export_is_utf8_csv_with_bom_and_chinese_header(api, buyer, merchant, order):
    for user in (buyer, merchant):
        res = api.get("/orders/export?format=csv", token=user.token)
        assert res.status_code == 200
        assert res["Content-Type"].startswith("text/csv")
        assert "attachment" in res["Content-Disposition"]
        raw = res.content
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][0] == "订单号"
        assert "金额(元)" in rows[0]
        assert len(rows) == 2
        assert rows[1][0] == order["number"]
        assert "Adobe 全家桶 年度授权" in rows[1]
        assert "128.00" in rows[1]


def test_export_shows_only_the_callers_orders_and_needs_auth(api, order, make_user):
    other = make_user("buyer")
    rows = api.get("/orders/export?format=csv", token=other.token).content.decode("utf-8-sig").splitlines()
    assert len(rows) == 1
    res = api.get("/orders/export?format=csv")
    assert res.status_code == 401
    assert res.data["error"]["type"] == "authentication_required"
    bad = api.get("/orders/export?format=xlsx", token=other.token)
    assert bad.status_code == 400
    assert bad.data["error"]["param"] == "format"


def test_export_neutralizes_spreadsheet_formulas(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, title='=HYPERLINK("http://evil")', price=100)
    fund(buyer, 100)
    buy(buyer, listing)
    text = api.get("/orders/export?format=csv", token=buyer.token).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
