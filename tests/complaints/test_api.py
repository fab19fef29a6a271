"""GET /refunds/{id}/complaint over HTTP: the buyer's ZIP; 403 for the merchant and staff; 404 for others."""

import pytest

from .conftest import squash


@pytest.fixture
def case(order_for, open_case):
    return open_case(order_for(), reason="not_as_described", description="宣传100%稳定激活，实际无法激活")


@pytest.mark.parametrize(
    "channel, document", [("12315", "消费者投诉书"), ("arbitration", "仲裁申请书"), ("police", "报案材料")]
)
def test_buyer_downloads_the_package_for_each_channel(api, buyer, case, channel, document, open_package):
    res = api.get(f"/refunds/{case['id']}/complaint?channel={channel}", token=buyer.token)
    assert res.status_code == 200, res.content[:300]
    assert res["Content-Type"] == "application/zip"
    assert res["Content-Disposition"] == f'attachment; filename="kameng-{channel}-case{case["id"]}.zip"'
    assert res["Kameng-Missing-Fields"] == "real_name,phone,address"
    package = open_package(res.content)
    assert package.manifest["channel"] == channel and package.manifest["document"] == document
    assert squash(package.pdf_text()).startswith(document)
    assert len([n for n in package.names() if n.startswith("evidence/")]) == 3  # the system items


def test_missing_fields_header_follows_the_profile(api, buyer, case):
    from kameng.accounts.services import update_profile

    update_profile(buyer, real_name="张三", phone="13800138000", address="上海市某区某路1号")
    res = api.get(f"/refunds/{case['id']}/complaint?channel=12315", token=buyer.token)
    assert res.status_code == 200 and res["Kameng-Missing-Fields"] == ""


def test_only_the_buyer_of_the_case_gets_the_package(api, case, merchant, arbitrator, admin, make_user):
    path = f"/refunds/{case['id']}/complaint?channel=12315"
    for user in (merchant, arbitrator, admin):  # they can see the case, but may not export the buyer's complaint
        res = api.get(path, token=user.token)
        assert res.status_code == 403, (user.role, res.status_code)
        assert res.data["error"]["type"] == "permission_denied"
    other_buyer, other_merchant = make_user("buyer"), make_user("merchant")
    for user in (other_buyer, other_merchant):
        res = api.get(path, token=user.token)
        assert res.status_code == 404 and res.data["error"]["type"] == "not_found"
    assert api.get("/refunds/999999/complaint?channel=12315", token=other_buyer.token).status_code == 404
    assert api.get(path).status_code == 401


@pytest.mark.parametrize("query", ["?channel=weibo", "?channel=", ""])
def test_bad_channel_is_invalid_request_on_param_channel(api, buyer, case, query):
    res = api.get(f"/refunds/{case['id']}/complaint{query}", token=buyer.token)
    assert res.status_code == 400
    assert res.data["error"]["type"] == "invalid_request" and res.data["error"]["param"] == "channel"


def test_channels_say_when_to_use_each_and_what_is_missing(api, buyer, merchant, case):
    res = api.get(f"/refunds/{case['id']}/complaint/channels", token=buyer.token)
    assert res.status_code == 200
    data = res.data["data"]
    assert [c["channel"] for c in data] == ["12315", "arbitration", "court", "police"]
    assert all(c["when_to_use"] and c["missing_fields"] == ["real_name", "phone", "address"] for c in data)
    assert "欺诈" in data[3]["when_to_use"] and "仲裁条款" in data[1]["when_to_use"]
    assert all(c["available"] is True and c["reason"] for c in data)
    assert api.get(f"/refunds/{case['id']}/complaint/channels", token=merchant.token).status_code == 403


def test_openapi_documents_the_zip_download(api):
    doc = api.get("/openapi.json").data
    operation = doc["paths"]["/api/v1/refunds/{case_id}/complaint"]["get"]
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert any(p["name"] == "channel" and p["in"] == "query" for p in operation["parameters"])
