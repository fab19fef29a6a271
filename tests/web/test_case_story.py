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
    assert missing.text().count("请填写此项") == 1 and missing.testid("case-story") is not None

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


def test_an_appeal_takes_its_new_evidence_in_the_same_step_and_says_what_is_missing_once(
    login_as, buyer, merchant, arbitrator, order, open_case, doc, api
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case = open_case(order)
    api.post(f"/refunds/{case.pk}/reject", {"reason": "已激活"}, token=merchant.token)
    api.post(f"/refunds/{case.pk}/escalate", token=buyer.token)
    rationale = "截图显示激活码无效，与承诺不符，依类目规则全额退款。"
    decided = api.post(
        f"/refunds/{case.pk}/decide", {"outcome": "refund_full", "rationale": rationale}, token=arbitrator.token
    )
    assert decided.status_code == 200, decided.data
    client = login_as(merchant)
    page = doc(client.get(f"/refunds/{case.pk}"))
    assert page.by_id("id_appeal-evidence") is not None  # the file input sits in the appeal form itself

    missing = doc(client.post(f"/refunds/{case.pk}/appeal", {"appeal-reason": "买家已激活成功，有日志"}))
    error = missing.field_error("appeal-evidence")
    assert "新证据" in error and missing.text().count(error) == 1

    log = SimpleUploadedFile("activation-log.txt", "激活日志：2026-12-01 激活成功".encode(), content_type="text/plain")
    response = client.post(
        f"/refunds/{case.pk}/appeal", {"appeal-reason": "买家已激活成功，有日志", "appeal-evidence": log}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_APPEAL
    assert case.evidence.filter(filename="activation-log.txt", category="problem").count() == 1


def test_django_validation_messages_come_from_our_catalogue():
    """Django's stock Chinese ("确保该变量至少包含 10 字符", "这个字段是必填项") is replaced by ours."""
    from kameng.web.case_forms import DecideForm

    form = DecideForm({"outcome": "refund_full", "rationale": "太短"})
    assert not form.is_valid()
    assert form.errors["rationale"] == ["至少需要 10 个字（现在是 2 个）。"]
    assert DecideForm({}).errors["rationale"] == ["请填写此项。"]


@pytest.mark.parametrize("fast_track", [False, True])
def test_every_phase_has_a_sentence_for_who_acts_and_what_happens_otherwise(fast_track):
    """Read from the table: a new phase or timeout without its sentence fails here, not on a page."""
    from types import SimpleNamespace

    from django.utils import timezone

    from kameng.aftersales import lifecycle
    from kameng.web.case_story import if_nobody_acts, who_acts

    now = timezone.now()
    for phase in lifecycle.OPEN_PHASES:
        case = SimpleNamespace(
            phase=phase,
            fast_track=fast_track,
            requested_amount=10000,
            offer_amount=5000,
            decision={"outcome": "refund_partial", "amount": 3000},
            appeal=None,
            **{d.field: now for d in lifecycle.DEADLINES},
        )
        step = lifecycle.next_step(case)
        assert step.actor and step.due_by == now and step.on_timeout, phase
        assert who_acts(step, "buyer", "2031-01-01 10:00") and who_acts(step, None, "2031-01-01 10:00"), phase
        assert if_nobody_acts(step), (phase, step.on_timeout)
