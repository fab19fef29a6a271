"""Where a refund lifecycle's time goes inside one web process: the buyer's POST /refunds and the
merchant's POST /refunds/{id}/accept through Django's test client (the full middleware and API
stack, no network): statements of each, then a CPU profile (cProfile on process time) of N
lifecycles, and what the jobs queued after the commit cost.

    .venv/bin/python bench/profile_refund.py --db postgres --lifecycles 60
"""

import argparse
import collections
import contextlib
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from _common import BenchDatabase, backend_cpu, machine, make_market


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--lifecycles", type=int, default=60)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-cprofile", dest="cprofile", action="store_false", help="CPU times without the profiler")
    parser.add_argument("--show-sql", action="store_true", help="print every statement of the captured lifecycle")
    parser.add_argument("--save", help="write the raw cProfile stats to this file (for pstats callers/callees)")
    parser.add_argument(
        "--jobs-inline",
        action="store_true",
        help="run the queued jobs in the request's thread after its commit (JOBS_IN_BACKGROUND=False), so the "
        "profile sees them too; without it they run on the job thread, which the profile does not see",
    )
    parser.add_argument("--name", default="kameng_bench_profile_refund", help="the benchmark database's name")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, args.name)
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=1, stock=args.lifecycles + 10)
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from kameng.accounts.services import user_for_token
        from kameng.orders.services import purchase
        from kameng.timers import jobs

        buyer_token = market["buyer_tokens"][0]
        buyer = user_for_token(buyer_token)
        merchant_token = market["merchant_token"]
        orders = [purchase(acting_user=buyer, listing_id=market["listing"].pk) for _ in range(args.lifecycles + 3)]
        client = Client()
        if args.jobs_inline:
            settings.JOBS_IN_BACKGROUND = False

        def lifecycle(order, capture=False):
            body = {"order": str(order.pk), "reason": "defective", "description": "激活码无效", "amount": order.amount}
            # Only the captured lifecycle logs its statements: capturing swaps in Django's debug cursor,
            # which renders every statement's text with its parameters (~7% of a lifecycle's CPU).
            watch = (lambda: CaptureQueriesContext(connection)) if capture else contextlib.nullcontext
            with watch() as opened:
                res = client.post(
                    "/api/v1/refunds",
                    body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {buyer_token}"},
                )
            assert res.status_code == 201, res.content
            with watch() as accepted:
                res = client.post(
                    f"/api/v1/refunds/{res.json()['id']}/accept",
                    {},
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {merchant_token}"},
                )
            assert res.status_code == 200, res.content
            if capture:
                for label, q in (("POST /refunds", opened), ("POST /refunds/{id}/accept", accepted)):
                    kinds = collections.Counter(" ".join(s["sql"].split()[:3]).upper()[:60] for s in q.captured_queries)
                    print(f"{label}: {len(q.captured_queries)} statements")
                    print("   " + "; ".join(f"{k} ×{n}" for k, n in kinds.most_common(12)))
                    if args.show_sql:
                        for i, s in enumerate(q.captured_queries, 1):
                            print(f"   {i:3d}. {s['sql'][:220]}")

        lifecycle(orders[0])
        lifecycle(orders[1])
        lifecycle(orders[2], capture=True)
        jobs.drain()
        # thread_time: the profile measures this thread only (process_time would charge the job
        # thread's CPU to whatever this thread was running at the time)
        profiler = cProfile.Profile(time.thread_time)
        backend = backend_cpu(connection)
        cpu, wall, thread = time.process_time(), time.perf_counter(), time.thread_time()
        if args.cprofile:
            profiler.enable()
        for order in orders[3:]:
            lifecycle(order)
        profiler.disable()
        requests_cpu = time.thread_time() - thread
        backend_after = backend_cpu(connection)
        jobs.drain()  # the jobs queued after the commits (credit recount, evidence analysis) finish here
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = len(orders) - 3
        print(
            f"{n} lifecycles in one process: {wall / n * 1000:.0f} ms wall, {cpu / n * 1000:.1f} ms CPU each with the "
            f"jobs they queued, {requests_cpu / n * 1000:.1f} ms in the requests' thread"
            + (" (with cProfile)" if args.cprofile else "")
        )
        if backend is not None and backend_after is not None:
            print(f"  the requests' database backend: {(backend_after - backend) / n * 1000:.1f} ms CPU each")
        if args.save:
            profiler.dump_stats(args.save)
        if not args.cprofile:
            return
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
