"""Timer sweep: throughput with 1,000,000 pending timers of which 100,000 are due, and the time
to find that nothing is due as the table grows (the partial index timer_pending_due keeps it flat).

    .venv/bin/python bench/timers.py --db postgres   # or --db sqlite

The due timers are of a kind whose handler does nothing, so the figure is the sweeper's own cost
(take with SKIP LOCKED, run, mark done, commit); real handlers add their own queries.
"""

import argparse
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from _common import PYTHON, BenchDatabase, machine

KIND = "bench.noop"


def register_noop():
    from kameng.timers.services import handler

    handler(KIND)(lambda target, now: None)


def insert_timers(db, count: int, *, due_from_seconds: float, start: int = 0) -> None:
    """`count` pending timers, due one millisecond apart from now + due_from_seconds."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    first = now + timedelta(seconds=due_from_seconds)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO timers_timer (kind, target, due_at, status, attempts, last_error, created_at) "
                "SELECT %s, 'bench:' || g, %s + g * interval '1 millisecond', 'pending', 0, '', %s "
                "FROM generate_series(%s::bigint, %s::bigint) AS g",
                [KIND, first, now, start, start + count - 1],
            )
            cursor.execute("ANALYZE timers_timer")
        else:
            rows = (
                (KIND, f"bench:{g}", (first + timedelta(milliseconds=g)).isoformat(" "), now.isoformat(" "))
                for g in range(start, start + count)
            )
            cursor.executemany(
                "INSERT INTO timers_timer (kind, target, due_at, status, attempts, last_error, "
                "created_at) VALUES (%s, %s, %s, 'pending', 0, '', %s)",
                rows,
            )
            cursor.execute("ANALYZE")


def time_nothing_due(samples: int = 2000) -> dict:
    """What an idle sweeper pays each interval: sweep() when nothing is due."""
    from kameng.timers.services import sweep

    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        assert sweep() == 0
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"median_ms": statistics.median(times) * 1000, "p99_ms": times[int(len(times) * 0.99)] * 1000}


def pending_count() -> int:
    from kameng.timers.models import Timer

    return Timer.objects.filter(status="pending").count()


def sweeper_main():
    """--sweeper: one more sweeping process (spawned by the benchmark)."""
    register_noop()
    from kameng.timers.services import sweep

    t0 = time.perf_counter()
    ran = sweep()
    print(f"{ran} {time.perf_counter() - t0:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--sweepers", type=int, default=1, help="sweeping processes running at once")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--sweeper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweeper:
        import django

        django.setup()
        return sweeper_main()

    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_timers", keep=args.keep)
    try:
        db.kameng("init")
        db.use_here()
        register_noop()
        print("finding nothing due (median / p99 of 2000 tries), by pending timers in the table:")
        inserted = 0
        for size in (1_000, 10_000, 100_000, args.total - args.due):
            t0 = time.perf_counter()
            insert_timers(db, size - inserted, due_from_seconds=86400, start=inserted)
            fill = time.perf_counter() - t0
            inserted = size
            r = time_nothing_due()
            print(
                f"  {size:>9,} pending: median {r['median_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms"
                f"   (filled in {fill:.1f}s)"
            )

        t0 = time.perf_counter()
        insert_timers(db, args.due, due_from_seconds=-3600, start=inserted)
        print(f"added {args.due:,} due timers in {time.perf_counter() - t0:.1f}s: {pending_count():,} pending in all")

        from django.db import connections

        connections.close_all()
        env = dict(db.env, DJANGO_SETTINGS_MODULE="kameng.settings")
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [PYTHON, str(Path(__file__).resolve()), "--sweeper"], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(args.sweepers)
        ]
        outputs = [p.communicate()[0].split() for p in procs]
        wall = time.perf_counter() - t0
        ran = sum(int(o[0]) for o in outputs)
        busy = max(float(o[1]) for o in outputs)
        print(
            f"sweep: {args.sweepers} process(es) ran {ran:,} timers in {busy:.1f}s of sweeping "
            f"({wall:.1f}s with start-up): {ran / busy:,.0f} timers/s"
        )
        left = pending_count()
        print(f"pending after the sweep: {left:,} (expected {args.total - args.due:,})")
        r = time_nothing_due()
        print(
            f"finding nothing due after the sweep ({args.due:,} done rows beside {left:,} pending): "
            f"median {r['median_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms"
        )
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
