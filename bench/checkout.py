"""A direct-checkout purchase (直接支付 through 易支付) beside a wallet purchase, in one run, against one
real `kameng serve --workers N`.

- wallet purchase: POST /api/v1/orders {listing} — wallet → escrow, a card key delivered (as
  bench/purchases.py measures it);
- direct checkout (epay): POST /api/v1/orders {listing, pay_with: "epay"} (`awaiting_payment`, the key
  reserved, the payment opened and its pay URL signed), then the aggregator's MD5-signed notification
  POSTed to /api/v1/payments/notify/epay (verified, booked gateway → wallet → escrow, the reserved
  key delivered) — one purchase is both requests, timed together.

The aggregator is tests/gateway_simulators.EpaySimulator on 127.0.0.1: it checks the signed pay URL
as the aggregator would and signs the notification its own way. The two kinds run in alternating
rounds (wallet, epay, wallet, epay, …) so a change in the machine's load falls on both alike; the
ratio epay/wallet is the figure to compare across runs. Every direct checkout is checked `delivered`
afterwards and the ledger checked.

    .venv/bin/python bench/checkout.py --db postgres   # or --db sqlite
"""

import argparse
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

from _common import ROOT, BenchDatabase, Server, fmt, load, machine, make_market, merged, purchase_job, request

sys.path.insert(0, str(ROOT / "tests"))
from gateway_simulators import EpaySimulator  # noqa: E402  (the same aggregator the tests pay through)


def checkout_job(port, listing, token, epay, lock, orders):
    def job(conn):
        status, order = request(
            "POST", port, "/api/v1/orders", {"listing": listing, "pay_with": "epay"}, token, conn=conn
        )
        if status != 201 or order["status"] != "awaiting_payment":
            return False
        with lock:  # the simulator numbers its trades; one buyer pays at a time there
            notification = epay.pay(order["payment"]["pay_url"])
        form = urlencode(notification).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, answer = request("POST", port, "/api/v1/payments/notify/epay", raw=form, headers=headers, conn=conn)
        orders.append(order["id"])
        return status == 200 and answer == b"success"

    return job


def statements(market, epay) -> None:
    """SQL statements per purchase of each kind, through Django's test client in this process (the full
    middleware and API stack, no network): a figure the machine's load does not change."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "epay": epay.env}
    client = Client()
    headers = {"Authorization": f"Bearer {market['buyer_tokens'][0]}"}
    listing = str(market["listing"].pk)

    def order(**extra):
        res = client.post(
            "/api/v1/orders", {"listing": listing, **extra}, content_type="application/json", headers=headers
        )
        assert res.status_code == 201, res.content
        return res.json()

    def notify(made):
        form = urlencode(epay.pay(made["payment"]["pay_url"]))
        res = client.post("/api/v1/payments/notify/epay", form, content_type="application/x-www-form-urlencoded")
        assert res.content == b"success", res.content

    for _ in range(3):  # warm: caches, the first account rows
        order()
        notify(order(pay_with="epay"))
    counts = {}
    with CaptureQueriesContext(connection) as queries:
        order()
    counts["wallet purchase"] = len(queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        made = order(pay_with="epay")
    counts["checkout POST /orders"] = len(queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        notify(made)
    counts["epay notification"] = len(queries.captured_queries)
    print("SQL statements: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000, help="purchases of each kind")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the purchases are split into")
    parser.add_argument("--warmup", type=int, default=50, help="purchases of each kind before measuring")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    epay = EpaySimulator(pid="1001", key="bench-epay-key")
    db = BenchDatabase(args.db, "kameng_bench_checkout", keep=args.keep)
    try:
        db.kameng("init")
        db.use_here()
        # One buyer per in-flight purchase and then some: a buyer may have 3 unpaid checkouts at once.
        buyers = args.concurrency * 4
        market = make_market(buyers=buyers, stock=2 * (args.warmup + args.requests) + 10)
        epay_env = {"KAMENG_EPAY_URL": epay.url, "KAMENG_EPAY_PID": epay.pid, "KAMENG_EPAY_KEY": epay.key}
        server = Server(db, workers=args.workers, threads=args.threads, extra_env=epay_env)
        listing, tokens = str(market["listing"].pk), market["buyer_tokens"]
        lock, orders = threading.Lock(), []
        n = 0

        def jobs(kind, count):
            nonlocal n
            made = []
            for _ in range(count):
                token = tokens[n % buyers]
                n += 1
                if kind == "wallet":
                    made.append(purchase_job(server.port, listing, token))
                else:
                    made.append(checkout_job(server.port, listing, token, epay, lock, orders))
            return made

        try:
            load(server.port, jobs("wallet", args.warmup) + jobs("epay", args.warmup), args.concurrency)
            results: dict[str, list] = {"wallet": [], "epay": []}
            per_round = max(1, args.requests // args.rounds)
            for _ in range(args.rounds):
                for kind in ("wallet", "epay"):
                    results[kind].append(load(server.port, jobs(kind, per_round), args.concurrency))
        finally:
            server.stop()
        wallet, direct = merged(results["wallet"]), merged(results["epay"])  # the rounds' rates and latencies
        shape = f"{args.db} serve --workers {args.workers} --threads {args.threads}, {args.concurrency} clients"
        print(f"serve: {shape}")
        print(f"WALLET  purchase (POST /orders):                              {fmt(wallet)}")
        print(f"EPAY    direct checkout (POST /orders pay_with=epay + notify): {fmt(direct)}")
        print(f"RATIO   epay/wallet purchases per second = {direct['per_second'] / wallet['per_second']:.1%}")
        for name, result in (("wallet", wallet), ("epay", direct)):
            if result["failures"]:
                print(f"  {name} failures:", result["failure_sample"])
        statements(market, epay)
        from kameng.ledger.services import check
        from kameng.orders.models import Order

        delivered = Order.objects.filter(pk__in=orders, status="delivered").count()
        print(f"direct checkouts delivered: {delivered} of {len(orders)}")
        ledger = check()
        print(f"ledger check after the run: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
    finally:
        epay.close()
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
