"""Moving money. Every movement is one journal entry with a unique idempotency key, written in
one transaction with the locked balances it changes; `check` proves the books.

On PostgreSQL the database guards the books too (migrations 0002, 0003): an entry whose postings do
not sum to zero does not commit, and postings and entries cannot be updated or deleted. SQLite
refuses the updates; the checks below hold the rest there."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NewType

from django.db import connection
from django.db.models import Sum

from kameng.clock.services import now as clock_now
from kameng.compiled import array_literal, loaded, packed_rows
from kameng.errors import DomainError, Error

from .models import NON_NEGATIVE, Account, AccountKind, EntryKind, JournalEntry, Posting

# An account's code, "<prefix>:<...>"; the prefix names its kind. Make them with the helpers below.
AccountCode = NewType("AccountCode", str)

_KIND_BY_PREFIX = {
    "wallet": AccountKind.WALLET,
    "escrow": AccountKind.ESCROW,
    "debt": AccountKind.MERCHANT_DEBT,
    "gateway": AccountKind.GATEWAY,
    "platform": AccountKind.PLATFORM,
}


def wallet_code(user_id: int) -> AccountCode:
    return AccountCode(f"wallet:user:{user_id}")


def escrow_code(order_id: int) -> AccountCode:
    return AccountCode(f"escrow:order:{order_id}")


def debt_code(merchant_id: int) -> AccountCode:
    """What a merchant owes the platform after 先行赔付 (negative balance)."""
    return AccountCode(f"debt:merchant:{merchant_id}")


def gateway_code(gateway: str) -> AccountCode:
    return AccountCode(f"gateway:{gateway}")


GATEWAY_SANDBOX = gateway_code("sandbox")
PLATFORM_COMMISSION = AccountCode("platform:commission")  # 平台佣金: taken on release, per category


def kind_of(code: AccountCode) -> AccountKind:
    kind = _KIND_BY_PREFIX.get(code.split(":", 1)[0])
    if kind is None:
        raise ValueError(f"not an account code: {code!r}")
    return kind


def _create_missing(codes: list[AccountCode]) -> dict[AccountCode, Account]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING, in code order: the rows it returns are new and ours
    (locked by this transaction as it inserted them); a code missing from the answer was created by a
    concurrent movement first, and the caller locks it with the others, in code order."""
    fields = ["id", "code", "kind", "balance"]
    table = connection.ops.quote_name(Account._meta.db_table)
    params: list = []
    for code in codes:
        params += [code, str(kind_of(code).value)]
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("code", "kind", "balance") VALUES {", ".join(["(%s, %s, 0)"] * len(codes))} '
            f'ON CONFLICT ("code") DO NOTHING RETURNING {", ".join(connection.ops.quote_name(f) for f in fields)}',
            params,
        )
        rows = cursor.fetchall()
    created = (loaded(Account, fields, row, connection.alias) for row in rows)
    return {AccountCode(a.code): a for a in created}


def lock_accounts(
    codes: Iterable[AccountCode], *, held: dict[AccountCode, Account] | None = None
) -> dict[AccountCode, Account]:
    """Lock these accounts (creating missing ones) in code order, and return them by code.

    The one way to hold balances still: fixed order, so two movements never deadlock. Whoever
    reads balances before posting (to split an amount, to refuse one) locks every account the
    entry will touch in this one call; `post` then re-locks only rows it already holds.

    First use of an account keeps that order too: while any code is missing, the first statement
    locks nothing; the missing accounts are created (in code order), and only then are all of them
    locked in one sorted statement. Locking the existing ones first and the new ones after (as this
    did before) deadlocked on PostgreSQL when another movement of the same parties had created the
    account meanwhile and locked it first (tests/ledger/test_first_use_pg.py).

    `held`: accounts this transaction locked already (what an earlier call returned, balances kept
    current by `post`): only the codes missing from it are locked, and they are added to it. An
    order's transition locks every account its row may touch once and hands them down.
    """
    assert connection.in_atomic_block, "ledger.lock_accounts must run inside a transaction"
    wanted = set(codes)
    if held is not None and wanted <= held.keys():
        return held
    ordered = sorted(wanted - held.keys() if held is not None else wanted)
    locked = _lock_existing(ordered, all_or_none=True)
    if len(locked) < len(ordered):  # first use of an account: create it (a new order's escrow, say)
        locked = _create_missing([code for code in ordered if code not in locked])
        if len(locked) < len(ordered):  # some existed (or a concurrent movement created them first)
            locked = _lock_existing(ordered)
    if held is None:
        return locked
    held.update(locked)
    return held


def _lock_existing(ordered: list[AccountCode], *, all_or_none: bool = False) -> dict[AccountCode, Account]:
    """One statement: re-locking rows this transaction holds already costs nothing more.

    `all_or_none` (PostgreSQL): lock nothing unless every code exists, so that no lock is taken
    before a missing account is created (an InitPlan counts them once, before any row is locked).
    SQLite has no row locks: its write lock serializes movements.
    """
    if connection.vendor != "postgresql":
        locked = Account.objects.select_for_update().filter(code__any=ordered).order_by("code")
        return {AccountCode(a.code): a for a in locked}
    fields = ["id", "code", "kind", "balance"]
    table = connection.ops.quote_name(Account._meta.db_table)
    codes = array_literal(ordered)
    # Fixed text either way (the ORM's would be compiled anew at each first use of an account).
    every = f' AND (SELECT count(*) FROM {table} WHERE "code" = ANY(%s::text[])) = %s' if all_or_none else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(connection.ops.quote_name(f) for f in fields)} FROM {table} "
            f'WHERE "code" = ANY(%s::text[]){every} ORDER BY "code" FOR UPDATE',
            [codes, codes, len(ordered)] if all_or_none else [codes],
        )
        rows = cursor.fetchall()
    return {AccountCode(a.code): a for a in (loaded(Account, fields, row, connection.alias) for row in rows)}


def balance(code: AccountCode) -> int:
    return Account.objects.filter(code=code).values_list("balance", flat=True).first() or 0


@dataclass(frozen=True)
class Transfer:
    """Move `amount` fen from one account to another; an entry is one or more of these."""

    source: AccountCode
    destination: AccountCode
    amount: int


def post(
    idempotency_key: str,
    kind: EntryKind,
    transfers: list[Transfer],
    *,
    memo: str = "",
    order_id=None,
    case_id=None,
    actor: str = "",
    held: dict[AccountCode, Account] | None = None,
    now=None,
) -> JournalEntry | None:
    """Write one balanced journal entry; returns None if this key was already posted.

    Must run inside the caller's transaction so the money moves with the state change.
    Raises DomainError(INSUFFICIENT_FUNDS) if a wallet or escrow would go negative.
    `held`: the accounts the caller locked already (see `lock_accounts`); their balances move here.
    `now`: the entry's time, when the caller has read the clock already.
    """
    assert connection.in_atomic_block, "ledger.post must run inside a transaction"
    transfers = [t for t in transfers if t.amount]
    for t in transfers:
        if not isinstance(t.amount, int) or isinstance(t.amount, bool) or t.amount < 0:
            raise ValueError(f"amounts are positive integer fen, got {t.amount!r}")
    kind = EntryKind(kind)
    deltas: dict[AccountCode, int] = {}
    for t in transfers:
        deltas[t.source] = deltas.get(t.source, 0) - t.amount
        deltas[t.destination] = deltas.get(t.destination, 0) + t.amount
    codes = sorted(deltas)
    accounts = lock_accounts(codes, held=held)
    for code in codes:
        account = accounts[code]
        if account.kind in NON_NEGATIVE and account.balance + deltas[code] < 0:
            # Posted before? Then this is a replay (the balances moved since), not a shortage.
            if JournalEntry.objects.filter(idempotency_key=idempotency_key).exists():
                return None
            raise DomainError(Error.INSUFFICIENT_FUNDS)
    # The key is claimed under the accounts' locks: a concurrent twin (same key, so the same accounts)
    # has either committed — and ON CONFLICT finds its entry: nothing moves twice — or not started.
    entry = JournalEntry(
        idempotency_key=idempotency_key,
        kind=kind,
        memo=memo[:255],
        order_id=order_id,
        case_id=case_id,
        actor=actor,
        created_at=now or clock_now(),
    )
    changed = [accounts[code] for code in codes if deltas[code]]
    postings = [(accounts[c].pk, d) for c, d in deltas.items() if d]
    balances = [(account.pk, account.balance + deltas[AccountCode(account.code)]) for account in changed]
    if not _write_entry(entry, postings, balances):
        return None
    for account in changed:
        account.balance += deltas[AccountCode(account.code)]
    return entry


def _write_entry(entry: JournalEntry, postings: list[tuple[int, int]], balances: list[tuple[int, int]]) -> bool:
    """The entry (ON CONFLICT (idempotency_key) DO NOTHING), its postings (account id, amount) and the
    accounts' new balances (id, balance); False, and nothing written, when the key was posted before.

    PostgreSQL: one statement, the postings and the balances in data-modifying WITH clauses that write
    only if the entry's INSERT returned a row (the postings are still one INSERT statement for the
    sum-to-zero guard, migration 0003). Elsewhere three: `_insert_entry`, `_insert_postings`,
    `_store_balances`."""
    if connection.vendor != "postgresql":
        if _insert_entry(entry) is None:
            return False
        _insert_postings([(entry.pk, account, amount) for account, amount in postings])
        _store_balances_of(balances)
        return True
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f) for f in _ENTRY_FIELDS)
    values = _entry_values(entry)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH e AS (INSERT INTO {quote(JournalEntry._meta.db_table)} ({columns}) "
            f"VALUES ({', '.join(['%s'] * len(values))}) "
            f'ON CONFLICT ("idempotency_key") DO NOTHING RETURNING "id"), '
            f'p AS (INSERT INTO {quote(Posting._meta.db_table)} ("entry_id", "account_id", "amount") '
            "SELECT e.id, u.account, u.amount FROM e, unnest(%s::bigint[], %s::bigint[]) AS u(account, amount)), "
            f'b AS (UPDATE {quote(Account._meta.db_table)} AS a SET "balance" = v.balance '
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, balance) "
            'WHERE a."id" = v.id AND EXISTS (SELECT 1 FROM e)) '
            "SELECT id FROM e",
            [
                *values,
                [account for account, _ in postings],
                [amount for _, amount in postings],
                [pk for pk, _ in balances],
                [balance for _, balance in balances],
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    _stored_as(entry, row[0])
    return True


class AlreadyPosted(Exception):
    """A batch met an idempotency key posted before: nothing of it may commit (the caller goes one by one)."""


class Batch:
    """Several balanced entries written together: one INSERT for the entries, one for all their postings,
    one UPDATE for the balances (each account once, with its deltas summed).

    Every account the entries touch must be locked by the caller already (`lock_accounts`, one sorted
    call for the whole batch). `add` checks an entry as `post` does and moves the held balances at
    once, so the next entry's split reads them current; `write` then stores everything. The keys,
    memos and postings are exactly those `post` writes for the same entries; only the row ids differ.
    """

    def __init__(self, held: dict[AccountCode, Account], *, now) -> None:
        assert connection.in_atomic_block, "a ledger batch must run inside a transaction"
        self.held, self.now = held, now
        self._at = connection.ops.adapt_datetimefield_value(now)
        self._entries: list[tuple] = []  # each entry's `_ENTRY_FIELDS` but created_at (the batch's `now`)
        self._deltas: list[dict[AccountCode, int]] = []

    def add(
        self,
        idempotency_key: str,
        kind: EntryKind,
        transfers: list[Transfer],
        *,
        memo: str = "",
        order_id=None,
        case_id=None,
        actor: str = "",
    ) -> None:
        transfers = [t for t in transfers if t.amount]
        deltas: dict[AccountCode, int] = {}
        for t in transfers:
            if not isinstance(t.amount, int) or isinstance(t.amount, bool) or t.amount < 0:
                raise ValueError(f"amounts are positive integer fen, got {t.amount!r}")
            deltas[t.source] = deltas.get(t.source, 0) - t.amount
            deltas[t.destination] = deltas.get(t.destination, 0) + t.amount
        for code, delta in deltas.items():
            account = self.held[code]  # KeyError: the caller did not lock it
            if account.kind in NON_NEGATIVE and account.balance + delta < 0:
                raise DomainError(Error.INSUFFICIENT_FUNDS)
        for code, delta in deltas.items():
            self.held[code].balance += delta
        self._entries.append((idempotency_key, str(EntryKind(kind).value), memo[:255], order_id, case_id, actor))
        self._deltas.append(deltas)

    def write(self) -> dict[str, int]:
        """Store the entries, their postings and the balances; returns the entries' ids by key.
        AlreadyPosted if any key was posted before."""
        if not self._entries:
            return {}
        ids = _insert_entries(self._entries, self._at)
        if len(ids) < len(self._entries):
            raise AlreadyPosted(sorted({e[0] for e in self._entries} - ids.keys())[:5])
        postings, changed = [], {}
        for entry, deltas in zip(self._entries, self._deltas, strict=True):
            pk = ids[entry[0]]
            for code, delta in deltas.items():
                if delta:
                    account = self.held[code]
                    postings.append((pk, account.pk, delta))
                    changed[code] = account
        _insert_postings(postings)
        _store_balances(list(changed.values()))
        return ids


def _store_balances(accounts: list[Account]) -> None:
    """One UPDATE … FROM (VALUES (id, balance), …) for all these accounts (PostgreSQL, SQLite ≥ 3.33):
    cheaper than bulk_update's CASE, whose cost grows with the rows times the rows."""
    _store_balances_of([(account.pk, account.balance) for account in accounts])


def _store_balances_of(balances: list[tuple[int, int]]) -> None:
    """`_store_balances` of (account id, balance) pairs."""
    if not balances:
        return
    table = connection.ops.quote_name(Account._meta.db_table)
    rows, params = packed_rows(("bigint", "bigint"), balances)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {table} SET "balance" = v.column2 FROM ({rows}) AS v WHERE {table}."id" = v.column1', params
        )


def _insert_postings(postings: list[tuple[int, int, int]]) -> None:
    """One INSERT of (entry id, account id, amount) rows: what Posting.objects.bulk_create writes,
    without a model instance per row."""
    table = connection.ops.quote_name(Posting._meta.db_table)
    rows, params = packed_rows(("bigint", "bigint", "bigint"), postings)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO {table} ("entry_id", "account_id", "amount") SELECT * FROM ({rows}) AS v', params)


def _insert_entries(entries: list[tuple], at) -> dict[str, int]:
    """One INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING of these rows (each entry's
    `_ENTRY_FIELDS` but the last, as the database takes them), all created `at` (adapted for the
    database): the new entries' ids by key."""
    table = connection.ops.quote_name(JournalEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f) for f in _ENTRY_FIELDS)
    rows, params = packed_rows(("text", "text", "text", "bigint", "bigint", "text"), entries)
    with connection.cursor() as cursor:
        cursor.execute(
            # WHERE true: SQLite reads an ON CONFLICT after a bare FROM as a join's ON
            f"INSERT INTO {table} ({columns}) SELECT v.*, %s FROM ({rows}) AS v WHERE true "
            f'ON CONFLICT ("idempotency_key") DO NOTHING RETURNING "idempotency_key", "id"',
            [at, *params],
        )
        return dict(cursor.fetchall())


_ENTRY_FIELDS = ("idempotency_key", "kind", "memo", "order_id", "case_id", "actor", "created_at")


def _entry_values(entry: JournalEntry) -> list:
    """The entry's `_ENTRY_FIELDS` as the database takes them."""
    values = [getattr(entry, f) for f in _ENTRY_FIELDS]
    values[1] = str(EntryKind(entry.kind).value)  # the text, whatever a driver makes of an enum
    values[-1] = connection.ops.adapt_datetimefield_value(entry.created_at)
    return values


def _insert_entry(entry: JournalEntry) -> JournalEntry | None:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, in one statement (PostgreSQL and
    SQLite ≥ 3.35 alike): None when the key was posted before."""
    table = connection.ops.quote_name(JournalEntry._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f) for f in _ENTRY_FIELDS)
    values = _entry_values(entry)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(values))}) "
            f'ON CONFLICT ("idempotency_key") DO NOTHING RETURNING "id"',
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return None
    _stored_as(entry, row[0])
    return entry


def _stored_as(entry: JournalEntry, pk: int) -> None:
    """The entry as the database now holds it under `pk` (what a save sets on the instance)."""
    entry.pk = pk
    entry._state.adding = False
    entry._state.db = connection.alias


def transfer(
    idempotency_key: str, kind: EntryKind, source: AccountCode, destination: AccountCode, amount: int, **kw
) -> JournalEntry | None:
    """An entry of one transfer."""
    return post(idempotency_key, kind, [Transfer(source, destination, amount)], **kw)


@dataclass
class CheckResult:
    ok: bool
    problems: list[str]
    entries: int
    accounts: int


def check() -> CheckResult:
    """Verify: each entry sums to zero, each cached balance equals its postings, no wallet or escrow below zero."""
    problems: list[str] = []
    unbalanced = (
        Posting.objects.values("entry_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .values_list("entry_id", "total")
    )
    for entry_id, total in unbalanced[:100]:
        problems.append(f"entry {entry_id} does not sum to zero ({total})")
    sums = dict(Posting.objects.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    for account in Account.objects.all().iterator():
        derived = sums.get(account.pk, 0)
        if derived != account.balance:
            problems.append(f"account {account.code}: balance {account.balance} != postings {derived}")
        if account.kind in NON_NEGATIVE and account.balance < 0:
            problems.append(f"account {account.code} is negative ({account.balance})")
    total = Posting.objects.aggregate(t=Sum("amount"))["t"] or 0
    if total != 0:
        problems.append(f"all postings sum to {total}, not zero")
    return CheckResult(
        ok=not problems, problems=problems, entries=JournalEntry.objects.count(), accounts=Account.objects.count()
    )
