"""Where a swept escrow release goes: statements per release (Django's CaptureQueriesContext) and a
CPU profile of the sweep with the real handlers, in one process.

    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000
    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000 --cases 200 --show-sql
    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000 --shops 1
    PYTHONPATH=<old checkout>/src .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000   # before

Builds `--orders` delivered card-key orders (and `--cases` open refund cases) through the services,
moves the test clock past the verification window, and sweeps them in this process: first one
batch under CaptureQueriesContext (statements per timer, by their first words), then the rest
under cProfile. Statement counts do not depend on the machine's load; the profile's CPU split
mostly does not.
"""

import argparse
import collections
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from _common import BenchDatabase, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=0, help="open cases whose merchant deadline is swept after")
    parser.add_argument("--shops", type=int, default=50, help="shops the orders are bought from, round-robin")
    parser.add_argument("--show-sql", action="store_true", help="print each statement of one release")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_profile_sweep")
    db.env["KAMENG_TEST_CLOCK"] = "1"
    try:
        db.kameng("init")
        db.use_here()
        sys.path.insert(0, str(Path(__file__).parent))
        from sweep import build

        build(args.orders, args.cases, args.shops)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from kameng.clock.services import advance
        from kameng.timers.services import BATCH, run_due_batch, sweep

        for label, hours in (("escrow release", 25), ("merchant deadline", 24)):
            if label == "merchant deadline" and not args.cases:
                break
            advance(hours * 3600)
            from kameng.clock.services import now

            with CaptureQueriesContext(connection) as queries:
                dealt = run_due_batch(now(), BATCH[connection.vendor])
            assert dealt, f"nothing swept ({dealt!r})"
            stmts = queries.captured_queries
            kinds = collections.Counter(" ".join(q["sql"].split()[:2]).upper() for q in stmts)
            db_ms = sum(float(q["time"]) for q in stmts) * 1000
            print(
                f"{label}: one batch of {dealt} timers: {len(stmts)} statements, "
                f"{len(stmts) / dealt:.1f} per timer, {db_ms / dealt:.2f} ms of database time per timer"
            )
            print("  by kind: " + ", ".join(f"{k} {n / dealt:.1f}" for k, n in kinds.most_common()))
            if args.show_sql:
                for q in stmts[: max(3, len(stmts) // dealt + 4)]:
                    print("   ", q["sql"][:300])
            profiler = cProfile.Profile()
            wall, cpu = time.perf_counter(), time.process_time()
            profiler.enable()
            ran = sweep()
            profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"{label}: swept {ran:,} more in {wall:.2f}s ({ran / wall if wall else 0:,.0f}/s in this process), "
                f"{cpu / max(ran, 1) * 1000:.2f} ms CPU and {wall / max(ran, 1) * 1000:.2f} ms wall per timer"
            )
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
        from kameng.ledger.services import check

        ledger = check()
        print(f"ledger check: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
