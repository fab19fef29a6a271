"""Where a purchase's time goes inside one web process: N purchases through Django's test
client (the full middleware and API stack, no network), profiled with pyinstrument, plus the
count of SQL statements and the time the database took.

    uv pip install -p .venv/bin/python -e '.[bench]'   # pyinstrument (once)
    .venv/bin/python bench/profile_purchase.py --db postgres
"""

import argparse
import sys
import time
from pathlib import Path

from _common import BenchDatabase, backend_cpu, machine, make_market


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--purchases", type=int, default=300)
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one purchase")
    parser.add_argument(
        "--cpu", action="store_true", help="cProfile on CPU time (process_time) instead of pyinstrument's wall clock"
    )
    parser.add_argument("--callees", default="", help="with --cpu: also print what functions matching this call")
    parser.add_argument("--plain", action="store_true", help="CPU time per purchase only, with no profiler")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_profile")
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=1, stock=args.purchases + 50)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client()
        headers = {"Authorization": f"Bearer {market['buyer_tokens'][0]}"}
        body = {"listing": str(market["listing"].pk)}

        def buy():
            response = client.post("/api/v1/orders", body, content_type="application/json", headers=headers)
            assert response.status_code == 201, response.content

        for _ in range(30):
            buy()
        with CaptureQueriesContext(connection) as queries:
            buy()
        db_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"one purchase: {len(queries.captured_queries)} SQL statements, {db_ms:.1f} ms of them in the database")
        if args.show_sql:
            for q in queries.captured_queries:
                print("   ", q["sql"][:240])
        if args.cpu:
            cpu_profile(buy, args.purchases, args.callees)
            return
        if args.plain:
            backend, cpu = backend_cpu(connection), time.process_time()
            for _ in range(args.purchases):
                buy()
            cpu, backend_after = time.process_time() - cpu, backend_cpu(connection)
            print(f"{args.purchases} purchases, no profiler: {cpu / args.purchases * 1000:.2f} ms CPU each")
            if backend is not None and backend_after is not None:
                print(
                    f"  the requests' database backend: {(backend_after - backend) / args.purchases * 1000:.2f} ms CPU each"
                )
            return
        try:
            from pyinstrument import Profiler
        except ImportError:
            sys.exit("pyinstrument is not installed: uv pip install -p .venv/bin/python -e '.[bench]'")
        profiler = Profiler(interval=0.0005)
        wall, cpu = time.perf_counter(), time.process_time()
        profiler.start()
        for _ in range(args.purchases):
            buy()
        profiler.stop()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{args.purchases} purchases in one process: {args.purchases / wall:.1f}/s, "
            f"{wall / args.purchases * 1000:.1f} ms wall and {cpu / args.purchases * 1000:.1f} ms CPU each"
        )
        print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=True))
    finally:
        db.drop()


def cpu_profile(buy, purchases: int, callees: str = "") -> None:
    """CPU time only (a loaded machine stretches the wall clock, hardly the CPU a request takes)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    profiler.enable()
    for _ in range(purchases):
        buy()
    profiler.disable()
    cpu = time.process_time() - cpu
    print(f"{purchases} purchases: {cpu / purchases * 1000:.1f} ms CPU each (with cProfile's own overhead)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(45)
        print(out.getvalue())
    if callees:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_callees(callees)
        print(out.getvalue())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
