"""Where a swept escrow release goes: statements per release (Django's CaptureQueriesContext) and a
CPU profile of the sweep with the real handlers, in one process.

    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000
    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000 --cases 200 --show-sql
    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000 --shops 1
    .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000 --cases 200 --no-cprofile   # CPU per timer
    PYTHONPATH=<old checkout>/src .venv/bin/python bench/profile_sweep.py --db postgres --orders 1000   # before

Builds `--orders` delivered card-key orders (and `--cases` open refund cases) through the services,
moves the test clock past the verification window (then to the cases' 2 h reminders and past their
merchant deadline), and sweeps them in this process: first one full batch under
CaptureQueriesContext (statements per timer, by their first words), then the rest under cProfile
(CPU per timer counts the jobs' threads too). Statement counts do not depend on the machine's
load; the profile's CPU split mostly does not.
"""

import argparse
import collections
import cProfile
import gc
import io
import os
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
    parser.add_argument(
        "--name",
        default="kameng_bench_profile_sweep",
        help="the PostgreSQL database (default kameng_bench_profile_sweep)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print each statement of one release")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--no-cprofile", dest="cprofile", action="store_false", help="CPU per timer without the profiler"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, args.name)
    db.env["KAMENG_TEST_CLOCK"] = "1"
    try:
        db.kameng("init")
        db.use_here()
        sys.path.insert(0, str(Path(__file__).parent))
        from sweep import build, due_by_kind

        build(args.orders, args.cases, args.shops)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from kameng.clock.services import advance
        from kameng.timers import services as timers
        from kameng.timers.services import BATCH, run_due_batch, sweep

        gc.freeze()  # what is loaded now (Django, the apps, the built market) stays, as `kameng worker` freezes it
        # The cases' merchant deadline is 48 h after they opened: their 24 h reminders fall due with the
        # releases, the 2 h reminders 21 h later, the deadlines 3 h after those.
        steps = [("escrow release", 25), ("2 h reminder", 21), ("merchant deadline", 3)]
        for label, hours in steps if args.cases else steps[:1]:
            advance(hours * 3600)
            from kameng.clock.services import now

            print(f"{label}: due {due_by_kind()}")
            seconds, timers.BATCH_SECONDS = timers.BATCH_SECONDS, 3600  # a full batch, however loaded the machine
            cpu = time.process_time()
            with CaptureQueriesContext(connection) as queries:
                dealt = run_due_batch(now(), BATCH[connection.vendor])
            cpu = time.process_time() - cpu
            timers.BATCH_SECONDS = seconds
            assert dealt, f"nothing swept ({dealt!r})"
            stmts = queries.captured_queries
            kinds = collections.Counter(" ".join(q["sql"].split()[:2]).upper() for q in stmts)
            db_ms = sum(float(q["time"]) for q in stmts) * 1000
            print(
                f"{label}: one batch of {dealt} timers: {len(stmts)} statements, "
                f"{len(stmts) / dealt:.1f} per timer, {db_ms / dealt:.2f} ms of database time and "
                f"{cpu / dealt * 1000:.2f} ms CPU (this thread's, and the jobs' so far) per timer"
            )
            print("  by kind: " + ", ".join(f"{k} {n / dealt:.1f}" for k, n in kinds.most_common()))
            if args.show_sql:
                for q in stmts[: max(3, len(stmts) // dealt + 4)]:
                    print("   ", q["sql"][:300])
            profiler = cProfile.Profile()
            backend = backend_cpu(connection)
            wall, cpu = time.perf_counter(), time.process_time()
            if args.cprofile:
                profiler.enable()
            ran = sweep()
            profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            server = ""
            if backend is not None and (after := backend_cpu(connection)) is not None:
                server = f", PostgreSQL backend {(after - backend) / max(ran, 1) * 1000:.2f} ms CPU"
            print(
                f"{label}: swept {ran:,} more in {wall:.2f}s ({ran / wall if wall else 0:,.0f}/s in this process), "
                f"{cpu / max(ran, 1) * 1000:.2f} ms CPU{server} and {wall / max(ran, 1) * 1000:.2f} ms wall per timer"
            )
            if args.cprofile:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
        from kameng.ledger.services import check

        ledger = check()
        print(f"ledger check: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
    finally:
        db.drop()


def backend_cpu(connection) -> float | None:
    """PostgreSQL on this machine: the CPU seconds (user + system) this connection's server process used so far."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
