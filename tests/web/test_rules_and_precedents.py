"""The pages of issue 18.5: the decide form offers the rules (the case's category rule first), the case
page links the decision's rule to its section on /rules/, the rules page explains every rule with the
laws behind it, /precedents/ publishes final decisions anonymized with filters, the review page shows
similar past cases, and admins see each arbitrator's share of decisions changed on appeal."""

import pytest
from django.test import Client

from kameng.aftersales.models import CaseStatus, Precedent, RefundCase
from kameng.policy import laws

RATIONALE = "截图显示激活码无效（0x8007007B），与“100%稳定激活”的承诺不符，依类目规则全额退款。"


@pytest.fixture
def escalated_case(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, stock=[f"K-{i}" for i in range(20)])
    fund(buyer, 500000)

    def make(amount=None):
        order = buy(buyer, listing)
        res = api.post(
            "/refunds",
            {
                "order": order["id"],
                "reason": "defective",
                "description": "激活码无效，提示错误代码 0x8007007B",
                "amount": amount or order["amount"],
            },
            token=buyer.token,
        )
        assert res.status_code == 201, res.data
        case_id = res.data["id"]
        assert (
            api.post(f"/refunds/{case_id}/reject", {"reason": "买家已激活使用"}, token=merchant.token).status_code
            == 200
        )
        assert api.post(f"/refunds/{case_id}/escalate", token=buyer.token).status_code == 200
        return RefundCase.objects.get(pk=case_id)

    return make


def final(api, case, arbitrator, merchant, outcome="refund_full", rule="false_promotion", rationale=RATIONALE):
    res = api.post(
        f"/refunds/{case.pk}/decide",
        {"outcome": outcome, "rationale": rationale, "rule": rule},
        token=arbitrator.token,
    )
    assert res.status_code == 200, res.data
    assert api.post(f"/refunds/{case.pk}/accept_decision", token=merchant.token).status_code == 200


def test_the_decide_form_offers_the_rules_with_the_cases_category_first_and_the_case_links_the_rule(
    login_as, api, buyer, arbitrator, escalated_case, doc
):
    case = escalated_case()
    client = login_as(arbitrator)
    page = doc(client.get(f"/arbitration/{case.pk}"))
    select = page.by_id("id_rule")
    options = [o for o in select.iter() if o.tag == "option"]
    values = [o.attrs.get("value") for o in options]
    assert values[0] == "" and values[1] == "category.software_license"  # none, then the case's own category
    assert {"used_goods", "special_goods", "fast_track", "quality.seven_days"} <= set(values)
    assert "credit.suspended" not in values  # the credit rules are for sanctions
    assert "selected" in options[1].attrs

    url = f"/arbitration/{case.pk}/decide"
    body = {"outcome": "refund_full", "amount": "", "rationale": RATIONALE, "rule": "false_promotion"}
    confirm = doc(client.post(url, body))
    assert "false_promotion" in confirm.testid("confirm-rule").text()
    hidden = {n.attrs.get("name"): n.attrs.get("value") for n in confirm.all("input")}
    assert hidden["rule"] == "false_promotion"
    bad = doc(client.post(url, {**body, "rule": "made.up"}))
    assert bad.field_error("rule")
    client.post(url, {**body, "confirmed": "yes"})
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED and case.decision["rule"] == "false_promotion"

    buyer_page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    link = next(a for a in buyer_page.testid("decision-rule").iter() if a.tag == "a")
    assert link.attrs["href"] == "/rules/#rule-false_promotion"
    assert "承诺" in link.text()


def test_the_rules_page_explains_every_rule_in_both_languages_with_its_laws(api, client, doc):
    rules = api.get("/policies").data["rules"]
    page = doc(client.get("/rules/"))
    for rule in rules:
        section = page.by_id(f"rule-{rule['id']}")
        assert section is not None, rule["id"]
        text = section.text()
        assert rule["text"] in text and rule["text_en"] in text
        for law in rule["laws"]:
            assert law in text
    quality = page.by_id("rule-quality.seven_days").text()
    assert laws.CPL_24.short in quality and laws.CPL_24.gist in quality
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.post("/language/", {"language": "en"})
    en_page = doc(english.get("/rules/"))
    en_quality = en_page.by_id("rule-quality.seven_days").text()
    assert laws.CPL_24.cite_en in en_quality and laws.CPL_24.gist_en in en_quality


def test_the_precedents_page_publishes_final_decisions_anonymized_with_filters(
    api, client, buyer, merchant, arbitrator, escalated_case, doc
):
    named = escalated_case()
    rationale = (
        f"{buyer.username} 反映订单无法激活，商家 {merchant.username} 让买家加微信 kefu_888 私下处理；全额退款 ¥99.00。"
    )
    final(api, named, arbitrator, merchant, rationale=rationale)
    pending = escalated_case()
    api.post(
        f"/refunds/{pending.pk}/decide",
        {"outcome": "no_refund", "rationale": "证据不足以证明激活码无效，不予退款。"},
        token=arbitrator.token,
    )  # decided, not final: not published
    page = doc(client.get("/precedents/"))
    items = page.testid("precedents")
    text = items.text()
    assert "全额退款" in page.testid("precedent-outcome").text()
    assert buyer.username not in text and merchant.username not in text and "kefu_888" not in text
    assert "¥99.00" in text and "证据不足" not in text
    rule_link = next(a for a in items.iter() if a.tag == "a")
    assert rule_link.attrs["href"] == "/rules/#rule-false_promotion"
    assert doc(client.get("/precedents/?outcome=no_refund")).testid("no-precedents") is not None
    assert doc(client.get("/precedents/?outcome=refund_full&reason=defective")).testid("precedents") is not None
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.post("/language/", {"language": "en"})
    en = english.get("/precedents/").content.decode()
    assert "Published decisions" in en and "Full refund" in en


def test_the_review_page_shows_similar_final_cases(api, login_as, arbitrator, merchant, escalated_case, doc):
    earlier = escalated_case()
    final(api, earlier, arbitrator, merchant)
    current = escalated_case()
    page = doc(login_as(arbitrator).get(f"/arbitration/{current.pk}"))
    table = page.testid("similar-cases")
    assert f"#{earlier.pk}" in table.text() and "全额退款" in table.text()
    assert f"#{current.pk}" not in table.text()


def test_admins_see_arbitrator_consistency_and_others_do_not(
    api, login_as, admin, arbitrator, merchant, escalated_case, doc
):
    final(api, escalated_case(), arbitrator, merchant)
    assert Precedent.objects.count() == 1
    page = doc(login_as(admin).get("/staff/consistency/"))
    assert arbitrator.username in page.testid("consistency").text()
    assert page.testid("reversed-share").text().strip() == "0%"
    assert login_as(arbitrator).get("/staff/consistency/").status_code == 403
    assert Client().get("/staff/consistency/").status_code == 302
    assert "/staff/consistency/" in login_as(admin).get("/staff/").content.decode()
