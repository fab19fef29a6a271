"""After-sales pages through Django's test client: the buyer's 申请售后 form, the case page of each
party (timeline, countdowns, only the allowed actions, evidence by the four dimensions, downloads),
confirmation before irreversible actions, the merchant's inbox, and the arbitrator's queue,
review page and decision form."""

import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from PIL import Image

from kameng.aftersales.models import CaseStatus, Notification, RefundCase
from kameng.evidence.models import Evidence
from kameng.wallet.services import wallet_balance

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "files")


def png_bytes(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def upload(name: str, data: bytes, content_type="application/octet-stream"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def order(buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, description="正版授权，24小时内激活。一经售出概不退换")
    fund(buyer, 100000)
    return buy(buyer, listing)


@pytest.fixture
def open_case(api, buyer):
    def open_(order, *, amount=None, description="激活码无效，提示错误代码 0x8007007B", token=None):
        res = api.post(
            "/refunds",
            {
                "order": order["id"],
                "reason": "defective",
                "description": description,
                "amount": amount if amount is not None else order["amount"],
            },
            token=token or buyer.token,
        )
        assert res.status_code == 201, res.data
        return RefundCase.objects.get(pk=res.data["id"])

    return open_


@pytest.fixture
def case(order, open_case):
    return open_case(order)


def action_urls(page, case_id) -> set[str]:
    """The case actions a page offers, as links or forms."""
    prefix = f"/refunds/{case_id}/"
    found = set()
    for node in page.all():
        target = node.attrs.get("href") if node.tag == "a" else node.attrs.get("action") if node.tag == "form" else None
        if target and target.startswith(prefix):
            found.add(target[len(prefix) :].split("?")[0])
    return found - {"evidence"} - {t for t in found if t.startswith("evidence/") or t.startswith("complaint")}


# ---- the buyer's request ---------------------------------------------------------------------------


def test_order_page_offers_the_refund_form_to_its_buyer_only(login_as, buyer, merchant, order, doc):
    page = doc(login_as(buyer).get(f"/orders/{order['id']}"))
    assert any(a.attrs.get("href") == f"/orders/{order['id']}/refund" for a in page.all("a"))
    merchant_page = doc(login_as(merchant).get(f"/orders/{order['id']}"))
    assert not any(a.attrs.get("href") == f"/orders/{order['id']}/refund" for a in merchant_page.all("a"))
    assert login_as(merchant).get(f"/orders/{order['id']}/refund").status_code == 403


def test_buyer_opens_a_case_in_yuan_with_a_screenshot(login_as, buyer, merchant, order, doc):
    client = login_as(buyer)
    form = doc(client.get(f"/orders/{order['id']}/refund"))
    assert form.by_id("id_amount").attrs["value"] == "99.00"
    reasons = [n.attrs["value"] for n in form.all("input") if n.attrs.get("name") == "reason"]
    assert reasons == ["not_as_described", "defective", "service_missing"]  # no no-reason on this listing
    assert all(form.by_id(f"id_{name}") is not None for name in ("description", "amount", "evidence", "note"))
    assert "label" in {n.tag for n in form.all() if n.attrs.get("for") == "id_amount"}

    response = client.post(
        f"/orders/{order['id']}/refund",
        {
            "reason": "defective",
            "description": "激活码无效，提示 0xC004F074",
            "amount": "12.34",
            "note": "第二步报错",
            "evidence": [upload("screen.png", png_bytes())],
        },
    )
    case = RefundCase.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/refunds/{case.pk}"
    assert case.requested_amount == 1234 and case.status == CaseStatus.AWAITING_MERCHANT
    shot = Evidence.objects.get(case=case, source="buyer")
    assert (shot.category, shot.content_type, shot.filename, shot.note) == (
        "problem",
        "image/png",
        "screen.png",
        "第二步报错",
    )

    page = doc(client.get(response["Location"]))
    text = page.text()
    assert "售后申请已提交" in text and "待商家处理" in text and "¥12.34" in text
    problem = next(n for n in page.all("section") if n.attrs.get("data-dimension") == "problem")
    assert "screen.png" in problem.text()
    assert page.testid("timeline") is not None and "买家申请售后" in page.testid("timeline").text()
    # The order page now links to the case and no longer offers a second one.
    order_page = doc(client.get(f"/orders/{order['id']}"))
    assert any(a.attrs.get("href") == f"/refunds/{case.pk}" for a in order_page.all("a"))
    assert not any(a.attrs.get("href") == f"/orders/{order['id']}/refund" for a in order_page.all("a"))


def test_refund_form_errors_show_next_to_their_fields(login_as, buyer, order, doc):
    client = login_as(buyer)
    url = f"/orders/{order['id']}/refund"
    page = doc(client.post(url, {"reason": "no_reason", "description": "", "amount": "100.00"}))
    assert page.field_error("reason")  # not offered: the listing has no no-reason refunds
    assert page.field_error("description")
    assert "不能超过可退金额 ¥99.00" in page.field_error("amount")
    assert "2" in doc(client.post(url, {"reason": "defective", "description": "坏了", "amount": "1.005"})).field_error(
        "amount"
    )
    refused = doc(
        client.post(
            url,
            {
                "reason": "defective",
                "description": "坏了",
                "amount": "9.90",
                "evidence": [upload("virus.png", b"MZ\x90\x00" + bytes(200))],
            },
        )
    )
    assert "virus.png" in refused.field_error("evidence") and "只接受" in refused.field_error("evidence")
    assert not RefundCase.objects.exists()  # a refused file never leaves a half-made case


def test_the_upload_script_gets_json_naming_the_case_page(login_as, buyer, order):
    response = login_as(buyer).post(
        f"/orders/{order['id']}/refund",
        {
            "reason": "defective",
            "description": "激活失败",
            "amount": "99",
            "evidence": [upload("a.txt", "错误代码 0x8007007B".encode())],
        },
        headers={"X-Upload-Progress": "1"},
    )
    case = RefundCase.objects.get()
    assert response.status_code == 200 and response.json() == {"redirect": f"/refunds/{case.pk}"}


def test_refund_form_is_for_the_orders_buyer(login_as, make_user, order, merchant):
    assert login_as(make_user("buyer")).get(f"/orders/{order['id']}/refund").status_code == 404
    assert Client().get(f"/orders/{order['id']}/refund").status_code == 302  # to the login page


def test_refund_form_keeps_csrf(buyer, order):
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)
    data = {"reason": "defective", "description": "激活码无效", "amount": "99.00"}
    assert client.post(f"/orders/{order['id']}/refund", data).status_code == 403
    assert not RefundCase.objects.exists()
    page = client.get(f"/orders/{order['id']}/refund").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(f"/orders/{order['id']}/refund", {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert RefundCase.objects.count() == 1


# ---- the case page ---------------------------------------------------------------------------------


def test_case_page_renders_for_its_parties_and_staff_404_for_outsiders(
    login_as, buyer, merchant, admin, arbitrator, make_user, make_listing, case, doc
):
    url = f"/refunds/{case.pk}"
    for user in (buyer, merchant, admin):
        assert login_as(user).get(url).status_code == 200, user.role
    assert login_as(arbitrator).get(url)["Location"] == f"/arbitration/{case.pk}"
    assert login_as(make_user("buyer")).get(url).status_code == 404
    other_merchant = make_user("merchant")
    assert login_as(other_merchant).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    assert login_as(buyer).get("/refunds/999999").status_code == 404


def test_case_page_shows_only_the_actions_each_party_may_take(login_as, buyer, merchant, admin, case, doc):
    assert action_urls(doc(login_as(buyer).get(f"/refunds/{case.pk}")), case.pk) == {"withdraw"}
    assert action_urls(doc(login_as(merchant).get(f"/refunds/{case.pk}")), case.pk) == {
        "accept",
        "offer",
        "reject",
        "replace",
    }
    assert action_urls(doc(login_as(admin).get(f"/refunds/{case.pk}")), case.pk) == set()


def test_case_page_counts_down_to_the_running_deadline(login_as, buyer, case, doc):
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    deadline = next(n for n in page.testid("deadlines").iter() if n.attrs.get("data-deadline") == "merchant_respond_by")
    counter = next(n for n in deadline.iter() if "data-countdown-seconds" in n.attrs)
    assert 47 * 3600 < int(counter.attrs["data-countdown-seconds"]) <= 48 * 3600
    time = next(n for n in deadline.iter() if n.tag == "time")
    assert (
        time.attrs["datetime"][:19] == case.merchant_respond_by.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()[:19]
    )
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", time.text())


def test_evidence_is_grouped_by_the_four_dimensions_and_downloads_as_an_attachment(
    login_as, buyer, make_user, case, doc
):
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    groups = {n.attrs["data-dimension"]: n for n in page.all("section") if "data-dimension" in n.attrs}
    assert list(groups) == ["listing", "transaction", "communication", "problem"]
    snapshot = Evidence.objects.get(case=case, category="listing")
    link = f"/refunds/{case.pk}/evidence/{snapshot.pk}/file"
    assert any(a.attrs.get("href") == link for a in groups["listing"].iter())
    response = login_as(buyer).get(link)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).decode().strip()
    assert login_as(make_user("buyer")).get(link).status_code == 404
    assert login_as(buyer).get(f"/refunds/{case.pk}/evidence/999999/file").status_code == 404


def test_parties_add_evidence_and_see_errors_next_to_the_file(login_as, merchant, case, doc):
    client = login_as(merchant)
    response = client.post(
        f"/refunds/{case.pk}/evidence",
        {
            "file": upload("chat.txt", "买家已成功激活，见截图".encode()),
            "category": "communication",
            "note": "激活记录",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/refunds/{case.pk}#evidence"
    item = Evidence.objects.get(case=case, source="merchant")
    assert (item.category, item.note) == ("communication", "激活记录")
    empty = doc(client.post(f"/refunds/{case.pk}/evidence", {"file": upload("e.txt", b""), "category": "problem"}))
    assert empty.field_error("file")
    bad = doc(
        client.post(
            f"/refunds/{case.pk}/evidence",
            {"file": upload("x.html", b"<html><script>1</script>"), "category": "problem"},
        )
    )
    assert "只接受" in bad.field_error("file") or "网页" in bad.field_error("file")


def test_accepting_asks_first_then_refunds_the_buyer(login_as, buyer, merchant, case, doc):
    client = login_as(merchant)
    before = wallet_balance(buyer)
    asked = doc(client.post(f"/refunds/{case.pk}/accept"))  # no confirmation yet: the page asks
    assert "此操作不可撤销" in asked.text()
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_MERCHANT
    confirm = doc(client.get(f"/refunds/{case.pk}/accept"))
    form = next(f for f in confirm.all("form") if f.attrs.get("action") == f"/refunds/{case.pk}/accept")
    assert any(i.attrs.get("name") == "confirmed" for i in form.iter())
    response = client.post(f"/refunds/{case.pk}/accept", {"confirmed": "yes"})
    assert response["Location"] == f"/refunds/{case.pk}"
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.resolution == "refund_full"
    assert wallet_balance(buyer) == before + 9900
    page = doc(client.get(response["Location"]))
    assert "已同意退款" in page.text() and page.testid("no-actions") is not None


def test_wrong_role_actions_are_forbidden(login_as, buyer, merchant, case):
    assert login_as(buyer).post(f"/refunds/{case.pk}/accept", {"confirmed": "yes"}).status_code == 403
    assert login_as(merchant).post(f"/refunds/{case.pk}/withdraw", {"confirmed": "yes"}).status_code == 403
    assert login_as(buyer).get(f"/refunds/{case.pk}/nonsense").status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_MERCHANT


def test_offer_errors_show_next_to_the_amount_then_the_buyer_answers(login_as, buyer, merchant, case, doc):
    client = login_as(merchant)
    too_much = doc(client.post(f"/refunds/{case.pk}/offer", {"offer-amount": "99.00"}))
    assert "小于申请金额" in too_much.field_error("offer-amount")
    assert doc(client.post(f"/refunds/{case.pk}/offer", {"offer-amount": "abc"})).field_error("offer-amount")
    response = client.post(f"/refunds/{case.pk}/offer", {"offer-amount": "30.50"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYER and case.offer_amount == 3050

    buyer_page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert action_urls(buyer_page, case.pk) == {"accept_offer", "escalate", "withdraw"}
    assert "接受部分退款 ¥30.50" in buyer_page.text()
    before = wallet_balance(buyer)
    login_as(buyer).post(f"/refunds/{case.pk}/accept_offer", {"confirmed": "yes"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and wallet_balance(buyer) == before + 3050


def test_rejection_needs_a_reason_and_the_buyer_escalates(login_as, buyer, merchant, case, doc):
    client = login_as(merchant)
    assert doc(client.post(f"/refunds/{case.pk}/reject", {"reject-reason": " "})).field_error("reject-reason")
    client.post(f"/refunds/{case.pk}/reject", {"reject-reason": "买家已激活使用"})
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_BUYER
    response = login_as(buyer).post(
        f"/refunds/{case.pk}/escalate", {"escalate-reason": "激活码仍然无效", "confirmed": "yes"}
    )
    assert response["Location"] == f"/refunds/{case.pk}"
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_ARBITRATION and case.decide_by is not None
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert "买家已激活使用" in page.text() and "仲裁裁决截止" in page.testid("deadlines").text()


def test_withdrawing_asks_first(login_as, buyer, case, doc):
    client = login_as(buyer)
    assert "此操作不可撤销" in doc(client.get(f"/refunds/{case.pk}/withdraw")).text()
    client.post(f"/refunds/{case.pk}/withdraw", {"confirmed": "yes"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.resolution == "withdrawn"


def test_buyer_case_page_links_to_the_complaint_page(login_as, buyer, merchant, case, doc):
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert any(a.attrs.get("href") == f"/refunds/{case.pk}/complaint/" for a in page.all("a"))
    assert login_as(buyer).get(f"/refunds/{case.pk}/complaint/").status_code == 200
    merchant_page = doc(login_as(merchant).get(f"/refunds/{case.pk}"))
    assert not any("complaint" in a.attrs.get("href", "") for a in merchant_page.all("a"))


# ---- lists -----------------------------------------------------------------------------------------


def test_my_cases_and_notifications(login_as, buyer, merchant, case, doc):
    page = doc(login_as(buyer).get("/refunds/"))
    assert any(a.attrs.get("href") == f"/refunds/{case.pk}" for a in page.testid("open-cases").iter())
    assert login_as(merchant).get("/refunds/").status_code == 403
    assert Notification.objects.filter(user=merchant, case=case).exists()
    notes = doc(login_as(merchant).get("/notifications/"))
    assert "申请售后" in notes.testid("notifications").text()


def test_merchant_inbox_sorts_by_deadline_with_one_click_actions(
    login_as, api, buyer, merchant, make_listing, fund, buy, open_case, advance, doc
):
    listing = make_listing(merchant)
    fund(buyer, 100000)
    first = open_case(buy(buyer, listing))
    advance(3600)
    second = open_case(buy(buyer, listing))
    client = login_as(merchant)
    page = doc(client.get("/shop/refunds/"))
    waiting = page.testid("inbox-waiting").text()
    assert waiting.index(f"#{first.pk}") < waiting.index(f"#{second.pk}")
    # One click to the accept confirmation (coming back to the inbox), inline offer and reject forms.
    links = [a.attrs.get("href", "") for a in page.testid("inbox-waiting").iter() if a.tag == "a"]
    assert f"/refunds/{first.pk}/accept?next=/shop/refunds/" in links
    response = client.post(f"/refunds/{second.pk}/offer", {"offer-amount": "50", "next": "/shop/refunds/"})
    assert response["Location"] == "/shop/refunds/"
    response = client.post(f"/refunds/{first.pk}/accept", {"confirmed": "yes", "next": "/shop/refunds/"})
    assert response["Location"] == "/shop/refunds/"
    after = doc(client.get("/shop/refunds/"))
    assert after.testid("inbox-waiting") is None and f"#{second.pk}" in after.testid("inbox-others").text()
    assert client.post(f"/refunds/{second.pk}/withdraw", {"confirmed": "yes"}).status_code == 403
    assert login_as(buyer).get("/shop/refunds/").status_code == 403
    # An outside `next` is ignored.
    third = open_case(buy(buyer, listing))
    response = client.post(
        f"/refunds/{third.pk}/reject", {"reject-reason": "已正常激活", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/refunds/{third.pk}"


# ---- arbitration -----------------------------------------------------------------------------------


@pytest.fixture
def escalated(api, buyer, merchant, open_case):
    def escalate(case):
        assert (
            api.post(f"/refunds/{case.pk}/reject", {"reason": "买家已激活使用"}, token=merchant.token).status_code
            == 200
        )
        assert api.post(f"/refunds/{case.pk}/escalate", token=buyer.token).status_code == 200
        case.refresh_from_db()
        return case

    return escalate


def test_queue_is_ordered_by_sla_with_overdue_and_fast_track_marks(
    login_as, buyer, merchant, arbitrator, make_listing, fund, buy, open_case, escalated, advance, doc
):
    fund(buyer, 200000)
    big = escalated(open_case(buy(buyer, make_listing(merchant, price=50000))))  # ¥500: 3 working days
    small = escalated(open_case(buy(buyer, make_listing(merchant, price=9900))))  # ¥99: fast track, 24 h
    assert small.fast_track and not big.fast_track
    client = login_as(arbitrator)
    queue = doc(client.get("/arbitration/")).testid("queue")
    rows = [n for n in queue.iter() if n.tag == "tr" and "data-case" in n.attrs]
    assert [r.attrs["data-case"] for r in rows] == [str(small.pk), str(big.pk)]
    assert "快速通道" in rows[0].text() and "快速通道" not in rows[1].text()
    assert "已超时" not in queue.text()
    advance(25 * 3600)
    page = doc(client.get("/arbitration/"))
    rows = [n for n in page.testid("queue").iter() if n.tag == "tr" and "data-case" in n.attrs]
    assert "已超时" in rows[0].text() and "已超时" not in rows[1].text()
    assert page.testid("overdue-count") is not None
    for user in (buyer, merchant):
        assert login_as(user).get("/arbitration/").status_code == 403
        assert login_as(user).get(f"/arbitration/{small.pk}").status_code == 403


def test_claiming_keeps_other_arbitrators_off_the_case(login_as, make_user, arbitrator, case, escalated, doc):
    escalated(case)
    client = login_as(arbitrator)
    response = client.post(f"/refunds/{case.pk}/claim", {"next": f"/arbitration/{case.pk}"})
    assert response["Location"] == f"/arbitration/{case.pk}"
    case.refresh_from_db()
    assert case.claimed_by_id == arbitrator.pk
    other = login_as(make_user("arbitrator"))
    page = doc(other.get(f"/arbitration/{case.pk}"))
    assert arbitrator.username in page.testid("claimed-by").text()
    assert not any(f.attrs.get("action") == f"/arbitration/{case.pk}/decide" for f in page.all("form"))
    refused = doc(
        other.post(
            f"/arbitration/{case.pk}/decide",
            {"outcome": "no_refund", "rationale": "证据不足，依据类目规则不予退款。", "confirmed": "yes"},
        )
    )
    assert "其他仲裁员" in refused.form_errors()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_ARBITRATION


def test_review_page_shows_evidence_rule_void_clauses_assist_and_history(
    login_as, arbitrator, admin, case, escalated, doc
):
    escalated(case)
    page = doc(login_as(arbitrator).get(f"/arbitration/{case.pk}"))
    text = page.text()
    groups = [n.attrs["data-dimension"] for n in page.all("section") if "data-dimension" in n.attrs]
    assert groups == ["listing", "transaction", "communication", "problem"]
    assert "激活码无效或与描述不符全额退款" in page.testid("category-rule").text()
    void = page.testid("void-clause").text()
    assert "无效条款，不作为裁决依据" in void and "一经售出概不退换" in void
    checklist = page.testid("assist-checklist").text()
    assert "✓ 商品承诺（快照）" in checklist and "✓ 交易记录" in checklist
    contradictions = page.testid("assist-contradictions").text()
    assert "100%稳定激活" in contradictions and "激活码无效" in contradictions
    assert "0x8007007B" in page.testid("assist-findings").text()
    assert re.search(r"[A-E] 级（\d+ 分）", page.testid("merchant-credit").text())
    assert "风险分" in page.testid("buyer-risk").text()
    assert "买家已激活使用" in text  # the merchant's side
    decide = next(f for f in page.all("form") if f.attrs.get("action") == f"/arbitration/{case.pk}/decide")
    names = {n.attrs.get("name") for n in decide.iter() if n.tag in ("input", "textarea")}
    assert {"outcome", "amount", "rationale"} <= names
    # Admins read the review page; they cannot decide.
    admin_page = doc(login_as(admin).get(f"/arbitration/{case.pk}"))
    assert not any(f.attrs.get("action") == f"/arbitration/{case.pk}/decide" for f in admin_page.all("form"))
    assert login_as(admin).post(f"/arbitration/{case.pk}/decide", {"outcome": "no_refund"}).status_code == 403


def test_deciding_needs_a_rationale_and_a_confirmation_then_the_decision_becomes_final(
    login_as, buyer, merchant, arbitrator, case, escalated, doc
):
    escalated(case)
    client = login_as(arbitrator)
    url = f"/arbitration/{case.pk}/decide"
    errors = doc(client.post(url, {"outcome": "refund_partial", "rationale": "太短"}))
    assert errors.field_error("amount") and errors.field_error("rationale")
    too_much = doc(
        client.post(url, {"outcome": "refund_partial", "amount": "99.00", "rationale": "金额等于申请金额不是部分退款"})
    )
    assert too_much.field_error("amount") and too_much.testid("confirm-outcome") is None  # refused on the first step
    rationale = "截图显示激活码无效（0x8007007B），与“100%稳定激活”的承诺不符，依类目规则全额退款。"
    confirm = doc(client.post(url, {"outcome": "refund_full", "amount": "", "rationale": rationale}))
    assert confirm.testid("confirm-outcome").text() == "全额退款" and "¥99.00" in confirm.text()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_ARBITRATION  # nothing decided before the confirmation
    edit = doc(client.post(url, {"outcome": "refund_full", "amount": "", "rationale": rationale, "edit": "1"}))
    assert edit.by_id("id_rationale").text().strip() == rationale
    response = client.post(url, {"outcome": "refund_full", "amount": "", "rationale": rationale, "confirmed": "yes"})
    assert response["Location"] == f"/arbitration/{case.pk}"
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED and case.decision["outcome"] == "refund_full"

    buyer_page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert buyer_page.testid("decision-outcome").text() == "全额退款"
    assert "申诉期内" in buyer_page.testid("decision-final").text()
    assert action_urls(buyer_page, case.pk) == {"appeal"}  # nothing to accept: it went the buyer's way
    merchant_page = doc(login_as(merchant).get(f"/refunds/{case.pk}"))
    assert action_urls(merchant_page, case.pk) == {"accept_decision", "appeal"}
    assert "申诉截止" in merchant_page.testid("deadlines").text()

    before = wallet_balance(buyer)
    asked = doc(login_as(merchant).post(f"/refunds/{case.pk}/accept_decision"))
    assert "放弃申诉" in asked.text()
    login_as(merchant).post(f"/refunds/{case.pk}/accept_decision", {"confirmed": "yes"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and wallet_balance(buyer) == before + 9900
    final = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert "已生效" in final.testid("decision-final").text() and final.testid("resolution").text() == "全额退款"
    # No second round on an order the platform has ruled on.
    order_page = doc(login_as(buyer).get(f"/orders/{case.order_id}"))
    assert not any(a.attrs.get("href") == f"/orders/{case.order_id}/refund" for a in order_page.all("a"))
    assert "终局裁决" in doc(login_as(buyer).get(f"/orders/{case.order_id}/refund")).text()


def test_a_compromise_is_answered_after_a_confirmation(login_as, buyer, merchant, arbitrator, case, escalated, doc):
    escalated(case)
    login_as(arbitrator).post(
        f"/arbitration/{case.pk}/decide",
        {
            "outcome": "compromise",
            "amount": "60",
            "rationale": "双方各有责任，提出折中退款 60 元。",
            "confirmed": "yes",
        },
    )
    case.refresh_from_db()
    assert case.decision["outcome"] == "compromise"
    page = doc(login_as(buyer).get(f"/refunds/{case.pk}"))
    assert f"/refunds/{case.pk}/respond_compromise?accept=1" in [a.attrs.get("href") for a in page.all("a")]
    asked = doc(login_as(buyer).get(f"/refunds/{case.pk}/respond_compromise?accept=1"))
    assert "¥60.00" in asked.text()
    login_as(buyer).post(f"/refunds/{case.pk}/respond_compromise", {"accept": "1", "confirmed": "yes"})
    login_as(merchant).post(f"/refunds/{case.pk}/respond_compromise", {"accept": "1", "confirmed": "yes"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.refunded_amount == 6000


def test_english_case_pages_have_no_chinese_left(
    login_as, buyer, merchant, arbitrator, make_listing, fund, buy, open_case, escalated
):
    listing = make_listing(merchant, title="Steam wallet code", description="Global", promises=["Instant"])
    fund(buyer, 20000)
    order = buy(buyer, listing)
    clients = {}
    for user in (buyer, merchant, arbitrator):
        clients[user.role] = login_as(user)
        clients[user.role].post("/language/", {"language": "en"})
    form = clients["buyer"].get(f"/orders/{order['id']}/refund")
    case = open_case(order, description="The code is invalid")
    pages = [
        (clients["buyer"], f"/orders/{order['id']}/refund", form),
        (clients["buyer"], f"/refunds/{case.pk}", None),
        (clients["buyer"], "/refunds/", None),
        (clients["merchant"], "/shop/refunds/", None),
        (clients["merchant"], f"/refunds/{case.pk}", None),
        (clients["merchant"], f"/refunds/{case.pk}/accept", None),
    ]
    escalated(case)
    pages += [(clients["arbitrator"], "/arbitration/", None)]
    for client, path, response in pages:
        html = (response or client.get(path)).content.decode()
        html = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
        html = re.sub(r'<button[^>]*lang="zh-Hans"[^>]*>.*?</button>', "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        # User data: the merchant fixture's shop name, the merchant's reason, the buyer's name.
        text = text.replace("的小店", "").replace("买家已激活使用", "")
        leftover = CJK.findall(text)
        assert not leftover, (path, "".join(leftover)[:80])
