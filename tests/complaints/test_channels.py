"""The right external channel (issue 18.4): arbitration only under the user agreement's arbitration
clause (KAMENG_ARBITRATION_COMMISSION), otherwise unavailable with the reason and the court path; a
`court` channel with a 小额诉讼 民事起诉状; the 12315 complaint states the regulator's deadlines; every
channel's PDF cites only articles of the law table."""

import re

import pytest

from kameng.complaints import services

from .test_citations import unknown_citations


@pytest.fixture
def case(order_for, open_case):
    return open_case(order_for())


@pytest.fixture
def no_clause(settings):
    settings.ARBITRATION_COMMISSION = ""
    return settings


def test_without_an_arbitration_clause_arbitration_is_unavailable_and_says_why(api, buyer, case, no_clause):
    data = api.get(f"/refunds/{case['id']}/complaint/channels", token=buyer.token).data["data"]
    by_channel = {c["channel"]: c for c in data}
    assert list(by_channel) == ["12315", "arbitration", "court", "police"]
    arbitration = by_channel["arbitration"]
    assert arbitration["available"] is False
    assert "没有仲裁条款" in arbitration["reason"] and "《仲裁法》第四条" in arbitration["reason"]
    assert "小额诉讼" in arbitration["reason"]
    assert all(by_channel[c]["available"] for c in ("12315", "court", "police"))

    res = api.get(f"/refunds/{case['id']}/complaint?channel=arbitration", token=buyer.token)
    assert res.status_code == 409 and res.data["error"]["code"] == "channel_unavailable"
    en = api.get(
        f"/refunds/{case['id']}/complaint?channel=arbitration", token=buyer.token, headers={"Accept-Language": "en"}
    )
    assert "no arbitration clause" in en.data["error"]["message"]
    assert api.get(f"/refunds/{case['id']}/complaint?channel=court", token=buyer.token).status_code == 200


def test_the_pages_offer_the_court_instead_and_the_agreement_shows_no_clause(client, buyer, case, no_clause):
    client.force_login(buyer)
    html = client.get(f"/refunds/{case['id']}/complaint/?channel=arbitration").content.decode()
    assert 'data-testid="channel-unavailable"' in html and 'data-testid="complaint-download"' not in html
    assert 'href="?channel=court"' in html
    assert client.get(f"/refunds/{case['id']}/complaint/download?channel=arbitration").status_code == 409
    agreement = client.get("/agreement/").content.decode()
    assert 'data-testid="no-arbitration-clause"' in agreement and 'data-testid="arbitration-clause"' not in agreement


def test_with_a_clause_the_agreement_shows_it_as_optional_and_the_application_names_the_commission(
    client, api, buyer, case
):
    agreement = client.get("/agreement/").content.decode()
    clause = re.search(r'data-testid="arbitration-clause"><strong>(.*?)</strong>', agreement).group(1)
    assert "广州仲裁委员会" in clause and "也可以不选择仲裁，依法向人民法院起诉" in clause
    assert "买家可选的条款" in agreement
    client.post("/language/", {"language": "en", "next": "/agreement/"})
    assert "This clause is optional for buyers" in client.get("/agreement/").content.decode()

    channels = api.get(f"/refunds/{case['id']}/complaint/channels", token=buyer.token).data["data"]
    assert channels[1] == {**channels[1], "channel": "arbitration", "available": True}
    assert "广州仲裁委员会" in channels[1]["reason"]
    text = services.preview_text(services.complaint_case_for(case["id"], buyer), "arbitration")
    assert "提交至：广州仲裁委员会（网络仲裁）" in text and clause in text


def test_the_court_channel_is_a_small_claims_complaint_ready_for_the_online_court(
    api, buyer, order_for, open_case, case_obj, upload, png_bytes
):
    order = order_for(promises=["100%稳定激活"])
    case = open_case(order, reason="not_as_described", description="宣传100%稳定激活，实际激活后频繁掉线")
    item = upload(case, buyer, "error.png", png_bytes)
    text = services.preview_text(case_obj(case), "court")
    sections = ["民事起诉状", "原告", "被告", "诉讼请求", "事实与理由", "证据清单", "立案说明", "此致"]
    positions = [text.index(f"\n{s}\n") if i else text.index(s) for i, s in enumerate(sections)]
    assert positions == sorted(positions)
    assert "小额诉讼" in text and "人民法院在线服务" in text
    assert "1. 判令被告一退还货款人民币99.00元（大写：玖拾玖元整）。" in text
    assert "本案诉讼费用由被告承担。" in text
    assert "被告二（网络交易平台经营者）" in text and "《中华人民共和国消费者权益保护法》第四十四条" in text
    assert f"SHA-256：{item['sha256']}" in text
    assert "身份证号码：【请填写：身份证号码】" in text  # blanks, never invented
    assert "《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第二十条" in text  # the buyer's home court
    res = api.get(f"/refunds/{case['id']}/complaint?channel=court", token=buyer.token)
    assert res.status_code == 200 and res["Content-Type"] == "application/zip"


def test_the_12315_complaint_states_seven_and_forty_five_working_days(case_obj, order_for, open_case):
    text = services.preview_text(case_obj(open_case(order_for())), "12315")
    assert "七个工作日内决定是否受理" in text and "四十五个工作日内未达成调解协议的，终止调解" in text
    assert (
        "《市场监督管理投诉举报处理暂行办法》第十四条" in text
        and "《市场监督管理投诉举报处理暂行办法》第二十一条" in text
    )


@pytest.mark.parametrize("channel", ["12315", "arbitration", "court", "police"])
def test_each_channels_pdf_cites_only_the_law_table(channel, order_for, open_case, case_obj, open_package):
    order = order_for(description="虚拟商品一经售出概不退换", promises=["100%稳定激活"])
    case = case_obj(open_case(order, reason="not_as_described"))
    package = open_package(services.build_package(case, channel))
    flat = re.sub(r"\s+", "", package.pdf_text())
    assert "《" in flat and unknown_citations(flat) == []
    assert unknown_citations(package.text()) == []
