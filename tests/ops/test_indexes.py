"""The hot queries have their indexes, and on PostgreSQL the planner can answer them from an
ordered index scan without sorting (so a page costs the same at any table size)."""

import psycopg
import pytest
from django.db import connection, transaction

HOT = {
    "aftersales_refundcase": {
        "case_queue": ["status", "decide_by"],
        "case_arbitration_due": ["decide_by", "id"],
        "case_buyer": ["buyer_id", "id"],
        "case_shop": ["shop_id", "id"],
    },
    "aftersales_caseevent": {"caseevent_case": ["case_id", "id"]},
    "orders_order": {"order_buyer": ["buyer_id", "id"], "order_shop": ["shop_id", "id"]},
    "ledger_posting": {"posting_account": ["account_id", "id"]},
    "timers_timer": {"timer_pending_due": ["due_at", "id"]},
}


@pytest.mark.parametrize("table", sorted(HOT))
def test_hot_query_indexes_exist(db, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    for name, columns in HOT[table].items():
        assert name in constraints, f"{table} lacks {name}"
        assert constraints[name]["columns"] == columns, (name, constraints[name]["columns"])


def _inline(sql: str, params) -> str:
    """The statement with its parameters written in (EXPLAIN takes no bound parameters); a client-side
    cursor does it, as the server binds parameters under KAMENG_DB_PREPARE_THRESHOLD."""
    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(sql, params)


def _plan(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny test tables: ask whether an ordered index scan can answer it, as it must at scale.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_arbitration_queue_and_due_timers_are_ordered_index_scans(postgres):
    from kameng.aftersales.services import arbitration_queue
    from kameng.clock.services import now
    from kameng.timers.models import Timer, TimerStatus
    from kameng.timers.services import any_due_statement, take_due_statement

    queue_sql, params = arbitration_queue()[:51].query.sql_with_params()
    queue_plan = _plan(_inline(queue_sql, params))
    assert "case_arbitration_due" in queue_plan and "Sort" not in queue_plan, queue_plan

    due = Timer.objects.filter(status=TimerStatus.PENDING, due_at__lte=now()).order_by("due_at", "id")[:1]
    due_sql, params = due.query.sql_with_params()
    due_plan = _plan(_inline(due_sql, params))
    assert "timer_pending_due" in due_plan and "Sort" not in due_plan, due_plan

    idle_plan = _plan(_inline(*any_due_statement(now())))  # what an idle sweeper asks each interval
    assert "timer_pending_due" in idle_plan and "Sort" not in idle_plan, idle_plan

    bite_plan = _plan(_inline(*take_due_statement(now(), 25, {3, 1, 2})))  # a batch's next bite
    assert "timer_pending_due" in bite_plan and "Sort" not in bite_plan, bite_plan
