"""Where the case page's time goes inside one web process: GET /api/v1/refunds/{id} as an
arbitrator through Django's test client (the full middleware and API stack, no network): its
statements, the CPU per request without a profiler, then a CPU profile (cProfile on process time).

    .venv/bin/python bench/profile_case_page.py --db postgres --requests 300 [--no-cprofile]
"""

import argparse
import collections
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from _common import BenchDatabase, machine, make_market


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-cprofile", dest="cprofile", action="store_false", help="CPU times without the profiler")
    parser.add_argument(
        "--name", default="kameng_bench_profile_case", help="the PostgreSQL database to create and drop"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, args.name)
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=1, stock=10, price=30000)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from kameng.accounts.services import create_user, issue_token, user_for_token
        from kameng.aftersales.services import open_case
        from kameng.orders.services import purchase

        buyer = user_for_token(market["buyer_tokens"][0])
        order = purchase(acting_user=buyer, listing_id=market["listing"].pk)
        case = open_case(
            acting_user=buyer, order_id=order.pk, reason="defective", description="激活码无效", amount=order.amount
        )
        token = issue_token(create_user("bench-arbitrator", "bench-password-1", "arbitrator", validate=False))
        client = Client()
        headers = {"Authorization": f"Bearer {token}"}

        def get():
            res = client.get(f"/api/v1/refunds/{case.pk}", headers=headers)
            assert res.status_code == 200, res.content

        for _ in range(20):
            get()
        with CaptureQueriesContext(connection) as q:
            get()
        kinds = collections.Counter(" ".join(s["sql"].split()[:4])[:70] for s in q.captured_queries)
        print(f"GET /refunds/{{id}}: {len(q.captured_queries)} statements")
        for k, n in kinds.most_common():
            print(f"   {n} × {k}")
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            get()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{args.requests} requests, no profiler: {wall / args.requests * 1000:.2f} ms wall, "
            f"{cpu / args.requests * 1000:.2f} ms CPU each"
        )
        if not args.cprofile:
            return
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.requests):
            get()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
