"""Fair, explainable credit (issues 15.7 and 18.6): only what the merchant did counts — open,
undecided cases cost nothing, a replacement (补发) is a resolved case, not a loss; the breakdown links
each contributing case for the merchant; sanctions fall only on faults and name their rule and cases."""

import re

from kameng.catalog.models import Shop
from kameng.demo import load_demo
from kameng.trust.models import SanctionEvent


def _credit(shop, merchant):
    return shop(merchant)["credit"]


def _new_shop(api, make_user, name):
    merchant = make_user("merchant")
    res = api.post("/shops", {"name": name, "description": "正版激活码"}, token=merchant.token)
    assert res.status_code == 201, res.data
    merchant.shop_id = res.data["id"]
    return merchant


def test_three_open_undecided_cases_from_new_buyers_cost_a_fair_shop_nothing(
    api, make_user, stocked, sale, open_refund, shop
):
    merchant = _new_shop(api, make_user, "老实人数码")
    listing = stocked(merchant, tag="fair")
    orders = [sale(listing) for _ in range(3)]
    before = _credit(shop, merchant)
    for buyer, order in orders:
        open_refund(buyer, order)
    after = _credit(shop, merchant)
    assert after["cases_90d"] == 3  # shown as the dispute rate, as information
    assert (after["score"], after["grade"]) == (before["score"], before["grade"]), after["parts"]
    assert shop(merchant)["status"] == "active" and not SanctionEvent.objects.filter(shop_id=merchant.shop_id)


def test_a_replacement_is_a_resolved_case_not_a_loss(api, make_user, stocked, sale, open_refund, act, shop):
    merchant = _new_shop(api, make_user, "补发数码")
    listing = stocked(merchant, tag="rep")
    buyer, order = sale(listing)
    before = _credit(shop, merchant)
    case = open_refund(buyer, order)
    act(merchant, case, "replace")
    closed = act(buyer, case, "accept_replacement")
    assert closed["resolution"] == "replaced"
    after = _credit(shop, merchant)
    assert after["score"] == before["score"] and after["merchant_faults_90d"] == 0 and after["refunds_90d"] == 0
    assert not [p for p in after["parts"] if p["points"] < 0 and p["cases"]]


def test_refunds_the_merchant_granted_without_fault_lower_the_grade_but_never_sanction(
    api, make_user, stocked, sale, open_refund, act, shop
):
    merchant = _new_shop(api, make_user, "有求必应")
    listing = stocked(merchant, tag="ok")
    cases = []
    for _ in range(5):
        buyer, order = sale(listing)
        cases.append(act(merchant, open_refund(buyer, order), "accept"))
    credit = _credit(shop, merchant)
    assert credit["grade"] == "D" and credit["merchant_faults_90d"] == 0, credit["parts"]
    assert shop(merchant)["status"] == "active"
    disputes = next(p for p in credit["parts"] if p["code"] == "disputes")
    assert sorted(disputes["cases"]) == sorted(c["id"] for c in cases)


def test_a_sanction_names_its_rule_and_the_cases_and_the_breakdown_links_them(
    api, admin, restricted_merchant, login_as, client
):
    shop_id = restricted_merchant.shop_id
    [event] = SanctionEvent.objects.filter(shop_id=shop_id)
    assert event.to_status == "restricted" and event.rule == "credit.restricted"
    assert len(event.cases) == 2 and "credit.restricted" in event.reason
    assert all(f"#{c}" in event.reason for c in event.cases)
    listed = api.get(f"/shops/{shop_id}/sanctions", token=restricted_merchant.token).data["data"]
    assert listed[0]["rule"] == "credit.restricted" and listed[0]["cases"] == [str(c) for c in event.cases]

    own = login_as(restricted_merchant).get(f"/merchants/{shop_id}/").content.decode()
    disputes = re.search(r'<li data-part="disputes">.*?</li>', own).group(0)
    for case_id in event.cases:
        assert f'href="/refunds/{case_id}"' in disputes
        assert f'href="/refunds/{case_id}"' in own.split('id="sanction-log"')[1]
    assert 'href="/rules/#rule-credit.restricted"' in own
    public = client.get(f"/merchants/{shop_id}/").content.decode()
    assert "2 个案件" in re.search(r'<li data-part="disputes">.*?</li>', public).group(0)
    assert 'href="/refunds/' not in public


def test_the_demo_restricts_no_shop_for_undecided_cases(db):
    load_demo()
    assert set(Shop.objects.values_list("status", flat=True)) == {"active"}
    assert not SanctionEvent.objects.filter(source="auto").exists()
