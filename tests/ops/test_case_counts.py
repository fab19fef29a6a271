"""The case counts the database keeps (kameng.casecounts) equal a direct COUNT of the case table
after every kind of transition, after compaction, and with transitions and compactions racing on
PostgreSQL; /metrics reads its open cases from them."""

from datetime import timedelta

import pytest
from django.db.models import Count
from prometheus_client.parser import text_string_to_metric_families

from kameng.aftersales.models import OPEN_STATUSES, RefundCase
from kameng.casecounts.models import CaseCountDelta, Gauge
from kameng.casecounts.services import OVERDUE, compact, counts, overdue, recount, refresh
from kameng.clock.services import now as clock_now

REJECT = {"reason": "激活码已被买家使用，系统显示激活成功"}


def direct_count() -> dict[str, int]:
    return dict(RefundCase.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def open_cases_metric(client, settings) -> dict[str, float]:
    settings.SERVE_HOST = "127.0.0.1"  # loopback: the details without a token
    res = client.get("/metrics")
    assert res.status_code == 200, res.content
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(res.content.decode())
        for sample in family.samples
        if sample.name == "kameng_cases_open"
    }


@pytest.fixture
def cases(merchant, buyer, make_listing, fund, buy, open_case):
    """`cases(n)`: n freshly opened cases (awaiting_merchant) on ¥300 orders."""
    listing = make_listing(merchant, price=30000, stock=[f"KEY-CC-{i:04d}" for i in range(12)])
    fund(buyer, 12 * 30000)

    def make(n):
        return [open_case(buy(buyer, listing)) for _ in range(n)]

    return make


def test_counts_follow_every_transition_and_survive_compaction(client, settings, cases, act, buyer, merchant, db):
    assert counts().by_status == direct_count()
    first = cases(4)
    assert counts().by_status == direct_count() == {"awaiting_merchant": 4}
    assert counts().pending_deltas >= 4  # the opening INSERTs, not yet compacted

    act(first[0], "withdraw", buyer)
    rejected = act(first[1], "reject", merchant, REJECT)
    act(first[2], "offer", merchant, {"amount": first[2]["requested_amount"] // 2})
    assert counts().by_status == direct_count()
    assert compact() > 0
    assert counts().pending_deltas == 0 and CaseCountDelta.objects.count() == 0
    assert counts().by_status == direct_count()

    act(rejected, "escalate", buyer)  # after the compaction: base plus new deltas
    cases(1)
    expected = direct_count()
    assert counts().by_status == expected
    assert expected["in_arbitration"] == 1 and expected["closed"] == 1 and expected["awaiting_merchant"] == 2
    metric = open_cases_metric(client, settings)
    assert metric == {str(s): float(expected.get(str(s), 0)) for s in OPEN_STATUSES}

    compact()
    assert compact() == 0  # nothing left to fold
    assert counts().by_status == expected
    recount()
    assert counts().by_status == expected and counts().pending_deltas == 0


def test_a_change_that_keeps_the_status_adds_no_delta(cases, act, buyer, merchant, arbitrator, db):
    (case,) = cases(1)
    act(act(case, "reject", merchant, REJECT), "escalate", buyer)
    compact()
    claimed = act(case, "claim", arbitrator)  # writes the case row, keeps in_arbitration
    assert claimed["status"] == "in_arbitration"
    assert CaseCountDelta.objects.count() == 0
    assert counts().by_status == direct_count() == {"in_arbitration": 1}


def test_racing_transitions_and_compactions_keep_the_counts_exact(cases, race, buyer, merchant, postgres):
    opened = cases(8)
    calls = [race.post(f"/refunds/{c['id']}/withdraw", buyer.token) for c in opened[:4]]
    calls += [race.post(f"/refunds/{c['id']}/reject", merchant.token, REJECT) for c in opened[4:]]
    calls += [compact, compact, counts]
    results = race(calls)
    assert [status for status, _ in results[:8]] == [200] * 8, results[:8]
    assert counts().by_status == direct_count() == {"closed": 4, "awaiting_buyer": 4}
    compact()
    assert counts().by_status == direct_count() and counts().pending_deltas == 0


def test_the_overdue_gauge_is_the_workers_figure_while_fresh_and_measured_when_stale(cases, db):
    cases(1)
    now = clock_now()
    assert refresh() >= 1  # the worker's step: compaction, then the overdue count
    assert Gauge.objects.get(name=OVERDUE).value == 0
    Gauge.objects.filter(name=OVERDUE).update(value=7, measured_at=now - timedelta(seconds=10))
    assert overdue(now) == (7, 10.0)  # fresh enough: no COUNT in the scrape
    Gauge.objects.filter(name=OVERDUE).update(measured_at=now - timedelta(seconds=120))
    assert overdue(now) == (0, 0.0)  # stale (no worker): measured again, and kept
    assert Gauge.objects.get(name=OVERDUE).measured_at == now
