"""The operator's policy page, second part (issue 15.11, issue 17.6): sanction thresholds (grade
floors, overturned refusals), each category's refund ratios, the commission per category (basis
points) and the settlement delay T+N — validated, audited, effective at once and published on
/rules and /policies — and the holiday / 调休 calendar in force for this year and the next."""

from datetime import date

from kameng.clock.services import now as clock_now
from kameng.policy.services import CHINA, calendar_covers, get_policy
from kameng.security.models import AuditRecord
from kameng.trust.models import MerchantCredit

SANCTIONS = {"form": "sanctions", "grade_a": "90", "grade_b": "75", "grade_c": "60", "grade_d": "40"}


def _commission_form(**rates):
    form = {"form": "commission", "settlement_days": "0"}
    form.update({f"bp_{code}": "0" for code in get_policy().categories})
    form.update({k: str(v) for k, v in rates.items()})
    return form


def test_grade_floors_and_the_suspension_threshold_take_effect_at_once(login_as, admin, merchant, api, doc, client):
    shop = api.get(f"/shops/{merchant.shop_id}").data
    assert shop["credit"]["grade"] == "B"  # a new shop: 80 points
    admin_client = login_as(admin)
    page = doc(admin_client.get("/staff/policy/"))
    assert page.by_id("id_grade_c").attrs.get("value") == "60"
    wrong = doc(admin_client.post("/staff/policy/", {**SANCTIONS, "grade_b": "50", "suspend_after": "3"}))
    assert "100 ≥ A > B > C > D ≥ 1" in wrong.text()
    assert get_policy().grade_floors == {"A": 90, "B": 75, "C": 60, "D": 40}
    assert doc(admin_client.post("/staff/policy/", {**SANCTIONS, "suspend_after": "0"})).field_error("suspend_after")

    response = admin_client.post("/staff/policy/", {**SANCTIONS, "grade_b": "85", "suspend_after": "2"})
    assert response["Location"] == "/staff/policy/#sanctions"
    policy = get_policy()
    assert policy.grade_floors == {"A": 90, "B": 85, "C": 60, "D": 40}
    assert policy.suspend_after_overturned_refusals == 2
    audited = set(AuditRecord.objects.filter(type="policy.set").values_list("target", flat=True))
    assert {"policy:grade_floors", "policy:suspend_after_overturned_refusals"} <= audited
    assert not MerchantCredit.objects.filter(refresh_due_at__gt=clock_now()).exists()  # every shop due now
    assert api.get(f"/shops/{merchant.shop_id}").data["credit"]["grade"] == "C"  # 80 < 85: recomputed at once
    published = api.get("/policies").data["credit_formula"]
    assert {"grade": "B", "min_score": 85} in published["grades"]
    assert any("2 次及以上拒绝退款后被推翻" in s["zh"] for s in published["sanctions"])
    assert "B ≥ 85" in client.get("/rules/").content.decode()


def test_commission_per_category_and_settlement_days_are_saved_and_published(login_as, admin, doc, client, api):
    admin_client = login_as(admin)
    page = doc(admin_client.get("/staff/policy/"))
    assert page.by_id("id_bp_software_license").attrs.get("value") == "0"
    too_much = doc(admin_client.post("/staff/policy/", _commission_form(bp_software_license=6000)))
    assert too_much.field_error("bp_software_license")
    late = doc(admin_client.post("/staff/policy/", _commission_form(settlement_days=31)))
    assert late.field_error("settlement_days")
    assert get_policy().values["commission_bp"] == {} and get_policy().settlement_days == 0

    form = _commission_form(bp_software_license=250, bp_game_account=500, settlement_days=2)
    assert admin_client.post("/staff/policy/", form)["Location"] == "/staff/policy/#commission"
    policy = get_policy()
    assert policy.commission_bp("software_license") == 250 and policy.commission_bp("gift_card") == 0
    assert policy.values["commission_bp"] == {"software_license": 250, "game_account": 500}
    assert policy.settlement_days == 2
    audited = set(AuditRecord.objects.filter(type="policy.set").values_list("target", flat=True))
    assert {"policy:commission_bp", "policy:settlement_days"} <= audited
    rules = doc(client.get("/rules/"))
    assert "2.5%" in rules.by_id("cat-software_license").text() and "5%" in rules.by_id("cat-game_account").text()
    assert "T+2" in rules.by_id("settlement").text()
    published = api.get("/policies").data
    assert published["settlement"] == {"settlement_days": 2}
    assert {c["code"]: c["commission_bp"] for c in published["categories"]}["software_license"] == 250


def test_refund_ratios_are_edited_per_category_and_published(login_as, admin, doc, client, api):
    admin_client = login_as(admin)
    page = doc(admin_client.get("/staff/policy/"))
    assert (
        "激活码无效或与描述不符 | invalid or not as described | 100%"
        in page.by_id("id_cat-software_license-ratios").text()
    )
    base = {
        "form": "category",
        "category_code": "software_license",
        "cat-software_license-rule": "激活码无效或与描述不符全额退款。",
        "cat-software_license-rule_en": "Full refund when invalid.",
    }
    for bad in ("只有一栏", "超额 | over | 150%"):
        page = doc(admin_client.post("/staff/policy/", {**base, "cat-software_license-ratios": bad}))
        assert page.field_error("cat-software_license-ratios"), bad
    ratios = "激活码无效 | invalid code | 100%\n已激活后失效 | stopped working after activation | 50%\n"
    response = admin_client.post("/staff/policy/", {**base, "cat-software_license-ratios": ratios})
    assert response["Location"] == "/staff/policy/#cat-software_license"
    published = {c["code"]: c for c in api.get("/policies").data["categories"]}
    assert published["software_license"]["refund_ratios"] == [
        {"scenario": "激活码无效", "scenario_en": "invalid code", "ratio": "100%"},
        {"scenario": "已激活后失效", "scenario_en": "stopped working after activation", "ratio": "50%"},
    ]
    assert published["gift_card"]["refund_ratios"][0]["ratio"] == "100%"  # others keep the defaults
    assert "已激活后失效：50%" in doc(client.get("/rules/")).by_id("cat-software_license").text()


def test_the_calendar_in_force_shows_this_year_and_the_next_with_the_operators_entries(login_as, admin, doc):
    year = clock_now().astimezone(CHINA).year
    client = login_as(admin)
    client.post("/staff/policy/", {"form": "holiday_add", "date": f"{year + 1}-01-01", "name": "元旦"})
    page = doc(client.get("/staff/policy/"))
    this_year, next_year = page.testid(f"calendar-{year}"), page.testid(f"calendar-{year + 1}")
    if calendar_covers(year):
        text = this_year.text()
        assert "国务院节假日安排" in text and "放假" in text
        assert "国庆节" in text and "调休上班" in text  # the State Council's make-up working days are listed
    assert f"{year + 1}-01-01" in next_year.text() and "运营自定义" in next_year.text()
    if not calendar_covers(year + 1):
        assert f"节假日日历尚未收录 {year + 1} 年" in page.text()
    assert date(year + 1, 1, 1).isoformat() in page.testid("holidays").text()


def test_the_english_policy_page_names_the_calendar_days_in_english(login_as, admin, doc):
    year = clock_now().astimezone(CHINA).year
    client = login_as(admin)
    client.post("/language/", {"language": "en"})
    page = doc(client.get("/staff/policy/"))
    assert "Sanction thresholds" in page.text() or "sanction thresholds" in page.text()
    if calendar_covers(year):
        text = page.testid(f"calendar-{year}").text()
        assert "National Day" in text and "State Council holiday schedule" in text
