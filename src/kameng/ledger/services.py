"""Moving money. Every movement is one journal entry with a unique idempotency key, written in
one transaction with the locked balances it changes; `check` proves the books."""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error

from .models import NON_NEGATIVE, Account, AccountKind, JournalEntry, Posting


def wallet_code(user_id: int) -> str:
    return f"wallet:user:{user_id}"


def escrow_code(order_id: int) -> str:
    return f"escrow:order:{order_id}"


def debt_code(merchant_id: int) -> str:
    return f"debt:merchant:{merchant_id}"


GATEWAY_SANDBOX = "gateway:sandbox"


def _kind_of(code: str) -> str:
    prefix = code.split(":", 1)[0]
    return {
        "wallet": AccountKind.WALLET,
        "escrow": AccountKind.ESCROW,
        "debt": AccountKind.MERCHANT_DEBT,
        "gateway": AccountKind.GATEWAY,
        "platform": AccountKind.PLATFORM,
    }[prefix]


def get_account(code: str) -> Account:
    account = Account.objects.filter(code=code).first()
    if account is None:
        try:
            with transaction.atomic():
                account = Account.objects.create(code=code, kind=_kind_of(code))
        except IntegrityError:
            account = Account.objects.get(code=code)
    return account


def balance(code: str) -> int:
    return Account.objects.filter(code=code).values_list("balance", flat=True).first() or 0


@dataclass(frozen=True)
class Leg:
    source: str
    destination: str
    amount: int


def post(
    idempotency_key: str, kind: str, legs: list[Leg], *, memo: str = "", order_id=None, case_id=None, actor: str = ""
) -> JournalEntry | None:
    """Write one balanced journal entry; returns None if this key was already posted.

    Must run inside the caller's transaction so the money moves with the state change.
    Raises DomainError(INSUFFICIENT_FUNDS) if a wallet or escrow would go negative.
    """
    assert connection.in_atomic_block, "ledger.post must run inside a transaction"
    legs = [leg for leg in legs if leg.amount]
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount < 0:
            raise ValueError(f"amounts are positive integer fen, got {leg.amount!r}")
    if JournalEntry.objects.filter(idempotency_key=idempotency_key).exists():
        return None
    deltas: dict[str, int] = {}
    for leg in legs:
        deltas[leg.source] = deltas.get(leg.source, 0) - leg.amount
        deltas[leg.destination] = deltas.get(leg.destination, 0) + leg.amount
    codes = sorted(deltas)  # lock in a fixed order so two movements never deadlock
    for code in codes:
        get_account(code)
    accounts = {a.code: a for a in Account.objects.select_for_update().filter(code__in=codes).order_by("code")}
    for code in codes:
        account = accounts[code]
        if account.kind in NON_NEGATIVE and account.balance + deltas[code] < 0:
            raise DomainError(Error.INSUFFICIENT_FUNDS)
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                idempotency_key=idempotency_key,
                kind=kind,
                memo=memo[:255],
                order_id=order_id,
                case_id=case_id,
                actor=actor,
                created_at=clock_now(),
            )
    except IntegrityError:
        return None  # a concurrent twin won; nothing moves twice
    Posting.objects.bulk_create([Posting(entry=entry, account=accounts[c], amount=d) for c, d in deltas.items() if d])
    for code in codes:
        if deltas[code]:
            account = accounts[code]
            account.balance += deltas[code]
            account.save(update_fields=["balance"])
    return entry


def transfer(idempotency_key: str, kind: str, source: str, destination: str, amount: int, **kw) -> JournalEntry | None:
    return post(idempotency_key, kind, [Leg(source, destination, amount)], **kw)


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
