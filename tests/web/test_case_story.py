"""The case page says where the case stands (kameng.web.case_story, read from next_step): the step
bar, who must act by when and what happens otherwise, when the money arrives, an apology when
arbitration is late; and a low offer is no primary button, while escalation asks why and asks first."""

from datetime import datetime

import pytest

from kameng.aftersales.models import CaseStatus, RefundCase


@pytest.fixture
def order(buyer, merchant, make_listing, fund, buy):
    fund(buyer, 100000)
    return buy(buyer, make_listing(merchant))  # ¥99 standardized: fast track


@pytest.fixture
def slow_order(buyer, merchant, make_listing, fund, buy):
    fund(buyer, 100000)
    return buy(buyer, make_listing(merchant, price=30000))


@pytest.fixture
def open_case(api, buyer):
    def open_(order):
        body = {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]}
        res = api.post("/refunds", body, token=buyer.token)
        assert res.status_code == 201, res.data
        return RefundCase.objects.get(pk=res.data["id"])

    return open_


def steps_of(page) -> dict[str, str]:
    return {li.attrs["data-step"]: li.attrs["data-state"] for li in page.testid("steps").iter() if li.tag == "li"}


def test_a_new_fast_track_case_says_the_merchant_must_act_or_the_refund_comes_anyway(
    login_as, buyer, merchant, order, open_case, doc
):
    case = open_case(order)
    due = case.merchant_respond_by.astimezone().strftime("%Y-%m-%d %H:%M")
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert steps_of(page) == {
        "applied": "done",
        "negotiation": "current",
        "arbitration": "todo",
        "decided": "todo",
        "appeal": "todo",
        "closed": "todo",
    }
    sentence = page.testid("next-step")
    assert sentence.attrs["data-on-timeout"] == "refund_full"
    assert f"等待商家在 {due} 前处理" in sentence.text() and "自动全额退款 ¥99.00" in sentence.text()
    assert f"¥99.00 也会在 {due} 自动退回买家钱包" in page.testid("money-arrives").text()
    merchant_page = doc(login_as(merchant).get(f"/refunds/{case.pk}"))
    assert f"需要你在 {due} 前处理" in merchant_page.testid("next-step").text()


def test_a_low_offer_is_not_the_primary_button_and_escalation_asks_why_then_asks_first(
    login_as, buyer, merchant, slow_order, open_case, doc, api
):
    case = open_case(slow_order)
    assert api.post(f"/refunds/{case.pk}/offer", {"amount": 1000}, token=merchant.token).status_code == 200
    client = login_as(buyer)
    page = doc(client.get(f"/refunds/{case.pk}"))
    actions = page.testid("case-actions")
    primary = [n for n in actions.iter() if "btn-primary" in n.attrs.get("class", "").split()]
    assert primary == []  # neither settling low nor escalating is pushed; both sit side by side
    assert page.by_id("id_escalate-reason") is not None
    assert "逾期不答复，售后单按撤回处理" in page.testid("next-step").text()

    missing = doc(client.post(f"/refunds/{case.pk}/escalate", {"escalate-reason": " "}))
    assert missing.field_error("escalate-reason")
    assert missing.text().count("这个字段是必填项") <= 1 and missing.testid("case-story") is not None

    reason = "激活码仍然无效，¥10 不足以弥补"
    confirm = doc(client.post(f"/refunds/{case.pk}/escalate", {"escalate-reason": reason}))
    assert reason in confirm.testid("confirm-said").text()
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYER  # nothing happens before the confirmation
    hidden = {n.attrs["name"]: n.attrs.get("value") for n in confirm.all("input") if n.attrs.get("type") == "hidden"}
    assert hidden["escalate-reason"] == reason and hidden["confirmed"] == "yes"
    assert client.post(f"/refunds/{case.pk}/escalate", hidden).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_ARBITRATION
    assert case.events.get(type="escalate").data["reason"] == reason
    page = doc(client.get(f"/refunds/{case.pk}"))
    assert reason in page.text()  # the timeline states it
    assert steps_of(page)["arbitration"] == "current"
    assert "平台仲裁员将在" in page.testid("next-step").text()


def test_late_arbitration_apologises_gives_a_new_time_and_says_what_the_buyer_can_do(
    login_as, buyer, merchant, slow_order, open_case, doc, api, advance
):
    case = open_case(slow_order)
    api.post(f"/refunds/{case.pk}/reject", {"reason": "已激活"}, token=merchant.token)
    escalated = api.post(f"/refunds/{case.pk}/escalate", {"reason": "仍无效"}, token=buyer.token)
    assert escalated.status_code == 200
    assert [e["data"]["reason"] for e in escalated.data["events"] if e["type"] == "escalate"] == ["仍无效"]
    case.refresh_from_db()
    now = datetime.fromisoformat(advance(0))
    advance((case.decide_by - now).total_seconds() + 3600)
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    apology = page.testid("overdue-apology")
    assert "抱歉" in apology.text() and "预计在" in apology.text()
    links = [a.attrs.get("href", "") for a in apology.iter() if a.tag == "a"]
    assert "#evidence" in links and any("complaint" in href for href in links)
    assert "如果逾期" not in page.testid("next-step").text()
    merchant_page = doc(login_as(merchant).get(f"/refunds/{case.pk}"))
    assert "抱歉" in merchant_page.testid("overdue-apology").text()
    assert "导出维权材料" not in merchant_page.testid("overdue-apology").text()


def test_a_case_settled_in_negotiation_skips_the_arbitration_steps_and_says_when_the_money_came(
    login_as, buyer, merchant, order, open_case, doc
):
    case = open_case(order)
    login_as(merchant).post(f"/refunds/{case.pk}/accept", {"confirmed": "yes"})
    case.refresh_from_db()
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert steps_of(page) == {
        "applied": "done",
        "negotiation": "done",
        "arbitration": "skipped",
        "decided": "skipped",
        "appeal": "skipped",
        "closed": "current",
    }
    assert page.testid("next-step") is None
    assert "¥99.00 已于" in page.testid("money-arrives").text()
