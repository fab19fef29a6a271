"""`kameng demo` shows refund cases in every state the pages need, and loading it twice adds none."""

from kameng.aftersales.models import RefundCase
from kameng.demo import DEMO_PASSWORD, load_demo


def test_demo_cases_cover_the_states_and_are_idempotent(db, api):
    summary = load_demo()
    assert "case " in summary
    token = api.post("/auth/token", {"username": "arbitrator", "password": DEMO_PASSWORD}).data["token"]
    cases = api.get("/refunds?limit=100", token=token).data["data"]
    by_status = {}
    for case in cases:
        by_status.setdefault(case["status"], []).append(case)
    assert by_status["awaiting_merchant"]
    assert [c["offer"] for c in by_status["awaiting_buyer"]] and all(c["offer"] for c in by_status["awaiting_buyer"])
    arbitration = by_status["in_arbitration"]
    assert any(c["fast_track"] and not c["overdue"] for c in arbitration)
    assert any(c["overdue"] and not c["fast_track"] for c in arbitration)
    queue = api.get("/arbitration/queue", token=token).data["data"]
    assert queue[0]["overdue"] is True  # earliest decide_by first
    [decided] = by_status["decided"]
    assert decided["decision"]["outcome"] == "refund_full" and decided["deadlines"]["appeal_by"]
    assert {c["resolution"] for c in by_status["closed"]} == {"refund_full", "withdrawn"}
    count = RefundCase.objects.count()
    load_demo()
    assert RefundCase.objects.count() == count
