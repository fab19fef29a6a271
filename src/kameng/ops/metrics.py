"""Prometheus metrics: request latency (recorded by RequestMetricsMiddleware) and the
marketplace's health read from the database at scrape time — open cases by status (from the
counts the database keeps, kameng.casecounts: a handful of rows at any number of cases), overdue
arbitrations (measured by the worker every few seconds, measured here when that figure is missing or
older than a minute), timer lag, and the ledger check (cached: recomputed at most every
KAMENG_LEDGER_CHECK_SECONDS, default 300, because it reads every posting).

Under `kameng serve` several gunicorn workers each record latencies; `serve` points
PROMETHEUS_MULTIPROC_DIR at a fresh directory so any worker's /metrics answer adds them all up.
"""

import os
import threading
import time

from django.conf import settings
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from kameng.aftersales.models import OPEN_STATUSES
from kameng.casecounts.services import counts as case_counts
from kameng.casecounts.services import overdue as overdue_arbitrations
from kameng.clock.services import now as clock_now
from kameng.ledger.services import check
from kameng.timers.models import Timer, TimerStatus
from kameng.timers.services import lag_seconds

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

REQUEST_LATENCY = Histogram(
    "kameng_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, URL pattern and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)


class RequestMetricsMiddleware:
    """Times every request. The route label is the URL pattern (`api/v1/orders/<order_id>`),
    never the raw path, so the number of series stays bounded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route if match else "") or "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUEST_LATENCY.labels(method, route, str(response.status_code)).observe(time.perf_counter() - start)
        return response


class LedgerCheckCache:
    """The last ledger check per process, recomputed when older than `interval` seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self.result = None
        self.checked_at = 0.0  # time.time() of the last check
        self.duration = 0.0

    def get(self, interval: float):
        with self._lock:
            if self.result is None or time.time() - self.checked_at >= interval:
                start = time.perf_counter()
                self.result = check()
                self.duration = time.perf_counter() - start
                self.checked_at = time.time()
            return self.result, self.checked_at, self.duration


LEDGER_CHECK = LedgerCheckCache()


class MarketplaceCollector:
    """Gauges read from the database on each scrape (each query uses an index)."""

    def collect(self):
        now = clock_now()

        cases = GaugeMetricFamily("kameng_cases_open", "Refund cases not yet closed, by status", labels=["status"])
        counted = case_counts()
        for status in OPEN_STATUSES:
            cases.add_metric([str(status)], counted.by_status.get(str(status), 0))
        yield cases
        yield GaugeMetricFamily(
            "kameng_case_count_deltas",
            "Case status changes not yet compacted into the counts (the worker compacts every few seconds)",
            value=counted.pending_deltas,
        )

        overdue, age = overdue_arbitrations(now)
        yield GaugeMetricFamily(
            "kameng_arbitrations_overdue", "Cases in arbitration or appeal past decide_by", value=overdue
        )
        yield GaugeMetricFamily(
            "kameng_arbitrations_overdue_age_seconds",
            "How old kameng_arbitrations_overdue is (the worker measures it every few seconds)",
            value=age,
        )

        due = Timer.objects.filter(status=TimerStatus.PENDING, due_at__lte=now)
        yield GaugeMetricFamily(
            "kameng_timer_lag_seconds",
            "Age of the oldest due timer not yet run (0 when none is due)",
            value=lag_seconds(now),
        )
        yield GaugeMetricFamily("kameng_timers_due", "Pending timers whose due time has passed", value=due.count())

        result, checked_at, duration = LEDGER_CHECK.get(settings.LEDGER_CHECK_SECONDS)
        yield GaugeMetricFamily(
            "kameng_ledger_ok", "1 if the last ledger check found no problem, else 0", value=1 if result.ok else 0
        )
        yield GaugeMetricFamily(
            "kameng_ledger_problems", "Problems found by the last ledger check", value=len(result.problems)
        )
        yield GaugeMetricFamily(
            "kameng_ledger_checked_timestamp_seconds", "When the ledger was last checked", value=checked_at
        )
        yield GaugeMetricFamily(
            "kameng_ledger_check_duration_seconds", "How long the last ledger check took", value=duration
        )


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every web process's latencies
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(MarketplaceCollector())
    return generate_latest(registry)
