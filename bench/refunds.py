"""Refund lifecycles per second through HTTP: the buyer opens a case (POST /refunds, which also
freezes escrow and files the listing snapshot, the transaction record and the chat log as
evidence) and the merchant accepts it (POST /refunds/{id}/accept: money back, case closed).

    .venv/bin/python bench/refunds.py --db postgres   # or --db sqlite

--rounds N: the lifecycles in N rounds, each after a round of purchases (POST /orders, as
bench/purchases.py buys) on the same server, and the two rates side by side: lifecycles per second
over purchases per second, round by round and over all rounds. A machine whose speed swings from
minute to minute (seen here: up to 2x) moves both rates of a round together, so the ratio holds
where two separate runs' rates do not.
"""

import argparse
import statistics
import sys
from pathlib import Path

from _common import BenchDatabase, Server, fmt, load, machine, make_market, merged, purchase_job, request


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lifecycles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=0, help="alternate the lifecycles with purchases, in N rounds")
    parser.add_argument("--purchases", type=int, default=0, help="purchases per round (default: 3 per lifecycle)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    per_round = args.lifecycles // args.rounds if args.rounds else 0
    buys = (args.purchases or 3 * per_round) if args.rounds else 0

    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_refunds", keep=args.keep)
    try:
        db.kameng("init")
        db.use_here()
        warmup = 50
        market = make_market(buyers=args.concurrency, stock=args.lifecycles + warmup + (warmup + buys) * args.rounds)
        from kameng.accounts.services import user_for_token
        from kameng.orders.services import purchase

        buyers = [(token, user_for_token(token)) for token in market["buyer_tokens"]]
        orders = []
        for i in range(args.lifecycles + warmup):
            token, buyer = buyers[i % len(buyers)]
            order = purchase(acting_user=buyer, listing_id=market["listing"].pk)
            orders.append((token, order.pk, order.amount))
        print(f"{len(orders)} delivered orders ready")
        server = Server(db, workers=args.workers, threads=args.threads)

        def lifecycle(token, order_id, amount):
            def job(conn):
                status, case = request(
                    "POST",
                    server.port,
                    "/api/v1/refunds",
                    {
                        "order": str(order_id),
                        "reason": "defective",
                        "description": "激活码无效，提示错误代码 0x8007007B",
                        "amount": amount,
                    },
                    token,
                    conn=conn,
                )
                if status != 201:
                    return False
                status, closed = request(
                    "POST", server.port, f"/api/v1/refunds/{case['id']}/accept", {}, market["merchant_token"], conn=conn
                )
                return status == 200 and closed["status"] == "closed"

            return job

        listing = str(market["listing"].pk)

        def buy(i):
            return purchase_job(server.port, listing, buyers[i % len(buyers)][0])

        rounds = []
        try:
            load(server.port, [lifecycle(*o) for o in orders[:warmup]], args.concurrency)
            if args.rounds:
                load(server.port, [buy(i) for i in range(warmup)], args.concurrency)
                for n in range(args.rounds):
                    bought = load(server.port, [buy(i) for i in range(buys)], args.concurrency)
                    chunk = orders[warmup + n * per_round : warmup + (n + 1) * per_round]
                    cycled = load(server.port, [lifecycle(*o) for o in chunk], args.concurrency)
                    rounds.append((bought, cycled))
                result = merged([c for _b, c in rounds])
            else:
                result = load(server.port, [lifecycle(*o) for o in orders[warmup:]], args.concurrency)
        finally:
            server.stop()
        for n, (bought, cycled) in enumerate(rounds, 1):
            print(
                f"round {n}: purchases {bought['per_second']:.1f}/s ({bought['failures']} failed), lifecycles "
                f"{cycled['per_second']:.1f}/s p95 {cycled['p95_ms']:.1f} ms: "
                f"{cycled['per_second'] / bought['per_second']:.1%}"
            )
        if rounds:
            bought = merged([b for b, _c in rounds])
            print(
                f"HTTP  purchases in the same rounds, {args.concurrency} clients: {fmt(bought)}\n"
                f"RATIO lifecycles/purchases = {result['per_second'] / bought['per_second']:.1%} "
                f"(rounds: median {statistics.median(c['per_second'] / b['per_second'] for b, c in rounds):.1%})"
            )
        print(
            f"HTTP  {args.db} serve --workers {args.workers} --threads {args.threads}, {args.concurrency} clients, "
            f"open → accept: {fmt(result)}"
        )
        if result["failures"]:
            print("  failures:", result["failure_sample"])
        from kameng.ledger.services import check

        ledger = check()
        print(f"ledger check after the run: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
