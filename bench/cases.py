"""Case page and arbitration queue latency (p50/p95/p99) with 1,000,000 refund cases and
10,000,000 case events in PostgreSQL, through HTTP against `kameng serve --workers 2`.

    .venv/bin/python bench/cases.py                 # fill kameng_bench, measure, drop it
    .venv/bin/python bench/cases.py --keep          # keep kameng_bench for exploring (drop it later:
                                                    #   psql -c 'DROP DATABASE kameng_bench')
    .venv/bin/python bench/cases.py --reuse --clients 8   # measure the kept database again, with 8
                                                    #   concurrent clients on the case page as well
    PYTHONPATH=<old checkout>/src .venv/bin/python bench/cases.py --reuse   # the same against old code

--clients N adds a run of N threads with keep-alive connections fetching random case pages as fast as
they can: requests/s, p50/p95/p99, and the CPU each side spent per request (the gunicorn workers',
the PostgreSQL backends' and this client's own, from /proc), so a client starving the server on a
small machine shows in the figures.

The generator makes one real order and case through the services (the template), then clones
them with INSERT … SELECT generate_series: 1,000 merchants with a shop and a listing each, 20,000
buyers, one delivered order per case, cases spread over every status (15% waiting for an
arbitrator, a fifth of those overdue) and ten events per case.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

from _common import BenchDatabase, Server, load, machine, make_market, percentiles, request

STATUS_BY_PERCENT = (  # mod(g, 100) below the bound → status, and the phase (aftersales.models.Phase) under it
    (70, "closed", "closed"),
    (80, "awaiting_merchant", "awaiting_merchant"),
    (85, "awaiting_buyer", "awaiting_buyer_rejected"),
    (95, "in_arbitration", "in_arbitration"),
    (98, "decided", "appeal_window"),
    (100, "in_appeal", "in_appeal"),
)


def columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [r[0] for r in cursor.fetchall()]


def clone(cursor, table: str, template_id: int, count: int, overrides: dict[str, str], chunk: int = 1_000_000):
    """INSERT `count` copies of row `template_id`, columns in `overrides` computed from g (1-based)."""
    cols = columns(cursor, table)
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    first_id = cursor.fetchone()[0] + 1
    for start in range(1, count + 1, chunk):
        end = min(count, start + chunk - 1)
        t0 = time.perf_counter()
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {table} t, "
            f"generate_series(%s::bigint, %s::bigint) AS g WHERE t.id = %s",
            [start, end, template_id],
        )
        if count >= chunk:
            print(f"    {table}: {end:,}/{count:,} ({time.perf_counter() - t0:.1f}s)", flush=True)
    cursor.execute(f"SELECT MIN(id), MAX(id), COUNT(*) FROM {table} WHERE id >= %s", [first_id])
    lo, hi, n = cursor.fetchone()
    assert n == count and hi - lo + 1 == count, (table, lo, hi, n)  # contiguous ids: g ↔ id
    return lo


def generate(n_cases: int, events_per_case: int, merchants: int, buyers: int) -> dict:
    from django.db import connection

    from kameng.accounts.services import create_user, issue_token, user_for_token
    from kameng.aftersales.services import open_case
    from kameng.orders.services import purchase

    market = make_market(buyers=1, stock=5, price=30000)
    buyer = user_for_token(market["buyer_tokens"][0])
    order = purchase(acting_user=buyer, listing_id=market["listing"].pk)
    case = open_case(
        acting_user=buyer, order_id=order.pk, reason="defective", description="激活码无效", amount=order.amount
    )
    arbitrator = create_user("bench-arbitrator", "bench-password-1", "arbitrator", validate=False)
    arb_token = issue_token(arbitrator)
    merchant_token = market["merchant_token"]
    t_all = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM catalog_listingversion WHERE listing_id = %s", [market["listing"].pk])
        version_id = cur.fetchone()[0]
        cur.execute("SELECT id FROM aftersales_caseevent WHERE case_id = %s ORDER BY id LIMIT 1", [case.pk])
        event_id = cur.fetchone()[0]
        print(
            f"  cloning: {merchants:,} merchants/shops/listings, {buyers:,} buyers, {n_cases:,} orders and cases, "
            f"{n_cases * events_per_case:,} events",
            flush=True,
        )
        m0 = clone(cur, "accounts_user", market["merchant"].pk, merchants, {"username": "'bench-m-' || g"})
        s0 = clone(
            cur,
            "catalog_shop",
            market["listing"].shop_id,
            merchants,
            {"owner_id": f"{m0} + g - 1", "name": "'店铺' || g"},
        )
        l0 = clone(cur, "catalog_listing", market["listing"].pk, merchants, {"shop_id": f"{s0} + g - 1"})
        v0 = clone(cur, "catalog_listingversion", version_id, merchants, {"listing_id": f"{l0} + g - 1"})
        b0 = clone(cur, "accounts_user", buyer.pk, buyers, {"username": "'bench-b-' || g"})
        pick = lambda base, n: f"{base} + mod(g, {n})"  # noqa: E731
        t0 = time.perf_counter()
        o0 = clone(
            cur,
            "orders_order",
            order.pk,
            n_cases,
            {
                "buyer_id": pick(b0, buyers),
                "shop_id": pick(s0, merchants),
                "listing_id": pick(l0, merchants),
                "listing_version_id": pick(v0, merchants),
                "number": "'KB' || lpad(g::text, 10, '0')",
                "escrow_status": "'frozen'",
                "created_at": f"now() - ({n_cases} - g) * interval '20 seconds'",
            },
        )
        print(f"  orders: {time.perf_counter() - t0:.1f}s", flush=True)
        status = (
            "CASE " + " ".join(f"WHEN mod(g, 100) < {bound} THEN '{s}'" for bound, s, _ in STATUS_BY_PERCENT) + " END"
        )
        phase = (
            "CASE " + " ".join(f"WHEN mod(g, 100) < {bound} THEN '{p}'" for bound, _, p in STATUS_BY_PERCENT) + " END"
        )
        decision = (
            "jsonb_build_object('outcome', 'refund_partial', 'amount', 10000, 'rationale', '部分退款', "
            f"'arbitrator', '{arbitrator.pk}', 'decided_at', now()::text, 'final', false)"
        )
        t0 = time.perf_counter()
        c0 = clone(
            cur,
            "aftersales_refundcase",
            case.pk,
            n_cases,
            {
                "order_id": f"{o0} + g - 1",
                "buyer_id": pick(b0, buyers),
                "shop_id": pick(s0, merchants),
                "status": status,
                "phase": phase,
                "created_at": f"now() - ({n_cases} - g) * interval '20 seconds'",
                "decide_by": "CASE WHEN mod(g, 100) >= 85 AND mod(g, 100) < 95 OR mod(g, 100) >= 98 "
                "THEN now() + (mod(g, 7200) - 1440) * interval '1 minute' END",
                "merchant_respond_by": "CASE WHEN mod(g, 100) >= 70 AND mod(g, 100) < 80 THEN now() + interval '1 day' END",
                "decision": f"CASE WHEN mod(g, 100) >= 95 THEN {decision} END",
                "first_arbitrator_id": f"CASE WHEN mod(g, 100) >= 95 THEN {arbitrator.pk} END",
                "appeal": "CASE WHEN mod(g, 100) >= 98 THEN jsonb_build_object('by', 'merchant', 'reason', '不服', "
                "'at', now()::text) END",
                "appeal_by": "CASE WHEN mod(g, 100) >= 95 AND mod(g, 100) < 98 THEN now() + interval '7 days' END",
                "resolution": "CASE WHEN mod(g, 100) < 70 THEN 'refund_full' END",
                "closed_at": "CASE WHEN mod(g, 100) < 70 THEN now() END",
            },
        )
        print(f"  cases: {time.perf_counter() - t0:.1f}s", flush=True)
        t0 = time.perf_counter()
        clone(
            cur,
            "aftersales_caseevent",
            event_id,
            n_cases * events_per_case,
            {
                "case_id": f"{c0} + (g - 1) / {events_per_case}",
                "type": "(ARRAY['opened','evidence_added','message','offered','rejected','escalated','claimed',"
                "'reminded','evidence_added','noted'])[1 + mod(g, 10)]",
                "at": f"now() - ({n_cases * events_per_case} - g) * interval '2 seconds'",
            },
        )
        print(f"  events: {time.perf_counter() - t0:.1f}s", flush=True)
        t0 = time.perf_counter()
        cur.execute("VACUUM ANALYZE") if connection.connection.autocommit else cur.execute("ANALYZE")
        print(f"  analyze: {time.perf_counter() - t0:.1f}s", flush=True)
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cur.fetchone()[0]
    print(f"generated in {time.perf_counter() - t_all:.0f}s; database size {size}", flush=True)
    return {"arb_token": arb_token, "merchant_token": merchant_token, "first_case": c0, "cases": n_cases}


def existing() -> dict:
    from kameng.accounts.models import User
    from kameng.accounts.services import issue_token
    from kameng.aftersales.models import RefundCase

    first = (
        RefundCase.objects.filter(buyer__username__startswith="bench-b-").order_by("id").values_list("id", flat=True)[0]
    )
    return {
        "arb_token": issue_token(User.objects.get(username="bench-arbitrator")),
        "merchant_token": issue_token(User.objects.get(username="bench-merchant")),
        "first_case": first,
        "cases": RefundCase.objects.filter(id__gte=first).count(),
    }


def measure(server: Server, path_for, token: str, count: int) -> dict:
    """`count` sequential GETs on one keep-alive connection; latencies and the CPU per request the
    web workers and the PostgreSQL backends spent (load-independent, unlike the latencies)."""
    import http.client

    workers = server.worker_pids()
    before_web, before_db = cpu_seconds(workers), cpu_seconds(backend_pids())
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    times, bad = [], 0
    for i in range(count):
        t0 = time.perf_counter()
        status, body = request("GET", server.port, path_for(i), token=token, conn=conn)
        times.append(time.perf_counter() - t0)
        bad += status != 200
    conn.close()
    after_web, after_db = cpu_seconds(workers), cpu_seconds(backend_pids())
    return {
        "count": count,
        "non_200": bad,
        **percentiles(times),
        "web_cpu_ms": spent(after_web, before_web) * 1000 / count,
        "db_cpu_ms": spent(after_db, before_db) * 1000 / count,
    }


def spent(after: dict[int, float], before: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each process (all its threads) from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def backend_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return [r[0] for r in cur.fetchall()]


def concurrent(server: Server, path_for, token: str, count: int, clients: int) -> dict:
    """`count` GETs from `clients` threads; the CPU the web workers, the database and the client spent."""
    workers = server.worker_pids()
    before_web, before_db = cpu_seconds(workers), cpu_seconds(backend_pids())
    before_client = os.times()
    headers = {"Authorization": f"Bearer {token}"}

    def job(i):
        def call(conn):
            conn.request("GET", path_for(i), headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status == 200

        return call

    result = load(server.port, [job(i) for i in range(count)], clients)
    after_client = os.times()
    after_web, after_db = cpu_seconds(workers), cpu_seconds(backend_pids())
    result["web_cpu_ms"] = spent(after_web, before_web) * 1000 / result["count"]
    result["db_cpu_ms"] = spent(after_db, before_db) * 1000 / result["count"]
    result["client_cpu_ms"] = (
        (after_client.user - before_client.user + after_client.system - before_client.system) * 1000 / result["count"]
    )
    return result


def show(name: str, r: dict) -> None:
    print(
        f"  {name:<44} n={r['count']:<5} p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms  "
        f"p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  CPU/req web {r['web_cpu_ms']:5.2f} + db "
        f"{r['db_cpu_ms']:5.2f} ms" + (f"  NON-200: {r['non_200']}" if r["non_200"] else "")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--buyers", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per web worker")
    parser.add_argument("--clients", type=int, default=0, help="also run N concurrent clients on the case page")
    parser.add_argument(
        "--concurrent-requests", type=int, default=4000, help="case pages fetched by the concurrent clients"
    )
    parser.add_argument("--metrics-requests", type=int, default=200)
    parser.add_argument("--name", default="kameng_bench", help="the PostgreSQL database (default kameng_bench)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure (and keep) a database kept by an earlier --keep run"
    )
    args = parser.parse_args()

    print(f"machine: {machine()}")
    db = BenchDatabase("postgres", args.name, keep=args.keep or args.reuse, reuse=args.reuse)
    try:
        db.use_here()
        if args.reuse:
            db.kameng("init")  # migrates a database kept before newer migrations (a no-op with old code)
            data = existing()
        else:
            db.kameng("init")
            data = generate(args.cases, args.events_per_case, args.merchants, args.buyers)
        server = Server(db, workers=args.workers, threads=args.threads)
        rng = random.Random(8)
        try:
            first, n = data["first_case"], data["cases"]
            for _ in range(50):  # warm both workers
                request("GET", server.port, f"/api/v1/refunds/{first + rng.randrange(n)}", token=data["arb_token"])
                request("GET", server.port, "/api/v1/arbitration/queue", token=data["arb_token"])
                request("GET", server.port, "/metrics")
            print(f"HTTP against kameng serve --workers {args.workers}, one client, sequential requests:")
            show(
                "GET /refunds/{random of 1M} (arbitrator)",
                measure(
                    server,
                    lambda i: f"/api/v1/refunds/{first + rng.randrange(n)}",
                    data["arb_token"],
                    args.requests,
                ),
            )
            show(
                "GET /arbitration/queue (50 earliest)",
                measure(server, lambda i: "/api/v1/arbitration/queue", data["arb_token"], args.requests),
            )
            show(
                "GET /arbitration/queue?limit=20",
                measure(server, lambda i: "/api/v1/arbitration/queue?limit=20", data["arb_token"], args.requests),
            )
            show(
                "GET /refunds (merchant of the template shop)",
                measure(server, lambda i: "/api/v1/refunds", data["merchant_token"], args.requests // 4),
            )
            show(
                f"GET /metrics (open cases of {n:,})",
                measure(server, lambda i: "/metrics", None, args.metrics_requests),
            )
            if args.clients:
                r = concurrent(
                    server,
                    lambda i: f"/api/v1/refunds/{first + rng.randrange(n)}",
                    data["arb_token"],
                    args.concurrent_requests,
                    args.clients,
                )
                print(
                    f"HTTP against kameng serve --workers {args.workers} --threads {args.threads}, "
                    f"{args.clients} concurrent clients (threads, keep-alive), load avg {os.getloadavg()[0]:.2f} after:"
                )
                print(
                    f"  GET /refunds/{{random}}  {r['per_second']:.1f} requests/s  n={r['count']}  "
                    f"p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  "
                    f"failures {r['failures']}"
                )
                print(
                    f"  CPU per request: web workers {r['web_cpu_ms']:.2f} ms, PostgreSQL backends "
                    f"{r['db_cpu_ms']:.2f} ms, this client {r['client_cpu_ms']:.2f} ms"
                )
        finally:
            server.stop()
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
