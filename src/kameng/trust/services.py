"""Trust use cases: credit facts from orders, case events, chat and reviews; the stored
MerchantCredit and the sanctions it triggers; operator overrides; reviews.

How credit stays current without recomputing per request:
- every countable happening becomes one CreditFact (idempotent by key);
- `sync` reads orders, case events and messages past a stored cursor, adds their facts and
  refreshes only the shops that got new ones (a few indexed aggregates over that shop's facts);
- aftersales pushes each case event with `record_case_event(event)` (same path, same keys): its
  facts are stored in the event's transaction and the shop's stored credit is marked due
  (`refresh_due_at` = the event's time); the recount itself runs after the commit (the job
  `trust.refresh_shop`), with a timer of the same name as the durable fallback should the process
  die before the job runs. On PostgreSQL the mark never waits for the row (`record_facts`): when a
  recount or another case event holds it, the row is marked due just after the commit instead. So
  a stale credit is visible as due (but for that instant after a commit), every reader that decides
  (`current_credit`) recomputes a due row itself (without waiting: while case events or a recount
  hold the row, it counts the committed facts and shows that count unstored), and the staleness is
  bounded by the job's hold (SHOP_REFRESH_HOLD) and queue and, after a crash, by SHOP_REFRESH_DELAY
  plus one sweep; on a shop so busy that its case events hold the row without a break, a recount
  waits RECOUNT_LOCK_WAIT at most and its timer tries again SHOP_REFRESH_RETRY later (readers count
  the row themselves meanwhile);
- the daily timer refreshes rows whose 90-day window moved (`refresh_due_at`), and re-reads
  the cursors' last stretch so a row committed out of id order is never missed.
"""

import functools
import logging
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Avg, Count, F, Field, Min
from django.utils import translation

from kameng.accounts.models import Role, User
from kameng.aftersales.models import OPEN_STATUSES, CaseEvent, CaseStatus
from kameng.catalog.models import Shop
from kameng.clock.services import now as clock_now
from kameng.compiled import as_json_rows, insert_rows, many_rows, packed_rows
from kameng.errors import DomainError, Error
from kameng.orders.models import Message, Order
from kameng.policy.services import add_working_days, get_policy
from kameng.timers import jobs
from kameng.timers import services as timers
from kameng.timers.models import Timer

from . import rules
from .models import CreditFact, MerchantCredit, Review, SanctionEvent, SyncCursor

REFRESH_TIMER = "trust.refresh_credit"
REFRESH_TARGET = "platform"
SHOP_REFRESH = "trust.refresh_shop"  # the job and the timer that recount one shop after a case event
SHOP_REFRESH_DELAY = timedelta(seconds=30)  # the timer's lag behind the job it backs up
MARK_DUE = "trust.mark_due"  # the job that marks a row due after the commit of a case event it held up
# The embedded job waits this long, and the shop's case events in the meantime join it: one recount
# for a case opened and accepted within a second (it was one per event, 18% of a lifecycle's CPU).
SHOP_REFRESH_HOLD = 1.0
# A recount waits at most this long for the shop's credit row (PostgreSQL), then leaves the row due
# and its timer SHOP_REFRESH_RETRY later: see refresh_if_due.
RECOUNT_LOCK_WAIT = "1s"
SHOP_REFRESH_RETRY = timedelta(seconds=5)
BATCH = 2000
RESCAN = 1000  # ids re-read below each cursor by the daily timer
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock wait cut short by lock_timeout
log = logging.getLogger(__name__)
STATUSES = (rules.ACTIVE, rules.RESTRICTED, rules.SUSPENDED)


def _weights() -> dict:
    return get_policy().values.get("credit_weights") or {}


def _floors() -> dict:
    return get_policy().values.get("grade_floors") or {}


def _suspend_after() -> int:
    return int(get_policy().values.get("suspend_after_overturned_refusals") or rules.SUSPEND_AFTER_OVERTURNED)


# ---- facts from the source tables ------------------------------------------------------------


def _order_rows(after: int):
    rows = Order.objects.filter(pk__gt=after).order_by("pk").values("pk", "shop_id", "created_at", "snapshot__category")
    return [
        (
            r["pk"],
            [
                CreditFact(
                    shop_id=r["shop_id"],
                    kind="order",
                    at=r["created_at"],
                    category=r["snapshot__category"] or "",
                    key=f"order:{r['pk']}",
                )
            ],
        )
        for r in rows[:BATCH]
    ]


def _message_rows(after: int):
    rows = (
        Message.objects.filter(pk__gt=after)
        .order_by("pk")
        .values("pk", "flags", "author_id", "created_at", "order__shop_id", "order__shop__owner_id")
    )
    out = []
    for r in rows[:BATCH]:
        facts = []
        # Only the merchant's own messages count against the shop; a buyer's do not.
        if "off_platform_payment" in (r["flags"] or []) and r["author_id"] == r["order__shop__owner_id"]:
            facts.append(
                CreditFact(
                    shop_id=r["order__shop_id"], kind="off_platform", at=r["created_at"], key=f"off_platform:{r['pk']}"
                )
            )
        out.append((r["pk"], facts))
    return out


def _case_event_rows(after: int):
    events = CaseEvent.objects.filter(pk__gt=after).order_by("pk").select_related("case", "case__order")
    return [(event.pk, _facts_for_event(event)) for event in events[:BATCH]]


def _facts_for_event(event) -> list[CreditFact]:
    case = event.case
    category = (case.order.snapshot or {}).get("category", "")
    view = rules.CaseView(
        id=case.pk, created_at=case.created_at, rejected=bool(case.rejection_reason), category=category
    )
    ev = rules.EventView(
        id=event.pk,
        type=event.type,
        actor_role=event.actor_role,
        from_status=event.from_status,
        to_status=event.to_status,
        data=event.data or {},
        at=event.at,
    )
    decide_by = _decide_deadline(event) if event.type == "decide" else None
    return [
        CreditFact(
            shop_id=case.shop_id,
            kind=f["kind"],
            at=f["at"],
            value=f["value"],
            category=category,
            outcome=f["outcome"],
            key=f["key"],
        )
        for f in rules.case_event_facts(ev, view, decide_by=decide_by)
    ]


def _decide_deadline(event) -> datetime | None:
    """The decide_by in force when this decision was made: from the event that sent the case to
    arbitration (it records decide_by), or for an appeal the SLA counted from the appeal."""
    entered = (
        CaseEvent.objects.filter(case_id=event.case_id, pk__lt=event.pk, to_status__in=["in_arbitration", "in_appeal"])
        .exclude(from_status=F("to_status"))
        .order_by("-pk")
        .first()
    )
    if entered is None:
        return None
    if entered.data.get("decide_by"):
        return datetime.fromisoformat(entered.data["decide_by"])
    policy = get_policy()
    if event.case.fast_track:
        return entered.at + timedelta(hours=policy.fast_track_hours)
    return add_working_days(entered.at, policy.arbitration_working_days)


SOURCES = {"orders": _order_rows, "case_events": _case_event_rows, "messages": _message_rows}


def _source_max_ids() -> dict[str, int]:
    return {
        name: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        for name, model in (("orders", Order), ("case_events", CaseEvent), ("messages", Message))
    }


def _add_facts(facts: list[CreditFact]) -> set[int]:
    """Store the facts not stored yet; returns the shops that got new ones."""
    unique = {f.key: f for f in facts}
    if not unique:
        return set()
    existing = set(CreditFact.objects.filter(key__in=list(unique)).values_list("key", flat=True))
    fresh = [f for key, f in unique.items() if key not in existing]
    CreditFact.objects.bulk_create(fresh, ignore_conflicts=True)
    return {f.shop_id for f in fresh}


_FACT_COLUMNS = ("shop_id", "kind", "at", "value", "category", "outcome", "key")


def _insert_new_facts(facts: list[CreditFact]) -> list[CreditFact]:
    """`_add_facts` in one statement: INSERT … ON CONFLICT DO NOTHING RETURNING the keys of the rows it
    stored (a fact already stored is not returned), instead of a SELECT of the keys first; returns the
    facts stored, in order. Of facts sharing a key the first is the one stored, as when they come one
    event after another. The same rows; PostgreSQL and SQLite (3.35+) both return them."""
    unique: dict[str, CreditFact] = {}
    for fact in facts:
        unique.setdefault(fact.key, fact)
    if not unique:
        return []
    table = CreditFact._meta.db_table
    fields = [field for name in _FACT_COLUMNS if isinstance(field := CreditFact._meta.get_field(name), Field)]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        field.get_db_prep_save(getattr(fact, field.attname), connection) for fact in unique.values() for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
            f"VALUES {', '.join([row] * len(unique))} ON CONFLICT DO NOTHING RETURNING {quote('key')}",
            params,
        )
        stored = {key for (key,) in cursor.fetchall()}
    return [fact for key, fact in unique.items() if key in stored]


def _read_source(name: str, cursor: SyncCursor, now) -> set[int]:
    shops: set[int] = set()
    while True:
        rows = SOURCES[name](cursor.last_id)
        if not rows:
            break
        shops |= _add_facts([fact for _pk, facts in rows for fact in facts])
        cursor.last_id = rows[-1][0]
        if len(rows) < BATCH:
            break
    cursor.updated_at = now
    cursor.save()
    return shops


def _cursors(lock: bool) -> dict[str, SyncCursor]:
    for name in SOURCES:
        SyncCursor.objects.get_or_create(source=name)
    qs = SyncCursor.objects.filter(source__in=list(SOURCES))
    return {c.source: c for c in (qs.select_for_update() if lock else qs)}


def sync(now: datetime | None = None, *, rescan: int = 0) -> set[int]:
    """Read every source past its cursor into facts and refresh the shops that changed.

    `rescan` re-reads that many ids below each cursor first (idempotent), for rows that were
    committed after a later id had already been read.
    """
    now = now or clock_now()
    with transaction.atomic():
        cursors = _cursors(lock=True)
        shops: set[int] = set()
        for name, cursor in cursors.items():
            if rescan:
                back = SyncCursor(source=name, last_id=max(0, cursor.last_id - rescan))
                while back.last_id < cursor.last_id:
                    rows = SOURCES[name](back.last_id)
                    rows = [r for r in rows if r[0] <= cursor.last_id]
                    if not rows:
                        break
                    shops |= _add_facts([fact for _pk, facts in rows for fact in facts])
                    back.last_id = rows[-1][0]
            shops |= _read_source(name, cursor, now)
        for shop_id in sorted(shops):
            refresh_shop(shop_id, now)
        if shops:
            ensure_refresh_timer(now)
    return shops


def sync_if_behind(now: datetime | None = None) -> None:
    """The read paths' check: a handful of indexed lookups when nothing is new."""
    stored = dict(SyncCursor.objects.values_list("source", "last_id"))
    if any(latest > stored.get(name, 0) for name, latest in _source_max_ids().items()):
        sync(now)


def record_case_event(event) -> None:
    """Push hook for aftersales: call right after a CaseEvent is created, inside its transaction.

    Adds the event's facts and marks the shop's credit due; the recount (and the sanctions it
    triggers) runs once the transaction commits. The cursor sync reads the same event later and,
    finding its facts, does nothing more.
    """
    record_facts([(event.at, _facts_for_event(event))])


def record_case_events(events: list) -> None:
    """`record_case_event` for many events at once (a sweep's batch of deadlines), in event order."""
    record_facts([(event.at, _facts_for_event(event)) for event in events])


def record_facts(happenings: list[tuple[datetime, list[CreditFact]]]) -> None:
    """Store the facts of these happenings (each its moment and its facts, in order) that are not stored
    yet, and mark due the shops each happening gave new facts, as one by one: a shop's first mark makes
    its stored credit due from that moment (readers recompute a due row) and arms the timer
    `trust.refresh_shop` that backs up the job of that name (the recount after the commit); a later mark
    of the same shop finds it due already and arms one only while the shop has no stored row. Of facts
    sharing a key the first is the one stored.

    On PostgreSQL a case event never waits for the shop's credit row (every case event of one shop
    used to queue on it behind the first one's request): the row is taken FOR KEY SHARE, SKIP LOCKED,
    the mode that conflicts only with the recount's FOR UPDATE, so any number of case transactions hold
    it together, and a recount starting before they commit waits for them and counts their facts. A
    row found due stays so until they commit; a row not due is marked due unless another case
    transaction is marking it (SKIP LOCKED again). Two cases are left to just after the commit (the job
    `trust.mark_due`, one statement that holds nothing else, off the request), each with its backing
    timer armed in the transaction, so that a crash before it still recounts: a row a recount holds
    (that recount may have read the facts before this commit: the job waits for it and marks the row
    due again), and a row another case transaction is marking (in case that one rolls back). The
    facts, the marks, the read of which shops have a row and the timers are one statement
    (`_record_and_mark`). SQLite: the facts' INSERT, then `_mark_due_many` (its write lock serializes
    the rest)."""
    if not any(facts for _at, facts in happenings):
        return
    assert transaction.get_connection().in_atomic_block
    if connection.vendor == "postgresql":
        _record_and_mark(happenings)
        return
    facts = {id(fact): index for index, (_at, group) in enumerate(happenings) for fact in group}
    stored = _insert_new_facts([fact for _at, group in happenings for fact in group])
    by_happening: dict[int, dict[int, None]] = {}
    for fact in stored:
        by_happening.setdefault(facts[id(fact)], {})[fact.shop_id] = None
    _mark_due_many(
        [(shop_id, happenings[index][0]) for index in sorted(by_happening) for shop_id in by_happening[index]]
    )


def _mark_due_many(marks: list[tuple[int, datetime]]) -> None:
    """SQLite: the marks `record_facts` describes, one UPDATE of the rows not due by each shop's first
    mark, the shops with no stored row read, and their timers in one INSERT."""
    if not marks:
        return
    first = _first_marks(marks)
    marked = returned = _mark_rows_due(first)
    known = _known_credit_rows.get()
    unknown = set(first) - returned - (known or set())
    found = (
        set(MerchantCredit.objects.filter(shop_id__in=unknown).values_list("shop_id", flat=True)) if unknown else set()
    )
    if known is not None:
        known.update(found | returned)
    has_row = returned | found | (known or set())
    timers_armed, seen = [], set()
    for shop_id, now in marks:
        if (shop_id in marked and shop_id not in seen) or shop_id not in has_row:
            timers_armed.append(_backing_timer(shop_id, now))
        seen.add(shop_id)
    for shop_id, _now in marks:
        jobs.enqueue(SHOP_REFRESH, shop_id, hold=SHOP_REFRESH_HOLD)
    insert_rows(Timer, timers_armed)


def _backing_timer(shop_id: int, now: datetime) -> Timer:
    return Timer(kind=SHOP_REFRESH, target=_shop_target(shop_id), due_at=now + SHOP_REFRESH_DELAY, created_at=now)


def _first_marks(marks: list[tuple[int, datetime]]) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for shop_id, now in marks:
        first.setdefault(shop_id, now)
    return first


def _credit_table() -> str:
    return connection.ops.quote_name(MerchantCredit._meta.db_table)


def _shop_moments(first: dict[int, datetime]) -> tuple[str, list]:
    """A VALUES list of (shop id, moment) for the statements below, and its parameters."""
    return many_rows(
        ("bigint", "timestamptz"),
        [(shop_id, connection.ops.adapt_datetimefield_value(now)) for shop_id, now in first.items()],
    )


def _record_and_mark(happenings: list[tuple[datetime, list[CreditFact]]]) -> None:
    """PostgreSQL: `record_facts` in one statement (`_RECORD_AND_MARK`). Its rows: each fact (the first
    of its key) with its happening's number, and each candidate mark (a happening and a shop of its
    facts) with the backing timer it would arm, prepared as `insert_rows` prepares a Timer. It answers
    the marks made (those with a fact stored), each with whether its shop's row is left to after the
    commit and whether that waits for a recount."""
    facts: dict[str, tuple] = {}
    candidates: dict[tuple[int, int], tuple] = {}
    fact_fields, timer_fields = _record_fields()
    for index, (at, group) in enumerate(happenings):
        for fact in group:
            if fact.key not in facts:
                prepared = (f.get_db_prep_save(getattr(fact, f.attname), connection) for f in fact_fields)
                facts[fact.key] = (index, *prepared)
            if (index, fact.shop_id) not in candidates:
                timer = _backing_timer(fact.shop_id, at)
                candidates[index, fact.shop_id] = (
                    index,
                    fact.shop_id,
                    connection.ops.adapt_datetimefield_value(at),
                    *(f.get_db_prep_save(f.pre_save(timer, True), connection) for f in timer_fields),
                )
    fact_types, mark_types = _record_types()
    packed_facts = as_json_rows(list(facts.values()), fact_types)
    packed_marks = as_json_rows(list(candidates.values()), mark_types)
    assert packed_facts is not None and packed_marks is not None, "facts and timers hold JSON's values only"
    # The rows as two JSON parameters (`packed_rows`): the driver adapts two strings, not an array per column.
    params = [*packed_rows(fact_types, packed_facts)[1], *packed_rows(mark_types, packed_marks)[1]]
    with connection.cursor() as cursor:
        cursor.execute(_record_and_mark_statement(), params)
        made = cursor.fetchall()
    late = {shop_id: (happenings[index][0], wait) for index, shop_id, is_late, wait in made if is_late}
    if late:
        # Queued before the recounts: a recount that runs at once finds the row due.
        jobs.enqueue(MARK_DUE, [[shop_id, at.isoformat(), wait] for shop_id, (at, wait) in late.items()])
    for _index, shop_id, _late, _wait in made:
        jobs.enqueue(SHOP_REFRESH, shop_id, hold=SHOP_REFRESH_HOLD)


@functools.cache
def _record_fields() -> tuple[list[Field], list[Field]]:
    """The CreditFact columns `_record_and_mark` writes, and the Timer columns (all but the key)."""
    facts = [field for name in _FACT_COLUMNS if isinstance(field := CreditFact._meta.get_field(name), Field)]
    timer_pk = Timer._meta.pk
    timers = [field for field in Timer._meta.concrete_fields if field is not timer_pk and isinstance(field, Field)]
    return facts, timers


@functools.cache
def _record_types() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The column types of `_record_and_mark`'s two row sources: the facts (with their happening's
    number) and the candidate marks (number, shop, time, and the backing timer's columns)."""
    fact_fields, timer_fields = _record_fields()
    return (
        ("integer", *(str(f.db_type(connection)) for f in fact_fields)),
        ("integer", "bigint", "timestamptz", *(str(f.db_type(connection)) for f in timer_fields)),
    )


@functools.cache
def _record_and_mark_statement() -> str:
    """The statement of `_record_and_mark`, one text whatever the number of rows (each source's rows are
    one JSON parameter, `packed_rows`):
    - `f` stores the facts not stored yet; `mk` the marks they make (a happening and a shop with a
      fact stored), `fm` each shop's first;
    - `k` takes the rows of those shops that no recount holds FOR KEY SHARE (SKIP LOCKED), and `m`
      marks due the ones not due by the shop's first mark that no other case transaction is marking
      (FOR NO KEY UPDATE, SKIP LOCKED): as `_mark_rows_due` on SQLite;
    - `s`: per shop whether it has a stored row (a row `k` left out, which a plain read still sees, is
      one a recount holds: it is marked after the commit, waiting for that recount) and whether its
      mark is left to after the commit (a row found not due that another case transaction is marking);
    - `t` arms the backing timers: a shop's first mark when it was marked due or left to after the
      commit, and every mark of a shop with no stored row."""
    quote = connection.ops.quote_name
    fact_fields, timer_fields = _record_fields()
    fact_names = [str(f.column) for f in fact_fields]
    timer_names = [str(f.column) for f in timer_fields]
    fact_types, mark_types = _record_types()
    credit, facts, timer = _credit_table(), quote(CreditFact._meta.db_table), quote(Timer._meta.db_table)
    a_cols = ", ".join(["n", *(f"f_{name}" for name in fact_names)])
    w_cols = ", ".join(["n", "shop_id", "at", *(f"t_{name}" for name in timer_names)])
    key = quote("key")
    return (
        f"WITH a({a_cols}) AS ({packed_rows(fact_types, [])[0]}), w({w_cols}) AS ({packed_rows(mark_types, [])[0]}), "
        f"f AS (INSERT INTO {facts} ({', '.join(quote(n) for n in fact_names)}) "
        f"SELECT {', '.join(f'f_{n}' for n in fact_names)} FROM a ON CONFLICT DO NOTHING RETURNING {key}), "
        f"mk AS (SELECT w.* FROM w WHERE EXISTS (SELECT 1 FROM a JOIN f ON f.{key} = a.f_key "
        f"WHERE a.n = w.n AND a.f_shop_id = w.shop_id)), "
        f"fm AS (SELECT DISTINCT ON (shop_id) shop_id, at, n FROM mk ORDER BY shop_id, n), "
        f"k AS (SELECT c.shop_id, c.refresh_due_at <= fm.at AS due, fm.at "
        f"FROM {credit} c JOIN fm ON c.shop_id = fm.shop_id FOR KEY SHARE OF c SKIP LOCKED), "
        f"m AS (UPDATE {credit} c SET refresh_due_at = k.at FROM k WHERE c.shop_id = k.shop_id AND NOT k.due "
        f"AND c.shop_id IN (SELECT l.shop_id FROM {credit} l WHERE l.shop_id IN "
        f"(SELECT shop_id FROM k WHERE NOT due) FOR NO KEY UPDATE SKIP LOCKED) RETURNING c.shop_id), "
        f"s AS (SELECT fm.shop_id, fm.n, m.shop_id IS NOT NULL AS marked, "
        f"k.shop_id IS NULL AND EXISTS (SELECT 1 FROM {credit} h WHERE h.shop_id = fm.shop_id) AS held, "
        f"k.shop_id IS NOT NULL AND NOT k.due AND m.shop_id IS NULL AS passed, "
        f"k.shop_id IS NOT NULL OR EXISTS (SELECT 1 FROM {credit} h WHERE h.shop_id = fm.shop_id) AS has_row "
        f"FROM fm LEFT JOIN k ON k.shop_id = fm.shop_id LEFT JOIN m ON m.shop_id = fm.shop_id), "
        f"t AS (INSERT INTO {timer} ({', '.join(quote(n) for n in timer_names)}) "
        f"SELECT {', '.join(f'mk.t_{n}' for n in timer_names)} FROM mk JOIN s ON s.shop_id = mk.shop_id "
        f"WHERE NOT s.has_row OR (mk.n = s.n AND (s.marked OR s.held OR s.passed)) ORDER BY mk.n, mk.shop_id) "
        f"SELECT mk.n, mk.shop_id, s.held OR s.passed, s.held FROM mk JOIN s ON s.shop_id = mk.shop_id "
        f"ORDER BY mk.n, mk.shop_id"
    )


def mark_due_after_commit(late: list) -> None:
    """The job `trust.mark_due`, queued by case events that could not mark their shops' rows due in
    their transaction (`[shop id, ISO time, wait]` each): one UPDATE right after their commit, off the
    request (on the embedded pool it runs at once, the recounts are held). A row a recount held (`wait`)
    is updated whatever it shows, so the statement waits for that recount to commit and then makes the
    row due; another row only when it is still not due (the case transaction that was marking it
    rolled back). A lost job leaves the backing timers, which recount without asking
    (`refresh_if_due(force=True)`)."""
    table = _credit_table()
    rows, params = many_rows(
        ("bigint", "timestamptz", "boolean"),
        [
            (int(shop_id), connection.ops.adapt_datetimefield_value(datetime.fromisoformat(at)), bool(wait))
            for shop_id, at, wait in late
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} SET "refresh_due_at" = LEAST({table}."refresh_due_at", v.column2) FROM ({rows}) AS v '
            f'WHERE {table}."shop_id" = v.column1 AND (v.column3 OR {table}."refresh_due_at" > v.column2)',
            params,
        )


def _mark_rows_due(first: dict[int, datetime]) -> set[int]:
    """The first mark of each shop, in one UPDATE: the stored rows not due by then become due; their shops."""
    table, (rows, params) = _credit_table(), _shop_moments(first)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} SET "refresh_due_at" = v.column2 FROM ({rows}) AS v '
            f'WHERE {table}."shop_id" = v.column1 AND {table}."refresh_due_at" > v.column2 RETURNING "shop_id"',
            params,
        )
        return {shop_id for (shop_id,) in cursor.fetchall()}


# The shops a sweep's batch found a stored credit row for (see known_credit_rows): a row is never
# deleted, so within the batch's transaction it stays found.
_known_credit_rows: ContextVar[set[int] | None] = ContextVar("known_credit_rows", default=None)


@contextmanager
def known_credit_rows() -> Iterator[None]:
    """Within this block record_facts (SQLite) asks whether a shop has a stored credit row at most once per shop
    (a sweep's batch of case deadlines marks the same merchants due again and again)."""
    token = _known_credit_rows.set(set())
    try:
        yield
    finally:
        _known_credit_rows.reset(token)


def _shop_target(shop_id: int) -> str:
    return f"shop:{shop_id}"


def refresh_if_due(shop_id: int, now: datetime | None = None, *, force: bool = False) -> MerchantCredit | None:
    """The job (and the timer) behind `record_facts`: recount the shop when its credit is still due
    (one cheap read when an earlier job already counted these facts), and cancel the backing timers.
    Idempotent: running it twice, or after the timer, recounts at most once more.

    `force` (the timer): recount whether due or not. A backing timer still pending means no recount
    has counted its transaction's facts (a recount cancels the timers it finds before it reads the
    facts), and its row may not show it: the case event's after-commit mark did not run (a crash)."""
    now = now or clock_now()
    try:
        with transaction.atomic():
            if not force:
                due = MerchantCredit.objects.filter(shop_id=shop_id).values_list("refresh_due_at", flat=True).first()
                if due is not None and due > now:
                    return None
            with _lock_wait(RECOUNT_LOCK_WAIT):
                return refresh_shop(shop_id, now, cancel_timers=True)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
    # A busy shop: its case events hold the row FOR KEY SHARE one after another, and PostgreSQL lets a
    # newcomer in beside them while our FOR UPDATE waits, so the wait may never end (and it held a job
    # thread or the sweeper). The row stays due (readers count the facts themselves); the shop's timer,
    # rescheduled, tries again (a recount cancels it only once it got the row).
    log.info("credit recount of shop %s: its row stays busy; trying again in %s", shop_id, SHOP_REFRESH_RETRY)
    with transaction.atomic():  # a timer a sweeper holds is left to it, not waited for
        timers.schedule(SHOP_REFRESH, _shop_target(shop_id), now + SHOP_REFRESH_RETRY, now=now)
    return None


@contextmanager
def _lock_wait(limit: str) -> Iterator[None]:
    """PostgreSQL: within this block (inside a transaction) a lock wait longer than `limit` fails the
    statement (LockNotAvailable), unless the transaction set a bound of its own (a sweep's batch)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        if before == "0":
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [limit])
    yield  # on an error the caller's atomic block rolls back, and the setting with it
    if before == "0":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


# ---- the stored credit and the sanctions it triggers ----------------------------------------


def refresh_shop(shop_id: int, now: datetime, *, cancel_timers: bool = False, wait: bool = True) -> MerchantCredit:
    """Recount one shop's last 90 days from its facts, store the result, apply sanctions.
    `cancel_timers`: cancel the shop's pending backing timers (`record_facts`) once its row is locked,
    before the facts are read: every timer cancelled was committed with facts this recount reads.
    `wait=False` (a reader): when another transaction holds the shop or its stored row (case events
    of the shop being recorded hold it FOR KEY SHARE, one after another on a busy shop; or a recount),
    count the committed facts as they stand, and answer that count unstored, sanctions left to the
    recount that the holder leads to, instead of waiting for them."""
    with transaction.atomic():
        # FOR NO KEY UPDATE: a case transaction inserting a fact of this shop (its foreign key takes
        # FOR KEY SHARE on the shop) never waits for a recount, so it cannot hold the stored row below
        # while waiting for the shop (a deadlock with 8 racing case actions on PostgreSQL).
        shops = Shop.objects.select_for_update(no_key=True, skip_locked=not wait)
        shop = shops.get(pk=shop_id) if wait else shops.filter(pk=shop_id).first()
        # The stored row is locked before the facts are read: a case transaction that marked it (record_facts
        # holds it FOR KEY SHARE or FOR NO KEY UPDATE) has committed first, and its facts are counted
        # here; one that found it locked by this recount marks it due again after this commit.
        stored = MerchantCredit.objects.select_for_update(skip_locked=not wait).filter(shop_id=shop_id)
        record = stored.first() if shop is not None else None
        if shop is None or (record is None and not wait and MerchantCredit.objects.filter(shop_id=shop_id).exists()):
            return _count_unstored(shop_id, now)  # only without waiting: another transaction holds them
        record = record or MerchantCredit(shop=shop)
        if cancel_timers:
            timers.cancel(SHOP_REFRESH, _shop_target(shop_id))
        counted = _count(shop, record, now)
        inputs, result, behind, suspend_after = counted.inputs, counted.result, counted.behind, counted.suspend_after
        new_status, override_ends = rules.next_status(
            shop.status, record.sanction_target, override_baseline=record.override_baseline
        )
        if override_ends:
            record.override_baseline = None
        record.save()
        ensure_refresh_timer(now)  # the window moves even when nothing else happens
        if new_status != shop.status:
            rule = rules.sanction_rule(new_status, inputs.overturned_refusals, suspend_after=suspend_after)
            cases = tuple(sorted({c for ids in behind.values() for c in ids}))  # every case that cost points
            reason = rules.sanction_reason(
                result.grade,
                result.score,
                inputs.overturned_refusals,
                new_status,
                suspend_after=suspend_after,
                cases=cases,
            )
            _change_status(
                shop,
                new_status,
                source="auto",
                reason=reason,
                actor=None,
                record=record,
                now=now,
                rule=rule,
                cases=cases,
            )
    return record


def _count_unstored(shop_id: int, now: datetime) -> MerchantCredit:
    """The shop's credit from its committed facts, on a copy of its stored row (or a new one) not saved."""
    shop = Shop.objects.get(pk=shop_id)
    record = MerchantCredit.objects.filter(shop_id=shop_id).first() or MerchantCredit(shop=shop)
    _count(shop, record, now)
    return record


@dataclass(frozen=True)
class _Counted:
    inputs: rules.CreditInputs
    result: rules.CreditResult
    behind: dict[str, list[int]]
    suspend_after: int


def _count(shop: Shop, record: MerchantCredit, now: datetime) -> _Counted:
    """The shop's credit from its committed facts of the last 90 days, set on `record` (not saved)."""
    since = now - timedelta(days=rules.WINDOW_DAYS)
    facts = CreditFact.objects.filter(shop_id=shop.pk, at__gt=since)
    by_kind: dict[str, dict] = {
        row["kind"]: dict(row)
        for row in facts.values("kind").annotate(n=Count("id"), avg=Avg("value"), oldest=Min("at"))
    }
    count = lambda kind: by_kind.get(kind, {}).get("n", 0)  # noqa: E731
    responses = [v for v in facts.filter(kind="response").values_list("value", flat=True) if v is not None]
    rating = by_kind.get("rating")
    inputs = rules.CreditInputs(
        orders=count("order"),
        cases=count("case"),
        resolved=count("resolved"),
        merchant_faults=count("fault"),
        timeouts=count("timeout"),
        refunds=count("refund"),
        median_response_seconds=statistics.median(responses) if responses else None,
        tenure_days=max(0, (now - shop.created_at).days),
        rating_average=round(rating["avg"], 2) if rating else None,
        rating_count=count("rating"),
        off_platform=count("off_platform"),
        overturned_refusals=count("overturned"),
    )
    result = rules.credit_score(inputs, _weights(), _floors())
    behind = _cases_by_kind(facts)
    parts = [{**part, "cases": behind.get(rules.PART_FACTS.get(part["code"], ""), [])} for part in result.parts]
    suspend_after = _suspend_after()
    faults = sum(count(kind) for kind in rules.FAULT_KINDS)
    target = rules.sanction_target(result.grade, inputs.overturned_refusals, faults=faults, suspend_after=suspend_after)
    oldest = min((row["oldest"] for row in by_kind.values()), default=None)
    # Due again when the shop's next day on the platform starts (tenure_days goes up by one), or
    # when the oldest fact leaves the window: a stored credit never shows yesterday's tenure.
    due = max(shop.created_at + timedelta(days=inputs.tenure_days + 1), now + timedelta(seconds=1))
    if oldest is not None:
        due = min(due, oldest + timedelta(days=rules.WINDOW_DAYS, seconds=1))
    record.score, record.grade = result.score, result.grade
    record.orders_90d, record.cases_90d, record.faults_90d = inputs.orders, inputs.cases, inputs.merchant_faults
    record.timeouts_90d, record.refunds_90d = inputs.timeouts, inputs.refunds
    record.off_platform_90d, record.overturned_refusals_90d = inputs.off_platform, inputs.overturned_refusals
    record.dispute_rate, record.merchant_fault_rate = result.dispute_rate, result.merchant_fault_rate
    record.refund_rate = result.refund_rate
    record.median_response_seconds = inputs.median_response_seconds
    record.rating_average, record.rating_count = inputs.rating_average, inputs.rating_count
    record.tenure_days, record.parts, record.sanction_target = inputs.tenure_days, parts, target
    record.computed_at, record.refresh_due_at = now, due
    return _Counted(inputs, result, behind, suspend_after)


def _cases_by_kind(facts) -> dict[str, list[int]]:
    """Case ids behind each kind of case fact in the window (fact keys are "<kind>:<case id>")."""
    out: dict[str, list[int]] = {}
    for kind, key in facts.filter(kind__in=rules.PART_FACTS.values()).values_list("kind", "key").order_by("id"):
        case_id = key.rsplit(":", 1)[-1]
        if case_id.isdigit():
            out.setdefault(kind, []).append(int(case_id))
    return out


def _change_status(
    shop: Shop,
    status: str,
    *,
    source: str,
    reason: str,
    actor: User | None,
    record: MerchantCredit,
    now,
    rule: str = "",
    cases: tuple[int, ...] = (),
) -> SanctionEvent:
    event = SanctionEvent.objects.create(
        shop=shop,
        from_status=shop.status,
        to_status=status,
        source=source,
        reason=reason,
        rule=rule,
        cases=list(cases),
        actor=actor,
        score=record.score,
        grade=record.grade,
        at=now,
    )
    shop.status = status
    shop.save(update_fields=["status"])
    return event


def current_credit(shop: Shop, now: datetime | None = None) -> MerchantCredit:
    """The stored credit, brought up to date first only if something happened since."""
    now = now or clock_now()
    sync_if_behind(now)
    record = MerchantCredit.objects.filter(shop_id=shop.pk).first()
    if record is None or record.refresh_due_at <= now:
        record = refresh_shop(shop.pk, now, wait=False)
    shop.status = Shop.objects.values_list("status", flat=True).get(pk=shop.pk)
    return record


def credit_out(record: MerchantCredit) -> dict:
    median = record.median_response_seconds
    return {
        "score": record.score,
        "grade": record.grade,
        "orders_90d": record.orders_90d,
        "cases_90d": record.cases_90d,
        "dispute_rate": record.dispute_rate,
        "merchant_fault_rate": record.merchant_fault_rate,
        "timeouts_90d": record.timeouts_90d,
        "median_response_seconds": round(median) if median is not None else None,
        "tenure_days": record.tenure_days,
        "rating_average": record.rating_average,
        "rating_count": record.rating_count,
        "refund_rate": record.refund_rate,
        "refunds_90d": record.refunds_90d,
        "merchant_faults_90d": record.faults_90d,
        "off_platform_90d": record.off_platform_90d,
        "overturned_refusals_90d": record.overturned_refusals_90d,
        "reasons": [_part_text(p) for p in record.parts if p["points"] < 0],
        "parts": [
            {
                "code": part["code"],
                "points": part["points"],
                "text": _part_text(part),
                "cases": [str(c) for c in part.get("cases", [])],
            }
            for part in record.parts
        ],
        "formula_version": rules.FORMULA_VERSION,
        "computed_at": record.computed_at.isoformat(),
    }


def _part_text(part: dict) -> str:
    """A part's explanation in the active language (records stored before `text_en` stay Chinese)."""
    english = (translation.get_language() or "").startswith("en")
    return str(part.get("text_en") or part["text"]) if english else str(part["text"])


def credit_for_shop(shop: Shop) -> dict:
    return credit_out(current_credit(shop))


def refresh_due_credits(now: datetime) -> int:
    """Daily timer: catch up the sources (with a rescan), then every row whose window moved."""
    sync(now, rescan=RESCAN)
    due = list(MerchantCredit.objects.filter(refresh_due_at__lte=now).values_list("shop_id", flat=True)[:10_000])
    for shop_id in due:
        refresh_if_due(shop_id, now, force=True)  # a busy shop's row: its timer tries again shortly
    return len(due)


def credit_rules_changed(now: datetime) -> int:
    """The operator changed the grade floors or the sanction threshold: every stored credit is due
    now (a page reading one recomputes it at once) and the refresh timer runs at the next sweep,
    so the sanctions follow the new rules without waiting for the daily run. Returns the shops marked."""
    marked = MerchantCredit.objects.update(refresh_due_at=now)
    timers.schedule(REFRESH_TIMER, REFRESH_TARGET, now, now=now)
    return marked


def ensure_refresh_timer(now: datetime) -> None:
    if timers.pending(REFRESH_TIMER, REFRESH_TARGET) is None:
        timers.schedule(REFRESH_TIMER, REFRESH_TARGET, now + timedelta(days=1), now=now)


# ---- operator overrides ----------------------------------------------------------------------


def set_sanction(shop: Shop, *, acting_user: User, status: str, reason: str) -> SanctionEvent:
    """An operator sets the shop's status with a written reason; it holds against automatic
    sanctioning until the credit calls for something more severe than it does now."""
    if acting_user.role != Role.ADMIN:
        raise DomainError(Error.SANCTION_ADMIN_ONLY)
    if status not in STATUSES:
        raise DomainError(Error.SANCTION_STATUS_INVALID, param="status")
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise DomainError(Error.SANCTION_REASON_REQUIRED, param="reason")
    now = clock_now()
    with transaction.atomic():
        record = refresh_shop(shop.pk, now)
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        record.override_baseline = record.sanction_target
        record.save(update_fields=["override_baseline"])
        return _change_status(shop, status, source="admin", reason=reason, actor=acting_user, record=record, now=now)


def can_see_sanctions(shop: Shop, user) -> bool:
    return bool(
        user and user.is_authenticated and (user.pk == shop.owner_id or user.role in (Role.ADMIN, Role.ARBITRATOR))
    )


def sanction_out(event: SanctionEvent) -> dict:
    return {
        "id": str(event.pk),
        "shop": str(event.shop_id),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "source": event.source,
        "reason": event.reason,
        "rule": event.rule or None,
        "cases": [str(c) for c in event.cases],
        "actor": str(event.actor_id) if event.actor_id else None,
        "score": event.score,
        "grade": event.grade,
        "at": event.at.isoformat(),
    }


# ---- reviews ---------------------------------------------------------------------------------


def _reviewable(order) -> bool:
    """A completed order, or one whose refund case has closed (and none is open)."""
    cases = set(order.refund_cases.values_list("status", flat=True))
    if cases & {str(s) for s in OPEN_STATUSES}:
        return False
    return order.status == "completed" or CaseStatus.CLOSED in cases


def add_review(order, *, acting_user: User, stars, text: str = "") -> Review:
    if acting_user.pk != order.buyer_id:
        raise DomainError(Error.REVIEW_BUYER_ONLY)
    if not isinstance(stars, int) or isinstance(stars, bool) or not (1 <= stars <= 5):
        raise DomainError(Error.REVIEW_STARS_INVALID, param="stars")
    text = (text or "").strip()
    if len(text) > 2000:
        raise DomainError(Error.REVIEW_TEXT_TOO_LONG, param="text")
    now = clock_now()
    with transaction.atomic():
        if Review.objects.filter(order=order).exists():
            raise DomainError(Error.REVIEW_ALREADY_WRITTEN)
        if not _reviewable(order):
            raise DomainError(Error.REVIEW_NOT_ALLOWED_YET)
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    order=order, shop_id=order.shop_id, buyer=acting_user, stars=stars, text=text, created_at=now
                )
        except IntegrityError:
            raise DomainError(Error.REVIEW_ALREADY_WRITTEN) from None
        _add_facts(
            [
                CreditFact(
                    shop_id=order.shop_id,
                    kind="rating",
                    at=now,
                    value=float(stars),
                    category=(order.snapshot or {}).get("category", ""),
                    key=f"review:{review.pk}",
                )
            ]
        )
        refresh_shop(order.shop_id, now)
    return review


def _mask(username: str) -> str:
    return username[:1] + "***" + (username[-1:] if len(username) > 2 else "")


def review_out(review: Review) -> dict:
    return {
        "id": str(review.pk),
        "order": str(review.order_id),
        "shop": str(review.shop_id),
        "buyer": _mask(review.buyer.username),
        "stars": review.stars,
        "text": review.text,
        "listing_title": (review.order.snapshot or {}).get("title", ""),
        "created_at": review.created_at.isoformat(),
    }


def review_summary(shop: Shop) -> dict:
    agg = Review.objects.filter(shop=shop).aggregate(n=Count("id"), avg=Avg("stars"))
    return {"count": agg["n"], "average": round(agg["avg"], 2) if agg["avg"] is not None else None}
