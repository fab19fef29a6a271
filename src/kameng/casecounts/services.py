"""Read and compact the case counts (see the package docstring)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from kameng.aftersales.models import CaseStatus, RefundCase
from kameng.clock.services import now as clock_now

from .models import Gauge

COMPACT_SECONDS = 10.0  # how often the timer worker (and Celery beat) folds the deltas into the base
STALE_SECONDS = 60.0  # a gauge older than this (no worker running?) is measured by its reader
OVERDUE = "arbitrations_overdue"
ADVISORY_LOCK = 0x6B616D_6363  # one compactor at a time on PostgreSQL ("kam" "cc")

READ = """
SELECT status, SUM(n), SUM(is_delta) FROM (
    SELECT status, n, 0 AS is_delta FROM casecounts_base
    UNION ALL
    SELECT status, delta, 1 FROM casecounts_delta
) AS u GROUP BY status
"""

# DELETE … RETURNING takes exactly the deltas this statement's snapshot sees: one inserted by a
# transaction still running stays for the next compaction (ids alone cannot tell, since a sequence
# hands out ids before the commit order is known).
COMPACT_POSTGRES = """
WITH moved AS (DELETE FROM casecounts_delta RETURNING status, delta),
summed AS (SELECT status, SUM(delta) AS n, COUNT(*) AS rows FROM moved GROUP BY status),
folded AS (
    INSERT INTO casecounts_base (status, n) SELECT status, n FROM summed
    ON CONFLICT (status) DO UPDATE SET n = casecounts_base.n + EXCLUDED.n
)
SELECT COALESCE(SUM(rows), 0) FROM summed
"""


@dataclass(frozen=True)
class CaseCounts:
    by_status: dict[str, int]  # every status a case has, closed ones included
    pending_deltas: int  # delta rows not yet compacted: what the next read still has to add up


def counts() -> CaseCounts:
    """Exact counts of refund cases by status, in one statement (one snapshot)."""
    with connection.cursor() as cur:
        cur.execute(READ)
        rows = cur.fetchall()
    return CaseCounts(
        by_status={status: int(n) for status, n, _ in rows if n},
        pending_deltas=sum(int(d) for _, _, d in rows),
    )


def compact() -> int:
    """Fold every committed delta into the base rows; returns how many delta rows it folded."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            if not cur.fetchone()[0]:
                return 0  # another compactor is at it
            cur.execute(COMPACT_POSTGRES)
            return int(cur.fetchone()[0])
        # SQLite has one writer at a time, so every id up to the highest one seen is committed.
        cur.execute("SELECT MAX(id), COUNT(*) FROM casecounts_delta")
        last, rows = cur.fetchone()
        if not rows:
            return 0
        cur.execute(
            "INSERT INTO casecounts_base (status, n) SELECT status, SUM(delta) FROM casecounts_delta "
            "WHERE id <= %s GROUP BY status ON CONFLICT (status) DO UPDATE SET n = casecounts_base.n + excluded.n",
            [last],
        )
        cur.execute("DELETE FROM casecounts_delta WHERE id <= %s", [last])
        return int(rows)


def recount() -> None:
    """Set the base to a direct COUNT and drop the deltas (repair after a bulk load with the triggers
    disabled). Locks the case table against writes for the COUNT."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("LOCK TABLE aftersales_refundcase IN SHARE MODE")
            cur.execute("LOCK TABLE casecounts_base, casecounts_delta IN EXCLUSIVE MODE")
        cur.execute("DELETE FROM casecounts_delta")
        cur.execute("DELETE FROM casecounts_base")
        cur.execute(
            "INSERT INTO casecounts_base (status, n) SELECT status, COUNT(*) FROM aftersales_refundcase GROUP BY status"
        )


def measure_overdue(now: datetime) -> int:
    """Count the cases in arbitration or appeal past decide_by (an index range over every overdue
    case: tens of thousands in a backlog) and keep the figure for the scrapes."""
    value = RefundCase.objects.filter(
        status__in=[CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL], decide_by__lt=now
    ).count()
    Gauge.objects.update_or_create(name=OVERDUE, defaults={"value": value, "measured_at": now})
    return value


def overdue(now: datetime) -> tuple[int, float]:
    """(overdue arbitrations, age of that figure in seconds): the worker's measurement, or a fresh one
    when it is missing or older than STALE_SECONDS by the clock."""
    row = Gauge.objects.filter(name=OVERDUE).first()
    if row is not None:
        age = (now - row.measured_at).total_seconds()
        if 0 <= age <= STALE_SECONDS:
            return row.value, age
    return measure_overdue(now), 0.0


def refresh() -> int:
    """The worker's periodic step: compact the counts, measure the gauges. Returns the deltas folded."""
    folded = compact()
    measure_overdue(clock_now())
    return folded
