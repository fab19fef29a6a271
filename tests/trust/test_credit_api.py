"""Merchant credit (商家信用评级) through the API: counted from orders and case events over 90 days,
stored, refreshed when something happens, and scored by the published formula."""

from kameng.clock.services import now as clock_now
from kameng.trust import rules

RATIONALE = "截图显示激活码无效，与商品承诺不符，依据类目规则全额退款"


def test_credit_counts_the_last_90_days_from_orders_and_case_events(
    api, merchant, arbitrator, stocked, sale, open_refund, act, advance, shop
):
    listing = stocked(merchant)
    (b1, o1), (b2, o2), (b3, o3), (b4, o4) = (sale(listing) for _ in range(4))
    # 1: answered after an hour, accepted — a response, a refund, not the merchant's fault.
    c1 = open_refund(b1, o1)
    advance(3600)
    act(merchant, c1, "accept")
    # 2: rejected after two hours, escalated, lost in arbitration — a fault and an overturned refusal.
    c2 = open_refund(b2, o2)
    advance(7200)
    act(merchant, c2, "reject", {"reason": "激活码已被使用，不予退款"})
    act(b2, c2, "escalate")
    act(arbitrator, c2, "decide", {"outcome": "refund_full", "rationale": RATIONALE})
    act(merchant, c2, "accept_decision")
    # 3: silence for 48 h on a fast-track case — a timeout and an automatic refund (a fault).
    # Credit is pushed on every case event, so the story keeps the score above E at every step
    # (an E on the way would suspend the shop, which only an admin lifts).
    c3 = open_refund(b3, o3)
    advance(24 * 3600 + 1)
    # 4: released after the verification window; the buyer rates it 4 stars.
    assert api.post(f"/orders/{o4['id']}/review", {"stars": 4, "text": "发货快"}, token=b4.token).status_code == 201
    advance(24 * 3600)
    assert api.get(f"/refunds/{c3['id']}", token=b3.token).data["merchant_timed_out"] is True

    data = shop(merchant)
    credit = data["credit"]
    assert credit["orders_90d"] == 4 and credit["cases_90d"] == 3
    assert credit["dispute_rate"] == 0.75
    assert credit["merchant_fault_rate"] == 0.6667 and credit["merchant_faults_90d"] == 2
    assert credit["timeouts_90d"] == 1
    # The median of 1 h and 2 h; silence is a timeout, not a response. The test clock is the real clock plus
    # an offset, so the real time the requests themselves took is in the response times too (a second on a
    # loaded machine): at least 5400 s, and not a minute more.
    response = credit["median_response_seconds"]
    assert 5400 <= response < 5460
    assert credit["tenure_days"] == 2
    assert credit["rating_average"] == 4.0 and credit["rating_count"] == 1
    assert credit["refund_rate"] == 0.75 and credit["overturned_refusals_90d"] == 1
    expected = rules.credit_score(
        rules.CreditInputs(
            orders=4,
            cases=3,
            merchant_faults=2,
            timeouts=1,
            refunds=3,
            median_response_seconds=response,
            tenure_days=2,
            rating_average=4.0,
            rating_count=1,
            overturned_refusals=1,
        )
    )
    # 80 + 0.1 + 0.4 + 5 − 15 − 20 − 5 − 0.3 − 5 = 40.2
    assert (credit["score"], credit["grade"]) == (expected.score, expected.grade) == (40, "D")
    assert data["status"] == "restricted"
    assert "1 次协商超时未回复" in credit["reasons"] and "1 次拒绝退款后被推翻" in credit["reasons"]

    # The public credit endpoint says the same, with the formula's parts.
    detail = api.get(f"/shops/{merchant.shop_id}/credit").data
    assert detail["score"] == 40 and {p["code"] for p in detail["parts"]} >= {"base", "disputes", "faults", "timeouts"}


def test_credit_is_stored_and_not_recomputed_when_nothing_happened(api, merchant, stocked, sale, shop):
    listing = stocked(merchant)
    sale(listing)
    first = shop(merchant)["credit"]
    again = shop(merchant)["credit"]
    assert first["orders_90d"] == again["orders_90d"] == 1
    assert first["computed_at"] == again["computed_at"]
    sale(listing)
    after = shop(merchant)["credit"]
    assert after["orders_90d"] == 2 and after["computed_at"] >= first["computed_at"]


def test_facts_leave_the_window_after_90_days(api, merchant, stocked, sale, open_refund, act, advance, shop):
    listing = stocked(merchant)
    buyer, order = sale(listing)
    act(merchant, open_refund(buyer, order), "accept")
    assert shop(merchant)["credit"]["cases_90d"] == 1
    advance(91 * 86400)
    credit = shop(merchant)["credit"]
    assert credit["orders_90d"] == 0 and credit["cases_90d"] == 0 and credit["tenure_days"] == 91
    # 80 + 10 × 91 / 180 = 85.06
    assert (credit["score"], credit["grade"]) == (85, "B")


def test_a_case_event_marks_the_credit_due_and_the_job_after_the_commit_recounts_it(
    merchant, stocked, sale, open_refund, shop, django_capture_on_commit_callbacks
):
    from kameng.aftersales.models import CaseEvent
    from kameng.timers.models import Timer
    from kameng.trust.models import MerchantCredit, SyncCursor
    from kameng.trust.services import SHOP_REFRESH, record_case_event

    listing = stocked(merchant)
    shop(merchant)  # creates the credit row
    buyer, order = sale(listing)
    stored = lambda: MerchantCredit.objects.get(shop_id=merchant.shop_id)  # noqa: E731
    before = stored()
    assert before.cases_90d == 0 and before.refresh_due_at > before.computed_at
    with django_capture_on_commit_callbacks(execute=False) as queued:
        case = open_refund(buyer, order)
    # Inside the case's transaction: the fact is stored, the row is marked due (stale, and visibly so),
    # and a timer stored with them backs up the recount.
    opened = CaseEvent.objects.get(case_id=case["id"], type="opened")
    marked = stored()
    assert marked.cases_90d == 0 and marked.refresh_due_at == opened.at
    backup = Timer.objects.get(kind=SHOP_REFRESH, target=f"shop:{merchant.shop_id}", status="pending")
    assert backup.due_at > opened.at
    for callback in queued:  # the commit: the jobs run (the recount among them)
        callback()
    recounted = stored()
    assert recounted.cases_90d == 1 and recounted.refresh_due_at > recounted.computed_at >= opened.at
    assert recounted.score != before.score or recounted.dispute_rate != before.dispute_rate
    backup.refresh_from_db()
    assert backup.status == "cancelled"  # the job did the timer's work
    # The push path and the pull path share the facts' keys: the cursor sync counts nothing twice.
    record_case_event(opened)
    cursor = SyncCursor.objects.filter(source="case_events").values_list("last_id", flat=True).first() or 0
    assert CaseEvent.objects.filter(pk__gt=cursor).exists()  # the pull path has not read it yet
    assert shop(merchant)["credit"]["cases_90d"] == 1  # … and reading it adds nothing twice


def test_a_reader_recounts_a_due_credit_and_the_timer_recounts_when_the_job_was_lost(
    merchant, stocked, sale, open_refund, shop, django_capture_on_commit_callbacks
):
    from kameng.clock.services import now as clock_now
    from kameng.timers.services import sweep
    from kameng.trust.models import MerchantCredit
    from kameng.trust.services import SHOP_REFRESH_DELAY

    listing = stocked(merchant)
    shop(merchant)
    (b1, o1), (b2, o2) = sale(listing), sale(listing)
    with django_capture_on_commit_callbacks(execute=False):  # the process dies before its jobs run
        open_refund(b1, o1)
    assert MerchantCredit.objects.get(shop_id=merchant.shop_id).cases_90d == 0
    assert shop(merchant)["credit"]["cases_90d"] == 1  # a reader finds the row due and recounts it itself
    with django_capture_on_commit_callbacks(execute=False):
        open_refund(b2, o2)
    assert MerchantCredit.objects.get(shop_id=merchant.shop_id).cases_90d == 1
    sweep(clock_now() + SHOP_REFRESH_DELAY)  # no reader, no job: the stored timer recounts it
    assert MerchantCredit.objects.get(shop_id=merchant.shop_id).cases_90d == 2


def test_a_shops_case_events_within_the_hold_share_one_background_recount(
    postgres, merchant, stocked, sale, open_refund, act, shop, settings
):
    # PostgreSQL: SQLite's shared in-memory test database locks whole tables across threads.
    from kameng.timers import jobs
    from kameng.trust import services
    from kameng.trust.models import MerchantCredit

    listing = stocked(merchant)
    shop(merchant)
    (b1, o1), (b2, o2) = sale(listing), sale(listing)
    settings.JOBS_IN_BACKGROUND = True
    jobs.drain()
    c1 = open_refund(b1, o1)
    act(merchant, c1, "accept")
    open_refund(b2, o2)
    # Three case events of the shop, three facts: one recount held for all of them, none run yet.
    assert jobs._pool().held() == [(services.SHOP_REFRESH, (int(merchant.shop_id),))]
    stored = MerchantCredit.objects.get(shop_id=merchant.shop_id)
    assert stored.cases_90d == 0 and stored.refresh_due_at <= clock_now()  # due: a reader recounts it
    jobs.drain()
    stored.refresh_from_db()
    assert stored.cases_90d == 2 and stored.refunds_90d == 1 and stored.refresh_due_at > clock_now()


def test_off_platform_messages_by_the_merchant_count_against_its_credit(api, merchant, stocked, sale, shop):
    listing = stocked(merchant)
    buyer, order = sale(listing)
    post = lambda user, body: api.post(f"/orders/{order['id']}/messages", {"body": body}, token=user.token)  # noqa: E731
    flagged = post(merchant, "加我微信 kameng888，下次直接找我买")
    assert flagged.status_code == 201 and flagged.data["flags"] == ["off_platform_payment"]
    assert post(buyer, "激活失败，提示错误代码 0x8007007B").data["flags"] == []
    assert post(buyer, "订单号 KM2026011500000012，价格 99 元").data["flags"] == []
    assert post(buyer, "v x: buyer_2026 加我").data["flags"] == ["off_platform_payment"]  # flagged, not the shop's
    listed = api.get(f"/orders/{order['id']}/messages", token=buyer.token).data["data"]
    assert [m["flags"] for m in listed] == [["off_platform_payment"], [], [], ["off_platform_payment"]]
    credit = shop(merchant)["credit"]
    assert credit["off_platform_90d"] == 1
    assert "1 条引导站外交易的留言" in credit["reasons"]
