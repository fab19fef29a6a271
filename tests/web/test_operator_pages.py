"""Operator pages through Django's test client: admins only (403 for every other role), links to the
trust and audit pages, policy numbers, category refund rules and the holiday table — each change
through kameng.policy.services, visible on the public rules page and in the audit log."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from kameng.policy.models import Holiday
from kameng.policy.services import add_working_days, get_policy, is_working_day
from kameng.security.models import AuditRecord

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")


@pytest.mark.parametrize("path", ["/staff/", "/staff/policy/"])
def test_only_admins_reach_the_operator_pages(path, login_as, make_user, buyer, merchant, arbitrator, admin):
    for user in (buyer, merchant, arbitrator):
        assert login_as(user).get(path).status_code == 403, user.role
        assert login_as(user).post(path, {"form": "deadlines"}).status_code == 403, user.role
    assert Client().get(path).status_code == 302  # to the login page
    assert login_as(admin).get(path).status_code == 200


def test_overview_links_to_merchants_sanctions_audit_and_statistics(login_as, admin, doc):
    client = login_as(admin)
    page = doc(client.get("/staff/"))
    links = {a.attrs.get("href") for a in page.all("a")}
    assert {"/staff/policy/", "/staff/sanctions/", "/staff/audit/", "/rules/#stats", "/arbitration/"} <= links
    for path in ("/staff/sanctions/", "/staff/audit/", "/rules/", "/arbitration/"):
        assert client.get(path).status_code == 200, path
    nav = next(n for n in doc(client.get("/")).all("nav") if n.attrs.get("aria-label") == "主导航")
    assert any(a.attrs.get("href") == "/staff/" for a in nav.iter())


def test_deadlines_are_saved_through_the_policy_with_errors_next_to_fields(login_as, admin, doc):
    client = login_as(admin)
    page = doc(client.get("/staff/policy/"))
    assert page.by_id("id_merchant_respond_hours").attrs["value"] == "48"
    assert page.by_id("id_fast_track_threshold_fen").attrs["value"] == "200.00"
    values = {
        key: str(getattr(get_policy(), key))
        for key in (
            "merchant_respond_hours",
            "buyer_respond_days",
            "arbitration_working_days",
            "fast_track_hours",
            "compromise_respond_hours",
            "appeal_days",
            "fast_track_appeal_hours",
            "deadline_reminder_hours",
            "default_verification_minutes",
            "default_after_sale_days",
        )
    }
    bad = doc(
        client.post(
            "/staff/policy/",
            {**values, "form": "deadlines", "merchant_respond_hours": "0", "fast_track_threshold_fen": "abc"},
        )
    )
    assert bad.field_error("merchant_respond_hours") and bad.field_error("fast_track_threshold_fen")
    assert get_policy().merchant_respond_hours == 48

    response = client.post(
        "/staff/policy/",
        {**values, "form": "deadlines", "merchant_respond_hours": "24", "fast_track_threshold_fen": "150.50"},
    )
    assert response.status_code == 302
    policy = get_policy()
    assert policy.merchant_respond_hours == 24 and policy.fast_track_threshold_fen == 15050
    assert policy.appeal_days == 7  # untouched values are not written
    assert set(AuditRecord.objects.filter(type="policy.set").values_list("target", flat=True)) == {
        "policy:merchant_respond_hours",
        "policy:fast_track_threshold_fen",
    }
    assert "已保存 2 项设置" in doc(client.get("/staff/policy/")).text()


def test_category_refund_rules_are_editable_and_published(login_as, admin, doc, client):
    admin_client = login_as(admin)
    page = doc(admin_client.get("/staff/policy/"))
    assert "激活码无效或与描述不符全额退款" in page.by_id("id_cat-software_license-rule").text()
    empty = doc(
        admin_client.post(
            "/staff/policy/",
            {
                "form": "category",
                "category_code": "software_license",
                "cat-software_license-rule": " ",
                "cat-software_license-rule_en": "",
            },
        )
    )
    assert empty.field_error("cat-software_license-rule")
    response = admin_client.post(
        "/staff/policy/",
        {
            "form": "category",
            "category_code": "software_license",
            "cat-software_license-rule": "激活码无效全额退款；已激活后失效的按剩余期限比例退款。",
            "cat-software_license-rule_en": "Invalid codes: full refund; codes that stop working: pro rata.",
        },
    )
    assert response["Location"] == "/staff/policy/#cat-software_license"
    category = get_policy().category("software_license")
    assert category["rule"].startswith("激活码无效全额退款") and category["class"] == "standardized"
    assert get_policy().category("game_boosting")["rule"] == "按未完成的进度比例退款。"  # others unchanged
    assert "已激活后失效的按剩余期限比例退款" in client.get("/rules/").content.decode()
    assert AuditRecord.objects.filter(type="policy.set", target="policy:categories").exists()
    unknown = admin_client.post("/staff/policy/", {"form": "category", "category_code": "nope", "cat-nope-rule": "x"})
    assert unknown.status_code == 200 and "nope" not in get_policy().categories


def test_holiday_table_adds_and_removes_days_that_deadlines_respect(login_as, admin, doc):
    client = login_as(admin)
    bad = doc(client.post("/staff/policy/", {"form": "holiday_add", "date": "2031-13-40", "name": "x"}))
    assert bad.field_error("date")
    for day, name, workday in (
        ("2031-10-01", "国庆节", ""),
        ("2031-10-02", "国庆节", ""),
        ("2031-09-28", "国庆节调休", "on"),
    ):
        response = client.post(
            "/staff/policy/", {"form": "holiday_add", "date": day, "name": name, "is_workday": workday}
        )
        assert response["Location"] == "/staff/policy/#holidays"
    assert Holiday.objects.count() == 3
    assert not is_working_day(date(2031, 10, 1)) and is_working_day(date(2031, 9, 28))  # a Sunday, worked
    table = doc(client.get("/staff/policy/")).testid("holidays").text()
    assert "2031-10-01" in table and "调休上班" in table
    # From Friday 2031-09-26 the make-up Sunday counts; from Tuesday 09-30 the two holidays do not.
    cst = ZoneInfo("Asia/Shanghai")
    assert add_working_days(datetime(2031, 9, 26, 10, 0, tzinfo=cst), 3).date() == date(2031, 9, 30)
    assert add_working_days(datetime(2031, 9, 30, 10, 0, tzinfo=cst), 1).date() == date(2031, 10, 3)

    client.post("/staff/policy/", {"form": "holiday_add", "date": "2031-10-01", "name": "国庆节", "is_workday": "on"})
    assert Holiday.objects.get(date=date(2031, 10, 1)).is_workday  # replaced, not duplicated
    client.post("/staff/policy/", {"form": "holiday_remove", "date": "2031-10-02"})
    assert not Holiday.objects.filter(date=date(2031, 10, 2)).exists()
    assert client.post("/staff/policy/", {"form": "holiday_remove", "date": "garbage"}).status_code == 302
    types = set(AuditRecord.objects.values_list("type", flat=True))
    assert {"policy.holiday_set", "policy.holiday_removed"} <= types


def test_policy_form_keeps_csrf(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post("/staff/policy/", {"form": "holiday_add", "date": "2031-10-01"}).status_code == 403
    assert not Holiday.objects.exists()


def test_operator_pages_in_english_have_no_chinese_left(login_as, admin):
    client = login_as(admin)
    client.post("/language/", {"language": "en"})
    for path in ("/staff/", "/staff/policy/"):
        html = client.get(path).content.decode()
        html = re.sub(r'<button[^>]*lang="zh-Hans"[^>]*>.*?</button>', "", html, flags=re.S)
        # The Chinese refund rules and ratios are data the operator edits (shown in their own fields).
        html = re.sub(r"<textarea[^>]*-(?:rule|ratios)\"[^>]*>.*?</textarea>", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        leftover = CJK.findall(text)
        assert not leftover, (path, "".join(leftover)[:80])
