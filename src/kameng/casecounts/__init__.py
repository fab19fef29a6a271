"""Refund cases counted by status, kept exact by the database and cheap to read at any table size.

Triggers on aftersales_refundcase (migration 0001) append (status, ±n) rows to CaseCountDelta in
the transaction that inserts a case or changes its status, so concurrent transitions never wait
for one another on a shared counter row. `counts()` sums the per-status base rows and the deltas in
one statement; `compact()` (the timer worker runs it every COMPACT_SECONDS, Celery beat likewise)
folds the deltas into the base, so a read costs the number of statuses plus the transitions since
the last compaction, not the number of cases.

The overdue arbitrations cannot be counted that way (a case becomes overdue by the clock, not by a
write); `refresh()`, the worker's periodic step, compacts and also measures that count into a Gauge
row, which /metrics reads with its age (and measures itself when the row is older than a minute).
"""
