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
ledger check runs at the end. With `--sweepers 1,2` the build makes `--orders` and `--cases` per
round and moves the second round's release timers 72 h later, and its cases' deadlines (their
timers, reminders and `merchant_respond_by`) 120 h later: after the merchant deadlines the clock
moves on and two sweepers sweep the second round's releases, then its cases' 24 h reminders, then
its merchant deadlines (with their 2 h reminders, as in the first round).

On PostgreSQL most orders and cases are copies made in bulk SQL of a few bought or opened through
the services (`clone_orders`, `clone_cases`); one more of each, made through the service after the
copies, is compared with a copy row by row (`same_rows`, `same_case_rows`; the copied case's evidence
chain is verified too), and the bench stops if they differ. The `analyse_case` job (the
arbitrator's assist; the sweep never reads it) is not run over the copied cases.
"""

import argparse
import gc
import math
import re
import subprocess
import sys
import time
from datetime import datetime
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
    releases come from many merchants; one shop puts every release on one merchant's wallet and debt).

    On PostgreSQL only the first lcm(buyers, shops) orders are bought through the purchase service; the
    rest are copies of them made in bulk SQL (`clone_orders`: the rows the purchase writes, for a new
    order id) and checked against one more order bought through the service (`same_rows`). The
    cases are opened through the service on the last `cases` orders, as before."""
    from _common import make_market

    from kameng.accounts.services import user_for_token
    from kameng.orders.services import purchase

    shops = max(1, shops)
    per_shop = (orders + cases) // shops + 10
    market = make_market(buyers=8, stock=per_shop + 1)
    listings = [market["listing"], *shop_listings(shops, per_shop + 1)]
    buyers = [user_for_token(token) for token in market["buyer_tokens"]]
    total = orders + cases
    bought = total
    from django.db import connection

    if connection.vendor == "postgresql":
        bought = min(total, math.lcm(len(buyers), len(listings)))
    t0 = time.perf_counter()
    built = []
    for i in range(bought):
        order = purchase(acting_user=buyers[i % len(buyers)], listing_id=listings[i % len(listings)].pk)
        built.append(order.pk)
        if (i + 1) % 10_000 == 0:
            print(f"  {i + 1:,} orders in {time.perf_counter() - t0:.0f}s", flush=True)
    t1 = time.perf_counter()
    if bought < total:
        built += clone_orders(built, total - bought)
        probe = purchase(
            acting_user=buyers[0], listing_id=listings[0].pk
        )  # bought like order 0, compared with its copies
        copy = built[bought]
        problems = same_rows(probe.pk, copy)
        print(
            f"bought {bought:,} orders through the service in {t1 - t0:.0f}s, copied {total - bought:,} in bulk SQL "
            f"in {time.perf_counter() - t1:.0f}s; copy {copy} against order {probe.pk} bought now: "
            f"{problems or 'same rows'}",
            flush=True,
        )
        if problems:
            raise SystemExit("a copied order differs from a bought one")
    t2 = time.perf_counter()
    case_orders = built[orders:]
    if bought < total and cases > 2 * bought:
        build_cases(case_orders, bought)
    else:
        open_cases(case_orders)
    print(
        f"built {orders:,} delivered orders and {cases:,} open cases from {shops} shop(s) "
        f"in {time.perf_counter() - t0:.0f}s (cases {time.perf_counter() - t2:.0f}s)",
        flush=True,
    )
    sync_credit_facts()
    return built[:orders]


def sync_credit_facts() -> None:
    """The shops' credit facts of the built orders, read once as the day's first page view would have
    (every page that shows a shop's credit runs `trust.sync_if_behind`). The copies bypass every page:
    without this, the daily credit timer that falls due with the releases reads the whole build
    (~0.4 ms per order, ~16 s for 42,000) inside the releases' round."""
    from kameng.trust.services import sync

    t0 = time.perf_counter()
    shops = sync()
    print(f"credit facts of the build read (trust.sync, {len(shops)} shops) in {time.perf_counter() - t0:.1f}s")


def open_cases(order_ids: list[int]) -> None:
    from kameng.aftersales.services import open_case
    from kameng.orders.models import Order

    t0 = time.perf_counter()
    for k, order in enumerate(Order.objects.filter(pk__in=order_ids).select_related("buyer").order_by("pk")):
        open_case(
            acting_user=order.buyer,
            order_id=order.pk,
            reason="defective",
            description="激活码无效，提示错误代码 0x8007007B",
            amount=order.amount,
        )
        if (k + 1) % 1000 == 0:
            print(f"  {k + 1:,} cases in {time.perf_counter() - t0:.0f}s", flush=True)


def build_cases(order_ids: list[int], combos: int) -> None:
    """Cases on `order_ids` (PostgreSQL, copied orders whose k-th has the buyer and shop of the
    (k % `combos`)-th): the first `combos` opened through the service (templates), the rest but one
    copied from the template of their buyer and listing in bulk (`clone_cases`); the one left is
    opened through the service after the copies and compared with a copy of the same template
    (`same_case_rows`); the bench stops if they differ or the copy's evidence chain does not verify."""
    from kameng.aftersales.models import RefundCase
    from kameng.evidence.verify import verify
    from kameng.orders.models import Order

    templates, probe_order, targets = order_ids[:combos], order_ids[combos], order_ids[combos + 1 :]
    t0 = time.perf_counter()
    open_cases(templates)
    t1 = time.perf_counter()
    combo = {
        pk: (buyer, listing)
        for pk, buyer, listing in Order.objects.filter(pk__in=order_ids).values_list("pk", "buyer_id", "listing_id")
    }
    template_of = {
        combo[order]: pk
        for pk, order in RefundCase.objects.filter(order_id__in=templates).values_list("pk", "order_id")
    }
    pairs = [(order, template_of[combo[order]]) for order in targets]
    copies = clone_cases(pairs)
    t2 = time.perf_counter()
    open_cases([probe_order])
    probe = RefundCase.objects.get(order_id=probe_order).pk
    copy = next(
        case for case, (order, tmpl) in zip(copies, pairs, strict=True) if tmpl == template_of[combo[probe_order]]
    )
    problems = same_case_rows(probe, copy)
    chain = verify(copy)
    print(
        f"opened {len(templates) + 1:,} cases through the service in {t1 - t0 + time.perf_counter() - t2:.0f}s, "
        f"copied {len(copies):,} in bulk SQL in {t2 - t1:.0f}s; copy {copy} against case {probe} opened now: "
        f"{problems or 'same rows'}; its evidence chain: {'verifies' if chain.ok else chain.problems}",
        flush=True,
    )
    if problems or not chain.ok:
        raise SystemExit("a copied case differs from one opened through the service")


CASE_CHUNK = 2_000


def clone_cases(pairs: list[tuple[int, int]]) -> list[int]:
    """For each (order, template case), a copy of the case on that order under a new id (PostgreSQL);
    the order has the template's buyer, shop and listing, and no case yet. Returns the new ids.

    Each copy gets what `aftersales.services.open_case` writes (see CASE_CLONE_SQL): the case row
    (its deadline), the `opened` event, its timers (the merchant deadline, its reminder and the
    notify reminders, targets `case:<id>` and `case:<id>:<hours>`), the merchant's notice, the
    order's escrow freeze (the order row, its `escrow_frozen` event, its release timer cancelled),
    the shop's credit fact; the casecounts triggers add their rows themselves. The three system
    evidence texts are the template's with the order number replaced, appended through
    `evidence.services.append_texts` (its chain, the texts' rows, anchors and EvidenceExtract rows)
    per copy in the chunk's transaction. Then each shop's stored credit is recounted
    (`trust.services.refresh_shop`, what the opening's `trust.refresh_shop` job does after its
    commit; its backing timer is not copied). Not run over the copies: the `analyse_case` job (the
    arbitrator's assist, a background job the sweep's handlers never read): they have no CaseAnalysis."""
    from django.db import connection, transaction

    from kameng.aftersales.models import RefundCase
    from kameng.clock.services import now
    from kameng.evidence.models import Evidence
    from kameng.evidence.services import append_texts
    from kameng.trust.services import refresh_shop

    texts: dict[int, list] = {}  # template case → its system evidence: (category, filename, text, at)
    for item in Evidence.objects.filter(case_id__in={tmpl for _, tmpl in pairs}).order_by("case_id", "seq"):
        with item.open() as fh:
            texts.setdefault(item.case_id, []).append(
                (item.category, item.filename, fh.read().decode("utf-8"), item.uploaded_at)
            )
    sql = case_clone_sql()
    made: list[int] = []
    for start in range(0, len(pairs), CASE_CHUNK):
        chunk = pairs[start : start + CASE_CHUNK]
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "SELECT nextval(pg_get_serial_sequence('aftersales_refundcase', 'id')) FROM generate_series(1, %s)",
                [len(chunk)],
            )
            ids = [row[0] for row in c.fetchall()]
            c.execute(
                "CREATE TEMP TABLE case_map (new_id bigint PRIMARY KEY, tmpl bigint, order_id bigint) ON COMMIT DROP"
            )
            c.execute(
                "INSERT INTO case_map SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])",
                [ids, [tmpl for _, tmpl in chunk], [order for order, _ in chunk]],
            )
            c.execute(sql)
            c.execute("SELECT new_id, tmpl, old_number, number FROM case_num ORDER BY new_id")
            for new_id, tmpl, old_number, number in c.fetchall():
                items = texts[tmpl]
                append_texts(
                    RefundCase(pk=new_id),
                    [
                        (cat, name.replace(old_number, number), text.replace(old_number, number))
                        for cat, name, text, _ in items
                    ],
                    now=items[0][3],
                    first=True,
                )
        made += ids
    at = now()
    for shop in sorted(set(RefundCase.objects.filter(pk__in=made).values_list("shop_id", flat=True))):
        refresh_shop(shop, at)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return made


def case_clone_sql() -> str:
    """CASE_CLONE_SQL with the column lists of the models as they are (a new column is copied too)."""
    from kameng.aftersales.models import CaseEvent, Notification, RefundCase
    from kameng.orders.models import Order, OrderEvent
    from kameng.trust.models import CreditFact

    def cols(model, alias: str, given: dict[str, str], skip: tuple = ("id",)) -> tuple[str, str]:
        names = [f.column for f in model._meta.concrete_fields if f.column not in skip or f.column in given]
        return ", ".join(names), ", ".join(given.get(n, f"{alias}.{n}") for n in names)

    case_cols, case_vals = cols(RefundCase, "c", {"id": "n.new_id", "order_id": "n.order_id"})
    event_cols, event_vals = cols(CaseEvent, "e", {"case_id": "n.new_id"})
    oevent_cols, oevent_vals = cols(OrderEvent, "e", {"order_id": "n.order_id"})
    fact_cols, fact_vals = cols(CreditFact, "f", {"key": "regexp_replace(f.key, '^case:\\d+', 'case:' || n.new_id)"})
    note_cols, note_vals = cols(
        Notification,
        "x",
        {
            "case_id": "n.new_id",
            "text": "replace(x.text, n.old_number, n.number)",
            "params": "replace(x.params::text, n.old_number, n.number)::jsonb"
            " || CASE WHEN x.params ? 'case' THEN jsonb_build_object('case', n.new_id) ELSE '{}' END",
        },
    )
    order_set = ", ".join(
        f"{f.column} = o.{f.column}" for f in Order._meta.concrete_fields if f.column not in ("id", "number")
    )
    return CASE_CLONE_SQL.format(**locals())


# A copy's rows per template row: the template case's order (`tmpl_order`) is a copy of the same
# bought order as the copy's, so its row after the freeze is the copy's but for the id and number.
CASE_CLONE_SQL = """
CREATE TEMP TABLE case_num ON COMMIT DROP AS
  SELECT m.new_id, m.tmpl, m.order_id, c.order_id AS tmpl_order, c.created_at AS opened_at,
         o.number AS old_number, t.number AS number
  FROM case_map m JOIN aftersales_refundcase c ON c.id = m.tmpl
  JOIN orders_order o ON o.id = c.order_id JOIN orders_order t ON t.id = m.order_id;
INSERT INTO aftersales_refundcase ({case_cols})
  SELECT {case_vals} FROM case_num n JOIN aftersales_refundcase c ON c.id = n.tmpl ORDER BY n.new_id;
INSERT INTO aftersales_caseevent ({event_cols})
  SELECT {event_vals} FROM case_num n JOIN aftersales_caseevent e ON e.case_id = n.tmpl ORDER BY n.new_id, e.id;
INSERT INTO trust_creditfact ({fact_cols})
  SELECT {fact_vals} FROM case_num n JOIN trust_creditfact f ON f.key = 'case:' || n.tmpl ORDER BY n.new_id, f.id;
INSERT INTO orders_orderevent ({oevent_cols})
  SELECT {oevent_vals} FROM case_num n JOIN orders_orderevent e ON e.order_id = n.tmpl_order AND e.at >= n.opened_at
  ORDER BY n.new_id, e.id;
UPDATE orders_order t SET {order_set} FROM case_num n JOIN orders_order o ON o.id = n.tmpl_order WHERE t.id = n.order_id;
UPDATE timers_timer t SET status = s.status, ran_at = s.ran_at
  FROM case_num n JOIN timers_timer s ON s.target = 'order:' || n.tmpl_order
  WHERE t.target = 'order:' || n.order_id AND t.kind = s.kind;
INSERT INTO timers_timer (kind, target, due_at, status, attempts, last_error, created_at, ran_at)
  SELECT t.kind, regexp_replace(t.target, '^case:\\d+', 'case:' || n.new_id), t.due_at, t.status, t.attempts,
    t.last_error, t.created_at, t.ran_at
  FROM case_num n JOIN timers_timer t ON t.target LIKE 'case:%' AND split_part(t.target, ':', 2) = n.tmpl::text
  ORDER BY n.new_id, t.id;
INSERT INTO aftersales_notification ({note_cols})
  SELECT {note_vals} FROM case_num n JOIN aftersales_notification x ON x.case_id = n.tmpl ORDER BY n.new_id, x.id;
"""


def case_rows(case_id: int) -> dict:
    """Every row the opening wrote for this case, with its ids, the order number and the instants
    (from the case's) taken out, for `same_case_rows`: the case's own and its order's freeze (the
    order row, its instants from the purchase's; its events since the opening; its timers' states;
    its other rows are the purchase's, `order_rows`). The evidence items are compared by their text; the chain and anchors
    are `evidence.verify`'s to check."""
    from django.utils.timezone import localtime

    from kameng.aftersales.models import CaseEvent, Notification, RefundCase
    from kameng.evidence.models import ChainAnchor, Evidence
    from kameng.orders.models import Order, OrderEvent
    from kameng.timers.models import Timer
    from kameng.trust.models import CreditFact

    case = RefundCase.objects.select_related("order").get(pk=case_id)
    at, number = case.created_at, case.order.number

    def strip_ids(value: str):
        if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", value):
            return datetime.fromisoformat(value)  # a notice's deadline, as its params keep it
        return re.sub(f"^case:{case_id}(:|$)", r"case:<id>\1", value.replace(number, "<number>"))

    plain, rows = _normaliser(at, strip_ids)

    def since(value, start):  # the order's own instants, from its purchase
        return ("+", (value - start).total_seconds()) if hasattr(value, "tzinfo") else value

    def text(item) -> str:
        with item.open() as fh:
            return fh.read().decode("utf-8")

    target = f"case:{case_id}"
    evidence = Evidence.objects.filter(case_id=case_id).order_by("seq")
    order = Order.objects.filter(pk=case.order_id).values()[0]
    return {
        "case": rows(RefundCase.objects.filter(pk=case_id), "order_id"),
        "events": rows(CaseEvent.objects.filter(case_id=case_id), "case_id"),
        # created_at: the notify reminders read the clock themselves, a moment after the opening's instant
        "timers": rows(
            Timer.objects.filter(target=target) | Timer.objects.filter(target__startswith=f"{target}:"), "created_at"
        ),
        "notices": [
            # the text shows the deadline in minutes (the params keep it exactly): the copy's is its template's
            {
                **n,
                "text": re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "<due>", n["text"]),
                "params": {**n["params"], "case": n["params"].get("case") == case_id},
            }
            for n in rows(Notification.objects.filter(case_id=case_id), "case_id")
        ],
        "facts": rows(CreditFact.objects.filter(key=target)),
        "evidence": rows(evidence, "case_id", "file", "text", "sha256", "prev", "chain"),  # texts: below
        # the transaction record shows the escrow freeze at the opening's instant, to the second
        "texts": [plain(text(item).replace(f"{localtime(at):%Y-%m-%d %H:%M:%S}", "<opened>")) for item in evidence],
        "anchors": rows(ChainAnchor.objects.filter(case_id=case_id), "case_id", "head", "mac"),
        "order": {k: since(v, case.order.created_at) for k, v in order.items() if k not in ("id", "number")},
        "order_events": rows(OrderEvent.objects.filter(order_id=case.order_id, at__gte=at), "order_id"),
        "order_timers": list(
            Timer.objects.filter(target=f"order:{case.order_id}").order_by("id").values("kind", "status")
        ),
    }


def same_case_rows(opened: int, copied: int) -> list[str]:
    """Where the rows of a copied case differ from those of one opened through the service."""
    a, b = case_rows(opened), case_rows(copied)
    return [f"{table}: {a[table]} != {b[table]}" for table in a if a[table] != b[table]]


CLONE_CHUNK = 20_000


def clone_orders(templates: list[int], count: int) -> list[int]:
    """`count` more orders, the k-th a copy of templates[k % len(templates)] under a new id (PostgreSQL).

    Each copy gets what the purchase service writes for a delivered card-key order bought from the
    wallet: the order row (its number from its id, as orders.services.new_order makes it), the
    paid and delivered events, the next unsold key of the listing (in id order, the listing's
    delivery order), the escrow account, the purchase entry with its two postings, the release
    timer and the merchant's new-order notice; the buyers' wallet balances are set to the sum of
    their postings, as the ledger keeps them. Ids come from the tables' sequences, so the rows are
    in the order a run of purchases would have written them. The bench has no webhook endpoints
    or notification channels (checked), so a purchase writes no deliveries or dispatches."""
    from django.db import connection, transaction

    from kameng.notify.models import Channel, Endpoint

    assert not Channel.objects.exists() and not Endpoint.objects.exists(), "copies would miss their dispatches"
    made: list[int] = []
    while len(made) < count:
        n = min(CLONE_CHUNK, count - len(made))
        tmpl = [templates[(len(made) + k) % len(templates)] for k in range(n)]
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id')) FROM generate_series(1, %s)", [n])
            ids = [row[0] for row in c.fetchall()]
            c.execute("CREATE TEMP TABLE clone_map (new_id bigint PRIMARY KEY, tmpl bigint) ON COMMIT DROP")
            c.execute("INSERT INTO clone_map SELECT * FROM unnest(%s::bigint[], %s::bigint[])", [ids, tmpl])
            c.execute(CLONE_SQL)
        made += ids
    with connection.cursor() as c:
        c.execute(
            "UPDATE ledger_account a SET balance = s.total FROM (SELECT account_id, SUM(amount) AS total "
            "FROM ledger_posting GROUP BY account_id) s WHERE a.id = s.account_id AND a.kind = 'wallet'"
        )
        c.execute("ANALYZE")
    return made


# One copy's rows per template row; the number of a copy: "KM" + the template's date + the new id, at least 8 digits.
CLONE_SQL = """
CREATE TEMP TABLE clone_num ON COMMIT DROP AS
  SELECT m.new_id, m.tmpl, o.number AS old_number,
         substr(o.number, 1, 10) || lpad(m.new_id::text, greatest(8, length(m.new_id::text)), '0') AS number
  FROM clone_map m JOIN orders_order o ON o.id = m.tmpl;
INSERT INTO orders_order (id, number, snapshot, snapshot_sha256, quantity, amount, deposit_amount, balance_due,
    refunded_amount, status, escrow_status, release_at, special_terms_accepted, topup_target, delivery_content,
    delivered_at, after_sale_until, completed_at, created_at, buyer_id, listing_id, listing_version_id, shop_id,
    pay_with, payment_expires_at, special_terms_confirmation, warranty_until)
  SELECT n.new_id, n.number, o.snapshot, o.snapshot_sha256, o.quantity, o.amount, o.deposit_amount, o.balance_due,
    o.refunded_amount, o.status, o.escrow_status, o.release_at, o.special_terms_accepted, o.topup_target,
    o.delivery_content, o.delivered_at, o.after_sale_until, o.completed_at, o.created_at, o.buyer_id, o.listing_id,
    o.listing_version_id, o.shop_id, o.pay_with, o.payment_expires_at, o.special_terms_confirmation, o.warranty_until
  FROM clone_num n JOIN orders_order o ON o.id = n.tmpl ORDER BY n.new_id;
INSERT INTO orders_orderevent (type, actor_role, data, at, actor_id, order_id)
  SELECT e.type, e.actor_role, e.data, e.at, e.actor_id, n.new_id
  FROM clone_num n JOIN orders_orderevent e ON e.order_id = n.tmpl ORDER BY n.new_id, e.id;
WITH need AS (
    SELECT n.new_id, o.listing_id, o.delivered_at, row_number() OVER (PARTITION BY o.listing_id ORDER BY n.new_id) AS k
    FROM clone_num n JOIN orders_order o ON o.id = n.tmpl),
  free AS (
    SELECT s.id, s.listing_id, row_number() OVER (PARTITION BY s.listing_id ORDER BY s.id) AS k
    FROM catalog_stockitem s
    WHERE s.order_id IS NULL AND s.voided_at IS NULL AND s.listing_id IN (SELECT listing_id FROM need))
UPDATE catalog_stockitem s SET order_id = need.new_id, delivered_at = need.delivered_at
  FROM need JOIN free ON free.listing_id = need.listing_id AND free.k = need.k WHERE s.id = free.id;
INSERT INTO ledger_account (code, kind, balance)
  SELECT 'escrow:order:' || n.new_id, a.kind, a.balance
  FROM clone_num n JOIN ledger_account a ON a.code = 'escrow:order:' || n.tmpl ORDER BY n.new_id;
CREATE TEMP TABLE clone_entry ON COMMIT DROP AS
  SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) AS new_entry, j.id AS old_entry, n.*
  FROM (SELECT * FROM clone_num ORDER BY new_id) n JOIN ledger_journalentry j ON j.order_id = n.tmpl;
INSERT INTO ledger_journalentry (id, idempotency_key, kind, memo, order_id, case_id, actor, created_at)
  SELECT ce.new_entry, split_part(j.idempotency_key, ':', 1) || ':' || ce.new_id, j.kind,
    replace(j.memo, ce.old_number, ce.number), ce.new_id, j.case_id, j.actor, j.created_at
  FROM clone_entry ce JOIN ledger_journalentry j ON j.id = ce.old_entry ORDER BY ce.new_entry;
INSERT INTO ledger_posting (amount, account_id, entry_id)
  SELECT p.amount, coalesce(escrow.id, p.account_id), ce.new_entry
  FROM clone_entry ce JOIN ledger_posting p ON p.entry_id = ce.old_entry
  JOIN ledger_account a ON a.id = p.account_id
  LEFT JOIN ledger_account escrow ON a.code = 'escrow:order:' || ce.tmpl AND escrow.code = 'escrow:order:' || ce.new_id
  ORDER BY ce.new_entry, p.id;
INSERT INTO timers_timer (kind, target, due_at, status, attempts, last_error, created_at, ran_at)
  SELECT t.kind, 'order:' || n.new_id, t.due_at, t.status, t.attempts, t.last_error, t.created_at, t.ran_at
  FROM clone_num n JOIN timers_timer t ON t.target = 'order:' || n.tmpl ORDER BY n.new_id, t.id;
INSERT INTO aftersales_notification (kind, text, created_at, read_at, user_id, case_id, params, template, delivered_to)
  SELECT x.kind, replace(x.text, n.old_number, n.number), x.created_at, x.read_at, x.user_id, x.case_id,
    replace(x.params::text, n.old_number, n.number)::jsonb, x.template, x.delivered_to
  FROM clone_num n JOIN aftersales_notification x ON x.kind = 'new_order' AND x.params ->> 'order' = n.old_number
  ORDER BY n.new_id, x.id;
"""


def _normaliser(at, strip_ids):
    """`plain(value)`: a row's value with its instants as seconds from `at` and its strings through
    `strip_ids` (which takes out ids and numbers; it may turn a string into an instant), nested dicts and
    lists too; `rows(queryset, *drop)`: every row in id order, plain, without its id and `drop`."""

    def plain(value):
        if isinstance(value, str):
            value = strip_ids(value)
        if hasattr(value, "tzinfo"):
            return ("+", (value - at).total_seconds())
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    def rows(qs, *drop):
        return [plain({k: v for k, v in row.items() if k not in ("id", *drop)}) for row in qs.order_by("id").values()]

    return plain, rows


def order_rows(order_id: int) -> dict:
    """Every row a purchase wrote for this order, with its id, number and instant taken out (for `same_rows`)."""
    from kameng.aftersales.models import Notification
    from kameng.catalog.models import StockItem
    from kameng.ledger.models import Account, JournalEntry, Posting
    from kameng.orders.models import Order, OrderEvent
    from kameng.timers.models import Timer

    order = Order.objects.get(pk=order_id)
    at, number = order.created_at, order.number

    def strip_ids(value: str) -> str:
        value = value.replace(number, "<number>").replace(f"order:{order_id}", "order:<id>")
        return re.sub(f":{order_id}$", ":<id>", value)

    plain, rows = _normaliser(at, strip_ids)

    entries = JournalEntry.objects.filter(order_id=order_id)
    return {
        "order": rows(Order.objects.filter(pk=order_id), "number"),
        "events": rows(OrderEvent.objects.filter(order_id=order_id), "order_id"),
        "stock": rows(StockItem.objects.filter(order_id=order_id), "order_id", "secret", "secret_hash", "created_at"),
        "escrow": rows(Account.objects.filter(code=f"escrow:order:{order_id}")),
        "entries": rows(entries, "order_id"),
        "postings": [
            (p["amount"], plain(p["account__code"]))
            for p in Posting.objects.filter(entry__in=entries).order_by("id").values("amount", "account__code")
        ],
        "timers": rows(Timer.objects.filter(target=f"order:{order_id}")),
        # created_at: the notice reads the clock itself, a moment after the purchase's own instant
        "notices": rows(Notification.objects.filter(kind="new_order", params__order=number), "created_at"),
    }


def same_rows(bought: int, copied: int) -> list[str]:
    """Where the rows of a copied order differ from those of one bought through the service."""
    a, b = order_rows(bought), order_rows(copied)
    return [f"{table}: {a[table]} != {b[table]}" for table in a if a[table] != b[table]]


def due_by_kind() -> dict[str, int]:
    from django.db.models import Count

    from kameng.clock.services import now
    from kameng.timers.models import Timer

    rows = Timer.objects.filter(status="pending", due_at__lte=now()).values("kind").annotate(n=Count("id"))
    return {row["kind"]: row["n"] for row in rows}


def order_updates() -> tuple[int, int] | None:
    """PostgreSQL: (row updates, of them HOT) of orders_order so far (pg_stat_user_tables)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'orders_order'")
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else None


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

    gc.freeze()  # as `kameng worker` does before it sweeps
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
    parser.add_argument(
        "--name", default="kameng_bench_sweep", help="the PostgreSQL database (default kameng_bench_sweep)"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--sweeper", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweeper:
        import django

        django.setup()
        sweeper_main()
        return {}

    print(f"machine: {machine()}")
    db = BenchDatabase(args.db, args.name, keep=args.keep)
    db.env["KAMENG_TEST_CLOCK"] = "1"  # the sweepers and this process read one moved clock
    try:
        db.kameng("init")
        db.use_here()
        rounds = [int(n) for n in str(args.sweepers).split(",")]
        built = build(args.orders * len(rounds), args.cases * len(rounds), args.shops)
        from datetime import timedelta

        from django.db.models import F

        from kameng.aftersales.lifecycle import MERCHANT_TIMER, REMINDER_TIMER
        from kameng.aftersales.models import RefundCase
        from kameng.clock.services import advance
        from kameng.notify.listeners import DEADLINE_TIMER as MERCHANT_REMINDER
        from kameng.orders.lifecycle import RELEASE_TIMER
        from kameng.timers.models import Timer

        def later(kind: str, targets: list[str], by: timedelta) -> None:
            for start in range(0, len(targets), 20_000):  # PostgreSQL takes at most 65,535 parameters a statement
                Timer.objects.filter(kind=kind, target__in=targets[start : start + 20_000]).update(
                    due_at=F("due_at") + by
                )

        # Later rounds: releases fall due 72 h apart, after the first round's merchant deadlines; their
        # cases' deadlines after the last release round, 48 h apart (the 24 h reminders in a step of their own).
        steps = [("releases", 25, rounds[0]), ("merchant deadlines", 49, rounds[0])]
        cases = list(RefundCase.objects.order_by("pk").values_list("pk", flat=True))
        for k in range(1, len(rounds)):
            ids = built[k * args.orders : (k + 1) * args.orders]
            later(RELEASE_TIMER, [f"order:{i}" for i in ids], timedelta(hours=72 * k))
            steps.append((f"releases, round {k + 1}", 25 + 72 * k, rounds[k]))
        for k in range(1, len(rounds)):
            shift = timedelta(hours=72 * (len(rounds) - 1) + 48 * k)
            ids = cases[k * args.cases : (k + 1) * args.cases]
            for kind in (MERCHANT_TIMER, REMINDER_TIMER):
                later(kind, [f"case:{i}" for i in ids], shift)
            later(MERCHANT_REMINDER, [f"case:{i}:{h}" for i in ids for h in (24, 2)], shift)
            for start in range(0, len(ids), 20_000):
                RefundCase.objects.filter(pk__in=ids[start : start + 20_000]).update(
                    merchant_respond_by=F("merchant_respond_by") + shift
                )
            at = shift.total_seconds() // 3600
            steps.append((f"24 h reminders, round {k + 1}", 25 + at, rounds[k]))
            steps.append((f"merchant deadlines, round {k + 1}", 49 + at, rounds[k]))
        results, clock = {}, 0.0
        for label, at, sweepers in steps:
            advance((at - clock) * 3600)
            clock = at
            due = due_by_kind()
            updates = order_updates()
            result = sweep_with(db, sweepers)
            results[f"{label} ({sweepers})"] = result
            hot = ""
            if updates is not None and (after := order_updates()) is not None:
                result["order_updates"], result["order_hot_updates"] = after[0] - updates[0], after[1] - updates[1]
                hot = f" (orders_order: {result['order_updates']:,} row updates, {result['order_hot_updates']:,} HOT)"
            print(
                f"{label}: due {due}; {sweepers} sweeper(s) ran {result['ran']:,} timers in "
                f"{result['seconds']:.1f}s: {result['per_second']:,.0f}/s{hot}",
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
