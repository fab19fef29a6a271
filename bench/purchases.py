"""Purchases per second: POST /api/v1/orders (buy one card key: wallet → escrow, a stock item,
the snapshot, the events, the escrow timer) against a real `kameng serve --workers N`; then the
same transaction as hand-written SQL in one process on one connection — the database's own
limit for it — and the ratio of the two.

    .venv/bin/python bench/purchases.py --db postgres   # or --db sqlite
"""

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

from _common import BenchDatabase, Server, fmt, load, machine, make_market, purchase_job


def http_purchases(db, market, args) -> dict:
    server = Server(db, workers=args.workers, threads=args.threads)
    listing = str(market["listing"].pk)
    tokens = market["buyer_tokens"]

    def buy(i):
        return purchase_job(server.port, listing, tokens[i % len(tokens)])

    try:
        load(server.port, [buy(i) for i in range(args.warmup)], args.concurrency)
        profiler = None
        if args.profile:
            pids = server.worker_pids()
            profiler = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--format",
                    "speedscope",
                    "-o",
                    args.profile,
                    "--pid",
                    str(pids[0]),
                    "--rate",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        result = load(server.port, [buy(i) for i in range(args.requests)], args.concurrency)
        if profiler:
            profiler.send_signal(2)
            profiler.wait(timeout=60)
    finally:
        server.stop()
    return result


RAW_PG = {
    "listing": "SELECT l.id, l.price, l.version, l.status, s.status, s.owner_id, s.id FROM catalog_listing l "
    "JOIN catalog_shop s ON s.id = l.shop_id WHERE l.id = %s",
    "version": "SELECT id, data::text, sha256 FROM catalog_listingversion WHERE listing_id = %s AND version = %s",
    "order": "INSERT INTO orders_order (buyer_id, shop_id, listing_id, listing_version_id, snapshot, snapshot_sha256, "
    "quantity, amount, deposit_amount, balance_due, refunded_amount, status, escrow_status, "
    "special_terms_accepted, topup_target, created_at) VALUES (%s, %s, %s, %s, %s, %s, 1, %s, 0, 0, 0, "
    "'paid', 'held', false, '', %s) RETURNING id",
    "escrow": "INSERT INTO ledger_account (code, kind, balance) VALUES (%s, 'escrow', 0)",
    "lock": "SELECT id, code, balance FROM ledger_account WHERE code IN (%s, %s) ORDER BY code FOR UPDATE",
    "entry": "INSERT INTO ledger_journalentry (idempotency_key, kind, memo, order_id, actor, created_at) "
    "VALUES (%s, 'purchase', %s, %s, %s, %s) RETURNING id",
    "postings": "INSERT INTO ledger_posting (entry_id, account_id, amount) VALUES (%s, %s, %s), (%s, %s, %s)",
    # Both balances in one statement, as ledger.post writes an entry's balances (it had two UPDATEs).
    "balance": "UPDATE ledger_account SET balance = balance + CASE id WHEN %s THEN %s WHEN %s THEN %s END "
    "WHERE id IN (%s, %s)",
    "event": "INSERT INTO orders_orderevent (order_id, type, actor_id, actor_role, data, at) VALUES (%s, %s, %s, %s, %s, %s)",
    "stock": "SELECT id FROM catalog_stockitem WHERE listing_id = %s AND order_id IS NULL ORDER BY id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED",
    "take": "UPDATE catalog_stockitem SET order_id = %s, delivered_at = %s WHERE id = %s AND order_id IS NULL",
    # The number rides on the delivery's update, as the application's purchase now does (it had its own UPDATE).
    "deliver": "UPDATE orders_order SET number = %s, status = 'delivered', delivered_at = %s, after_sale_until = %s, "
    "release_at = %s WHERE id = %s",
    "timer": "INSERT INTO timers_timer (kind, target, due_at, status, attempts, last_error, created_at) "
    "VALUES ('order.release_escrow', %s, %s, 'pending', 0, '', %s)",
}


_ORDER_COLUMNS = (
    "buyer_id, shop_id, listing_id, listing_version_id, snapshot, snapshot_sha256, quantity, amount, deposit_amount, "
    "balance_due, refunded_amount, status, escrow_status, special_terms_accepted, topup_target, created_at"
)


def order_insert() -> tuple[str, list]:
    """RAW_PG["order"] plus every column the order model has grown since (pay_with, …), with its default:
    the same row the application writes, whichever commit's schema the database has."""
    from django.db import connection

    from kameng.orders.models import Order

    named = {c.strip() for c in _ORDER_COLUMNS.split(",")} | {"id", "number"}
    extra = [f for f in Order._meta.concrete_fields if f.column not in named]
    if not extra:
        return RAW_PG["order"], []
    sql = (
        RAW_PG["order"]
        .replace(", created_at) VALUES", ", created_at, " + ", ".join(f.column for f in extra) + ") VALUES")
        .replace("%s) RETURNING", "%s" + ", %s" * len(extra) + ") RETURNING")
    )
    return sql, [f.get_db_prep_save(f.get_default(), connection) for f in extra]


def raw_purchase(cur, listing_id, buyer_id, buyer_name, now):
    """The purchase, statement by statement, as a careful hand-written transaction would do it."""
    cur.execute(RAW_PG["listing"], [listing_id])
    _, price, version, _, _, _, shop_id = cur.fetchone()
    cur.execute(RAW_PG["version"], [listing_id, version])
    version_id, data, sha = cur.fetchone()
    sql, defaults = order_insert()
    cur.execute(sql, [buyer_id, shop_id, listing_id, version_id, data, sha, price, now, *defaults])
    order_id = cur.fetchone()[0]
    wallet, escrow = f"wallet:user:{buyer_id}", f"escrow:order:{order_id}"
    cur.execute(RAW_PG["escrow"], [escrow])
    cur.execute(RAW_PG["lock"], [wallet, escrow])
    accounts = {code: (pk, balance) for pk, code, balance in cur.fetchall()}
    if accounts[wallet][1] < price:
        raise RuntimeError("insufficient funds")
    cur.execute(RAW_PG["entry"], [f"purchase:{order_id}", f"订单 {order_id}", order_id, buyer_name, now])
    entry_id = cur.fetchone()[0]
    cur.execute(RAW_PG["postings"], [entry_id, accounts[wallet][0], -price, entry_id, accounts[escrow][0], price])
    wallet_id, escrow_id = accounts[wallet][0], accounts[escrow][0]
    cur.execute(RAW_PG["balance"], [wallet_id, -price, escrow_id, price, wallet_id, escrow_id])
    cur.execute(RAW_PG["event"], [order_id, "paid", buyer_id, "buyer", json.dumps({"amount": price}), now])
    cur.execute(RAW_PG["stock"], [listing_id])
    stock_id = cur.fetchone()[0]
    cur.execute(RAW_PG["take"], [order_id, now, stock_id])
    release = now + timedelta(minutes=1440)
    number = f"KM{now:%Y%m%d}{order_id:08d}"
    cur.execute(RAW_PG["deliver"], [number, now, now + timedelta(days=7), release, order_id])
    cur.execute(RAW_PG["event"], [order_id, "delivered", None, "system", "{}", now])
    cur.execute(RAW_PG["timer"], [f"order:{order_id}", release, now])


def raw_sql_purchases(db, market, count: int) -> dict:
    from django.utils import timezone

    from kameng.accounts.models import User

    buyers = list(User.objects.filter(role="buyer").values_list("pk", "username"))
    listing_id = market["listing"].pk
    if db.backend == "postgres":
        import psycopg

        conn = psycopg.connect(db.env["KAMENG_DATABASE_URL"])
    else:
        conn = sqlite3.connect(db.data_dir / "kameng.sqlite3", isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        buyer_id, name = buyers[i % len(buyers)]
        t0 = time.perf_counter()
        now = timezone.now()
        if db.backend == "postgres":
            with conn.transaction(), conn.cursor() as cur:
                raw_purchase(cur, listing_id, buyer_id, name, now)
        else:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            raw_purchase(SqliteCursor(cur), listing_id, buyer_id, name, now)
            cur.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    conn.close()
    from _common import percentiles

    return {"count": count, "failures": 0, "seconds": wall, "per_second": count / wall, **percentiles(latencies)}


class SqliteCursor:
    """psycopg-style SQL (%s, FOR UPDATE, ::text) on sqlite3: the same statements minus row locks,
    which SQLite does not have (BEGIN IMMEDIATE takes the database's write lock instead)."""

    def __init__(self, cur):
        self.cur = cur

    def execute(self, sql, params):
        sql = (
            sql.replace("%s", "?")
            .replace(" FOR UPDATE SKIP LOCKED", "")
            .replace(" FOR UPDATE", "")
            .replace("data::text", "data")
            .replace("false", "0")
        )
        params = [p.isoformat(" ") if hasattr(p, "isoformat") else p for p in params]
        self.cur.execute(sql, params)

    def fetchone(self):
        return self.cur.fetchone()

    def fetchall(self):
        return self.cur.fetchall()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--raw", type=int, default=5000, help="raw-SQL purchases")
    parser.add_argument("--profile", default="", help="write a py-spy speedscope profile of one web worker here")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, "kameng_bench_purchases", keep=args.keep)
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=args.concurrency, stock=args.warmup + args.requests + args.raw + 10)
        http = http_purchases(db, market, args)
        print(
            f"HTTP  {args.db} serve --workers {args.workers} --threads {args.threads}, {args.concurrency} clients: "
            f"{fmt(http)}"
        )
        if http["failures"]:
            print("  failures:", http["failure_sample"])
        raw = raw_sql_purchases(db, market, args.raw)
        print(f"RAW   {args.db} one process, one connection, same statements:            {fmt(raw)}")
        print(f"RATIO HTTP/raw = {http['per_second'] / raw['per_second']:.1%}")
        from kameng.ledger.services import check

        ledger = check()
        print(f"ledger check after the run: {'OK' if ledger.ok else ledger.problems[:3]} ({ledger.entries} entries)")
    finally:
        db.drop()


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    main()
