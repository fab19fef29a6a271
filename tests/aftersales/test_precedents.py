"""Decisions tied to rules, and published (issue 18.5): the rules GET /policies lists, `decide {rule}`
checked against the rulebook and shown on the decision, final decisions published anonymized as
precedents (GET /precedents), similar past cases in the arbitrator's assist, and per-arbitrator
consistency for admins."""

import pytest

from kameng.aftersales.models import Precedent
from kameng.aftersales.precedents import scrub

from .conftest import RATIONALE

CATEGORY_RULE = "category.software_license"  # the default listing's category


def decide(act, case, who, outcome="refund_partial", amount=None, rule="", rationale=RATIONALE, status=200):
    body = {"outcome": outcome, "rationale": rationale, "rule": rule}
    if amount is not None:
        body["amount"] = amount
    return act(case, "decide", who, body, status=status)


def escalated(case_in):
    return case_in("in_arbitration")


def test_policies_list_every_rule_with_a_stable_id_in_the_callers_language(api):
    zh = api.get("/policies").data["rules"]
    en = api.get("/policies", headers={"Accept-Language": "en"}).data["rules"]
    ids = [r["id"] for r in zh]
    assert len(ids) == len(set(ids))
    for expected in (CATEGORY_RULE, "used_goods", "special_goods", "fast_track", "quality.seven_days"):
        assert expected in ids
    by_id = {r["id"]: r for r in zh}
    assert "已使用" in by_id["used_goods"]["text"]
    assert by_id["used_goods"]["text_en"].startswith("Goods used")
    assert {r["id"]: r["text"] for r in en}["used_goods"].startswith("Goods used")
    assert "《消费者权益保护法》第二十四条" in by_id["quality.seven_days"]["laws"]


def test_an_unknown_rule_is_refused_with_the_catalogue_code(api, act, case_in, arbitrator):
    case = escalated(case_in)
    res = api.post(
        f"/refunds/{case['id']}/decide",
        {"outcome": "refund_full", "rationale": RATIONALE, "rule": "no.such.rule"},
        token=arbitrator.token,
    )
    assert res.status_code == 400, res.data
    assert res.data["error"]["code"] == "unknown_rule"
    assert res.data["error"]["param"] == "rule"
    assert res.data["error"]["request_id"]
    # a credit rule is for sanctions, not for a refund decision
    decide(act, case, arbitrator, "refund_full", rule="credit.suspended", status=400)
    assert api.get(f"/refunds/{case['id']}", token=arbitrator.token).data["decision"] is None


def test_the_decision_shows_its_rule_and_without_one_shows_null(api, act, case_in, arbitrator, buyer):
    case = escalated(case_in)
    decided = decide(act, case, arbitrator, amount=10000, rule="used_goods")
    assert decided["decision"]["rule"]["id"] == "used_goods"
    assert "已使用" in decided["decision"]["rule"]["text"]
    english = api.get(f"/refunds/{case['id']}", token=buyer.token, headers={"Accept-Language": "en"}).data
    assert english["decision"]["rule"] == {"id": "used_goods", "text": english["decision"]["rule"]["text"]}
    assert english["decision"]["rule"]["text"].startswith("Goods used")
    other = decide(act, escalated(case_in), arbitrator, "refund_full")
    assert other["decision"]["rule"] is None


def test_the_appeal_decision_carries_its_own_rule(act, case_in, second_arbitrator):
    case = case_in("in_appeal")
    closed = decide(act, case, second_arbitrator, "refund_full", rule=CATEGORY_RULE)
    assert closed["status"] == "closed"
    assert closed["decision"]["rule"]["id"] == CATEGORY_RULE
    assert closed["appeal"]["decision"]["rule"]["id"] == CATEGORY_RULE


def test_a_decision_is_published_only_when_it_becomes_final(api, act, case_in, advance, merchant):
    case = case_in("decided")  # refund_partial, the appeal window running
    assert api.get("/precedents").data["data"] == []
    assert not Precedent.objects.exists()
    act(case, "accept_decision", merchant)  # partial: both parties must accept
    assert not Precedent.objects.exists()
    advance(8 * 86400)  # the appeal window passes: final
    page = api.get("/precedents").data
    assert len(page["data"]) == 1
    item = page["data"][0]
    assert item["outcome"] == "refund_partial"
    assert item["requested_amount"] == 30000 and item["refunded_amount"] == 10000
    assert item["category"] == "software_license" and item["reason"] == "defective"
    assert set(item) == {
        "id",
        "category",
        "reason",
        "outcome",
        "requested_amount",
        "refunded_amount",
        "rule",
        "rationale",
        "decided_at",
    }


def test_accepting_a_decision_publishes_it_at_once(api, act, case_in, arbitrator, merchant):
    case = escalated(case_in)
    decide(act, case, arbitrator, "refund_full", rule="false_promotion")
    closed = act(case, "accept_decision", merchant)
    assert closed["status"] == "closed"
    (published,) = api.get("/precedents").data["data"]
    assert published["outcome"] == "refund_full" and published["rule"]["id"] == "false_promotion"


def test_a_compromise_both_accept_is_published_as_a_compromise(api, act, case_in, buyer, merchant):
    case = case_in("compromise")
    act(case, "respond_compromise", buyer, {"accept": True})
    act(case, "respond_compromise", merchant, {"accept": True})
    (published,) = api.get("/precedents").data["data"]
    assert published["outcome"] == "compromise" and published["refunded_amount"] == 15000


def test_the_published_rationale_names_no_one_and_no_contact_but_keeps_amounts(
    api, act, case_in, arbitrator, buyer, merchant
):
    case = escalated(case_in)
    order_number = api.get(f"/orders/{case['order']}", token=buyer.token).data["number"]
    shop_name = api.get(f"/shops/{merchant.shop_id}").data["name"]
    rationale = (
        f"{buyer.username} 购买的订单 {order_number} 激活失败；{shop_name}（{merchant.username}）曾让买家加"
        "QQ 12345678、微信 shop_vx888 或打 138-0013-8000，邮箱 seller@example.com，见 error-shot.png；"
        f"仲裁员 {arbitrator.username} 认定部分退款 ¥100.00（申请 ¥300.00）"
    )
    decide(act, case, arbitrator, amount=10000, rationale=rationale, rule="used_goods")
    act(case, "accept_decision", buyer)
    act(case, "accept_decision", merchant)
    (published,) = api.get("/precedents").data["data"]
    text = published["rationale"]
    for secret in (
        buyer.username,
        merchant.username,
        arbitrator.username,
        shop_name,
        order_number,
        "12345678",
        "shop_vx888",
        "138-0013-8000",
        "seller@example.com",
        "error-shot.png",
    ):
        assert secret not in text, (secret, text)
    assert "¥100.00" in text and "¥300.00" in text
    assert "激活失败" in text


@pytest.mark.parametrize(
    "text, hidden",
    [
        ("请联系 13800138000", "13800138000"),
        ("手机+86 139 1234 5678", "139 1234 5678"),
        ("扣扣：987654321", "987654321"),
        ("vx: abc_def12", "abc_def12"),
        ("WeChat id wxid_abcdef", "wxid_abcdef"),
        ("座机 020-88886666", "88886666"),
        ("订单 KM2026120100000042", "KM2026120100000042"),
        ("sha256 " + "ab" * 32, "ab" * 32),
        ("https://t.me/shopowner", "t.me/shopowner"),
        ("账号 100200300", "100200300"),
    ],
)
def test_scrub_hides_each_kind_of_contact(text, hidden):
    assert hidden not in scrub(text)


def test_scrub_keeps_amounts_and_plain_numbers():
    text = "退款 ¥99.00，申请 300 元，7 日内，第 3 次"
    assert scrub(text) == text


def test_precedents_filter_by_category_reason_and_outcome_and_page(api, act, case_in, arbitrator, buyer, merchant):
    for outcome in ("refund_full", "no_refund", "refund_full"):
        case = escalated(case_in)
        decide(act, case, arbitrator, outcome)
        loser = buyer if outcome == "no_refund" else merchant
        act(case, "accept_decision", loser)
    assert len(api.get("/precedents?outcome=refund_full").data["data"]) == 2
    assert len(api.get("/precedents?outcome=no_refund").data["data"]) == 1
    assert len(api.get("/precedents?reason=defective&category=software_license").data["data"]) == 3
    assert api.get("/precedents?category=game_account").data["data"] == []
    assert api.get("/precedents?reason=no_reason").data["data"] == []
    first = api.get("/precedents?limit=2").data
    assert len(first["data"]) == 2 and first["has_more"]
    rest = api.get(f"/precedents?limit=2&starting_after={first['data'][-1]['id']}").data
    assert len(rest["data"]) == 1 and not rest["has_more"]
    assert api.get("/precedents?outcome=maybe").status_code == 400
    assert api.get("/precedents?starting_after=999999").data["error"]["code"] == "invalid_cursor"


def test_similar_cases_are_final_same_category_and_reason_nearest_amount_never_the_case_itself(
    api, act, case_in, arbitrator, buyer
):
    amounts = [30000, 5000, 29000, 20000, 10000, 1000, 25000]
    for amount in amounts:  # decided for the merchant: seven faults would suspend the shop
        case = case_in("in_arbitration", amount=amount)
        decide(act, case, arbitrator, "no_refund", rule="used_goods")
        act(case, "accept_decision", buyer)
    pending = case_in("decided")  # decided but not final: never a precedent
    current = case_in("in_arbitration", amount=28000)
    assist = api.get(f"/refunds/{current['id']}/assist", token=arbitrator.token).data
    similar = assist["similar_cases"]
    assert len(similar) == 5
    assert [s["requested_amount"] for s in similar] == [29000, 30000, 25000, 20000, 10000]
    assert all(s["outcome"] == "no_refund" and s["rule"]["id"] == "used_goods" for s in similar)
    assert {s["case"] for s in similar}.isdisjoint({current["id"], pending["id"]})
    assert similar[0]["refunded_amount"] == 0
    # a final case does not list itself
    last = Precedent.objects.order_by("-id").first().case_id
    mine = api.get(f"/refunds/{last}/assist", token=arbitrator.token).data["similar_cases"]
    assert str(last) not in {s["case"] for s in mine}


def test_admins_see_each_arbitrators_share_of_decisions_changed_on_appeal(
    api, act, case_in, arbitrator, second_arbitrator, admin, merchant
):
    appealed = case_in("in_appeal")  # arbitrator decided refund_partial ¥100; the buyer appealed
    decide(act, appealed, second_arbitrator, "refund_full")  # reversed
    kept = escalated(case_in)
    decide(act, kept, arbitrator, "refund_full")
    act(kept, "accept_decision", merchant)
    assert api.get("/arbitration/consistency", token=arbitrator.token).status_code == 403
    rows = {r["username"]: r for r in api.get("/arbitration/consistency", token=admin.token).data["data"]}
    mine = rows[arbitrator.username]
    assert (mine["decisions"], mine["appealed"], mine["changed"], mine["reversed"]) == (2, 1, 1, 1)
    assert mine["reversed_share"] == 0.5
    assert second_arbitrator.username not in rows  # an appeal decision is nobody's first decision


def test_the_migration_publishes_decisions_that_became_final_before_precedents_existed(
    api, act, case_in, arbitrator, merchant
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("kameng.aftersales.migrations.0007_publish_final_decisions")
    done = escalated(case_in)
    decide(
        act,
        done,
        arbitrator,
        "refund_full",
        rule="false_promotion",
        rationale=f"{merchant.username} 承诺不符，全额退款",
    )
    act(done, "accept_decision", merchant)
    case_in("decided")  # not final: stays unpublished
    published = Precedent.objects.get()
    expected = {
        f: getattr(published, f) for f in ("outcome", "refunded_amount", "rule", "rationale", "first_arbitrator_id")
    }
    Precedent.objects.all().delete()
    migration.publish_final_decisions(apps, None)
    again = Precedent.objects.get()
    assert {f: getattr(again, f) for f in expected} == expected
    assert merchant.username not in again.rationale
    migration.publish_final_decisions(apps, None)  # once per case
    assert Precedent.objects.count() == 1
