"""Timer sweep with real work: escrow releases and merchant deadlines swept by the real handlers.

    .venv/bin/python bench/sweep.py --db postgres --orders 100000 --cases 10000 --sweepers 1
    .venv/bin/python bench/sweep.py --db postgres --orders 100000 --cases 10000 --sweepers 2
    .venv/bin/python bench/sweep.py --db postgres --orders 20000 --cases 2000 --sweepers 1,2   # one build, two rounds
    .venv/bin/python bench/sweep.py --db postgres --orders 2000 --cases 200 --sweepers 1,2     # quick
    .venv/bin/python bench/sweep.py --db postgres --orders 2000 --cases 200 --sweepers 1,2 --shops 1   # one merchant
    PYTHONPATH=<old checkout>/src .venv/bin/python bench/sweep.py …                       # "before"

Builds `--orders` delivered card-key orders through the purchase service, bought round-robin from
`--shops` shops (default 50; each order arms its escrow release timer, due after the listing's 24 h
verification window) and opens `--cases` refund cases on other orders (each arms the merchant's
48 h deadline). The shared test clock then moves 25 h:
the release timers are due, and `--sweepers` processes sweep them with the real handler (lock the
order, release escrow to the merchant in the ledger, events). The clock moves 24 h more: the
merchant deadlines are due, and the sweep refunds each buyer in full (merchant silence). The
ledger check runs at the end. With `--sweepers 1,2` the build makes `--orders` per round and moves
the second round's release timers 72 h later: after the merchant deadlines, the clock moves on and
two sweepers sweep the second round.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import PYTHON, BenchDatabase, machine


def shop_listings(shops: int, stock: int) -> list:
    """`shops` - 1 more merchants, each with a card-key listing of `stock` keys, as make_market's own."""
    import hashlib

    from kameng.accounts.services import create_user
    from kameng.catalog.models import StockItem
    from kameng.catalog.services import create_listing, create_shop
    from kameng.clock.services import now

    listings = []
    for k in range(1, shops):
        merchant = create_user(f"bench-merchant-{k}", "bench-password-1", "merchant", validate=False)
        create_shop(acting_user=merchant, name=f"压测小店 {k}", description="benchmark")
        item = create_listing(
            acting_user=merchant,
            title="Windows 11 专业版激活码",
            category="software_license",
            kind="card_key",
            price=1000,
            description="正版授权",
            promises=["24小时内激活"],
            after_sale_days=7,
            verification_minutes=1440,
            no_reason_refund=False,
        )
        at = now()
        StockItem.objects.bulk_create(
            [
                StockItem(
                    listing=item,
                    secret=f"KEY-{k}-{i:08d}",
                    secret_hash=hashlib.sha256(f"KEY-{k}-{i:08d}".encode()).hexdigest(),
                    created_at=at,
                )
                for i in range(stock)
            ],
            batch_size=5000,
        )
        listings.append(item)
    return listings


def build(orders: int, cases: int, shops: int = 1) -> list[int]:
    """`orders` delivered orders and `cases` open cases, bought round-robin from `shops` shops (a busy day's
    releases come from many merchants; one shop puts every release on one merchant's wallet and debt)."""
    from _common import make_market

    from kameng.accounts.services import user_for_token
    from kameng.aftersales.services import open_case
    from kameng.orders.services import purchase

    shops = max(1, shops)
    per_shop = (orders + cases) // shops + 10
    market = make_market(buyers=8, stock=per_shop)
    listings = [market["listing"], *shop_listings(shops, per_shop)]
    buyers = [user_for_token(token) for token in market["buyer_tokens"]]
    t0 = time.perf_counter()
    built = []
    for i in range(orders + cases):
        order = purchase(acting_user=buyers[i % len(buyers)], listing_id=listings[i % len(listings)].pk)
        built.append(order.pk)
        if i >= orders:
            open_case(
                acting_user=order.buyer,
                order_id=order.pk,
                reason="defective",
                description="激活码无效，提示错误代码 0x8007007B",
                amount=order.amount,
            )
        if (i + 1) % 10_000 == 0:
            print(f"  {i + 1:,} orders in {time.perf_counter() - t0:.0f}s", flush=True)
    print(
        f"built {orders:,} delivered orders and {cases:,} open cases from {shops} shop(s) "
        f"in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return built[:orders]


def due_by_kind() -> dict[str, int]:
    from django.db.models import Count

    from kameng.clock.services import now
    from kameng.timers.models import Timer

    rows = Timer.objects.filter(status="pending", due_at__lte=now()).values("kind").annotate(n=Count("id"))
    return {row["kind"]: row["n"] for row in rows}


def sweep_with(db: BenchDatabase, sweepers: int) -> dict:
    """Run `sweepers` processes until nothing is due; the rate is over the slowest one's sweeping time."""
    from django.db import connections

    connections.close_all()
    env = dict(db.env, DJANGO_SETTINGS_MODULE="kameng.settings")
    procs = [
        subprocess.Popen(
            [PYTHON, str(Path(__file__).resolve()), "--sweeper"], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(sweepers)
    ]
    outputs = [p.communicate()[0].split() for p in procs]
    ran = sum(int(o[0]) for o in outputs)
    busy = max(float(o[1]) for o in outputs)
    return {"ran": ran, "seconds": busy, "per_second": ran / busy if busy else 0.0}


def sweeper_main() -> None:
    """--sweeper: sweep until nothing is due, printing `timers_run seconds`."""
    from kameng.timers.services import sweep

    t0 = time.perf_counter()
    ran = 0
    while done := sweep():
        ran += done
    print(f"{ran} {time.perf_counter() - t0:.3f}", flush=True)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--orders", type=int, default=100_000, help="delivered orders whose escrow release falls due")
    parser.add_argument("--cases", type=int, default=10_000, help="open cases whose merchant deadline falls due")
    parser.add_argument(
        "--sweepers",
        default="1",
        help="sweeping processes running at once; a list (1,2) sweeps one round of orders each",
    )
    parser.add_argument("--shops", type=int, default=50, help="shops the orders are bought from, round-robin")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--sweeper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweeper:
        import django

        django.setup()
        sweeper_main()
        return {}

    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_sweep", keep=args.keep)
    db.env["KAMENG_TEST_CLOCK"] = "1"  # the sweepers and this process read one moved clock
    try:
        db.kameng("init")
        db.use_here()
        rounds = [int(n) for n in str(args.sweepers).split(",")]
        built = build(args.orders * len(rounds), args.cases, args.shops)
        from datetime import timedelta

        from django.db.models import F

        from kameng.clock.services import advance
        from kameng.orders.lifecycle import RELEASE_TIMER
        from kameng.timers.models import Timer

        for k in range(1, len(rounds)):  # later rounds fall due 72 h apart, after the merchant deadlines
            ids = built[k * args.orders : (k + 1) * args.orders]
            Timer.objects.filter(kind=RELEASE_TIMER, target__in=[f"order:{i}" for i in ids]).update(
                due_at=F("due_at") + timedelta(hours=72 * k)
            )
        steps = [("releases", 25, rounds[0]), ("merchant deadlines", 24, rounds[0])]
        steps += [(f"releases, round {k + 1}", 72 if k > 1 else 48, n) for k, n in enumerate(rounds) if k]
        results = {}
        for label, hours, sweepers in steps:
            advance(hours * 3600)
            due = due_by_kind()
            result = sweep_with(db, sweepers)
            results[f"{label} ({sweepers})"] = result
            print(
                f"{label}: due {due}; {sweepers} sweeper(s) ran {result['ran']:,} timers in "
                f"{result['seconds']:.1f}s: {result['per_second']:,.0f}/s",
                flush=True,
            )
        from kameng.ledger.services import check

        ledger = check()
        print(f"ledger check after the sweeps: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
        results["ledger_ok"] = ledger.ok
        return results
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
