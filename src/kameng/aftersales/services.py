"""Refund-case use cases: the only code that changes a case.

Every action and every timeout takes one path, `_transition`: lock the case, resolve the actor's
role (403 when that role may never take the action), find the lifecycle rows of the case's phase
(409 invalid_state when there are none), clean the input, let the table choose the row and run its
checks, then apply it — fields, the claim, money, the phase with its deadline and timers, one event,
the escrow, notices — in one transaction. The table is kameng.aftersales.lifecycle; the named
functions below (`accept`, `decide`, `expire_merchant_deadline`, …) are thin entry points to it.
Time is a parameter: each use case takes `now` (default: the clock), so a story can be told at any
moment (the demo's overdue case is told days ago).
"""

import copy
import functools
import hashlib
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, QuerySet
from django.utils import timezone

from kameng.accounts.models import Role, User
from kameng.catalog.models import Shop, StockItem
from kameng.catalog.rules import no_reason_return_excluded
from kameng.clock.services import now as clock_now
from kameng.compiled import Prepared, PreparedObjects, copied, holds_id, insert_rows, update_rows
from kameng.errors import DomainError, Error
from kameng.evidence import services as evidence
from kameng.evidence.documents import chat_log_text, order_record, snapshot_text, transaction_text
from kameng.evidence.models import Evidence
from kameng.evidence.uploads import inspect_upload
from kameng.orders import services as orders
from kameng.orders.models import Order
from kameng.policy import rulebook
from kameng.policy.services import Policy, add_working_days, get_policy
from kameng.timers import jobs
from kameng.timers import services as timers
from kameng.timers.models import Timer

from . import inbox, lifecycle, notifications, precedents, rules
from .lifecycle import (  # noqa: F401  (the timer kinds: tasks and tests name them here)
    APPEAL_TIMER,
    BUYER_TIMER,
    COMPROMISE_TIMER,
    DECIDE_TIMER,
    MERCHANT_TIMER,
    REMINDER_TIMER,
    Attempt,
    Deadline,
    Notice,
    Row,
    To,
)
from .models import (
    OPEN_STATUSES,
    Actor,
    CaseEvent,
    CaseStatus,
    Phase,
    Reason,
    RefundCase,
    Resolution,
)

REOPENS_ALLOWED = 1  # a withdrawn request may be made once more

# ---- case events: who hears of them ------------------------------------------------------------------

CaseEventListener = Callable[[CaseEvent], None]
CaseEventsListener = Callable[[list[CaseEvent]], None]
_listeners: list[CaseEventListener] = []
_many: dict[CaseEventListener, CaseEventsListener] = {}  # a listener's many-at-once entry point


def on_case_event(listener: CaseEventListener, *, many: CaseEventsListener | None = None) -> CaseEventListener:
    """Call `listener(event)` right after every case event is written, inside its transaction, in the
    order they registered. Apps above this one register in their AppConfig.ready() (merchant credit).
    `many(events)`: the same for many events at once (a sweep's batch), writing what `listener`
    writes for each of them in turn; a listener without one hears each of them."""
    if listener not in _listeners:
        _listeners.append(listener)
    if many is not None:
        _many[listener] = many
    return listener


def _append_event(**fields: Any) -> CaseEvent:
    """One event row (the INSERT `_append_events` writes, without a model's save), then the listeners."""
    (event,) = insert_rows(CaseEvent, [CaseEvent(**fields)])
    for listener in _listeners:
        listener(event)
    return event


# The bookkeeping events (`_event`: a claim, a refund) of the action `_apply` is applying, held back to be
# written with the action's own event; None outside an action.
_held_events: ContextVar[list[CaseEvent] | None] = ContextVar("held_case_events", default=None)


def _append_events(events: list[CaseEvent]) -> list[CaseEvent]:
    """`_append_event` for many events: one INSERT in fixed text (`insert_rows`: bulk_create's rows without
    its per-call compiling), then each listener hears all of them, in order."""
    events = insert_rows(CaseEvent, events)
    for listener in _listeners:
        many = _many.get(listener)
        if many is not None:
            many(events)
            continue
        for event in events:
            listener(event)
    return events


# ---- reading -------------------------------------------------------------------------------------------


def visible_cases(user: User) -> QuerySet[RefundCase]:
    if user.role == Role.BUYER:
        return RefundCase.objects.filter(buyer=user)
    if user.role == Role.MERCHANT:
        return RefundCase.objects.filter(shop__owner=user)
    if user.role in (Role.ARBITRATOR, Role.ADMIN):
        return RefundCase.objects.all()
    return RefundCase.objects.none()


def get_case_for(case_id: Any, user: User) -> RefundCase:
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise DomainError(Error.CASE_NOT_FOUND) from None
    # [:1], not .first(): the key is unique, and .first() would add an ORDER BY to compile and run.
    case = next(iter(visible_cases(user).select_related("order", "shop", "buyer").filter(pk=pk)[:1]), None)
    if case is None:
        raise DomainError(Error.CASE_NOT_FOUND)
    return case


# The case page's reads (GET /refunds/{id}): fixed statements compiled once (see kameng.compiled), the
# visibility rule still visible_cases's. The case row comes with its shop's owner only (role_on_case);
# the order and the buyer load on first use (only a replacement's visibility asks for the order).
_CASE_COLUMNS = tuple(f.attname for f in RefundCase._meta.concrete_fields)


def _case_read(role: str, *, by_user: bool) -> Prepared:
    def build(*args: int) -> QuerySet:
        user_id, pk = args if by_user else (0, args[0])
        cases = visible_cases(User(pk=user_id, role=role)).filter(pk=pk)
        return cases.values_list(*_CASE_COLUMNS, "shop__owner_id")[:1]

    return Prepared(build, arity=2 if by_user else 1)


_CASE_READS: dict[str, Prepared] = {
    Role.BUYER: _case_read(Role.BUYER, by_user=True),
    Role.MERCHANT: _case_read(Role.MERCHANT, by_user=True),
    Role.ARBITRATOR: _case_read(Role.ARBITRATOR, by_user=False),
    Role.ADMIN: _case_read(Role.ADMIN, by_user=False),
}
EVIDENCE_COLUMNS = ("id", "category", "source", "filename", "content_type", "size", "sha256", "note", "uploaded_at")
EVENT_COLUMNS = ("type", "actor_role", "at", "from_status", "to_status", "data")
_EVIDENCE_READ = Prepared(
    lambda case_id: Evidence.objects.filter(case_id=case_id).order_by("seq").values_list(*EVIDENCE_COLUMNS), arity=1
)
_EVENT_READ = Prepared(
    lambda case_id: CaseEvent.objects.filter(case_id=case_id).order_by("id").values_list(*EVENT_COLUMNS), arity=1
)


def read_case_for(case_id: Any, user: User) -> RefundCase:
    """The case `user` may see, for reading (get_case_for's answer and 404s, in one fixed statement):
    the case's fields and its shop's owner; the order, the buyer and the shop's other fields load
    on first use."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise DomainError(Error.CASE_NOT_FOUND) from None
    read = _CASE_READS.get(user.role)
    if read is None or not holds_id(pk):  # no case for other roles
        raise DomainError(Error.CASE_NOT_FOUND)
    rows = read.rows(user.pk, pk) if user.role in (Role.BUYER, Role.MERCHANT) else read.rows(pk)
    if not rows:
        raise DomainError(Error.CASE_NOT_FOUND)
    *values, owner_id = rows[0]
    case = RefundCase.from_db("default", _CASE_COLUMNS, values)
    RefundCase.shop.field.set_cached_value(case, Shop.from_db("default", ("id", "owner_id"), (case.shop_id, owner_id)))
    return case


def case_timeline(case_id: int) -> tuple[list[tuple], list[tuple]]:
    """A case's evidence (EVIDENCE_COLUMNS, upload order) and events (EVENT_COLUMNS, in order) as rows:
    on PostgreSQL both in one statement (`_timeline_statement`), elsewhere one read each."""
    if connection.vendor != "postgresql":
        return _EVIDENCE_READ.rows(case_id), _EVENT_READ.rows(case_id)
    with connection.cursor() as cursor:
        cursor.execute(_timeline_statement(), [case_id, case_id])
        rows = cursor.fetchall()
    data = _EVENT_DATA.from_db_value  # the JSONField's own reading of its column, as a read's converter
    evidence = [tuple(row[2:11]) for row in rows if row[0] == 0]
    events = [
        (row[3], row[4], row[10], row[5], row[6], data(row[11], _EVENT_DATA_COLUMN, connection))
        for row in rows
        if row[0] == 1
    ]
    return evidence, events


_EVENT_DATA = CaseEvent._meta.get_field("data")
assert isinstance(_EVENT_DATA, JSONField)
_EVENT_DATA_COLUMN = _EVENT_DATA.get_col(CaseEvent._meta.db_table)


@functools.cache
def _timeline_statement() -> str:
    """The case's evidence (by seq) and events (by id) as one UNION ALL, each row led by its kind (0, 1)
    and its order: an evidence row is 0, seq, then EVIDENCE_COLUMNS, then a NULL; an event row is 1, id,
    NULL, type, actor_role, from_status, to_status, three NULLs, at, data (the columns of one type line
    up: texts with texts, the two moments, data last)."""
    q = connection.ops.quote_name
    evidence = ", ".join(q(c) for c in EVIDENCE_COLUMNS)
    return (
        f"SELECT 0, {q('seq')}, {evidence}, NULL FROM {q(Evidence._meta.db_table)} WHERE {q('case_id')} = %s "
        f"UNION ALL SELECT 1, {q('id')}, NULL, {q('type')}, {q('actor_role')}, {q('from_status')}, "
        f"{q('to_status')}, NULL, NULL, NULL, {q('at')}, {q('data')} FROM {q(CaseEvent._meta.db_table)} "
        f"WHERE {q('case_id')} = %s ORDER BY 1, 2"
    )


def role_on_case(case: RefundCase, user: User) -> str | None:
    if user.pk == case.buyer_id:
        return Actor.BUYER
    if user.pk == case.shop.owner_id:
        return Actor.MERCHANT
    if user.role == Role.ARBITRATOR:
        return Actor.ARBITRATOR
    if user.role == Role.ADMIN:
        return Actor.ADMIN
    return None


def case_holds_order(order_id: int) -> bool:
    return RefundCase.objects.filter(order_id=order_id, status__in=OPEN_STATUSES).exists()


def arbitration_queue() -> QuerySet[RefundCase]:
    """Cases waiting for an arbitrator, earliest decide_by first."""
    return RefundCase.objects.filter(status__in=[CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL]).order_by(
        "decide_by", "id"
    )


# ---- the one transition path ---------------------------------------------------------------------------


def act(
    case: RefundCase | int, action: str, *, acting_user: User, now: datetime | None = None, **given: Any
) -> RefundCase:
    """Any public action on a case, by a person: the API's and the pages' single entry."""
    return _transition(case, action, acting_user, now or clock_now(), given)


def act_on(case_id: Any, action: str, *, acting_user: User, now: datetime | None = None, **given: Any) -> RefundCase:
    """`act` on the case with this id as the API names it: CASE_NOT_FOUND unless `acting_user` may see
    it (as `get_case_for`), then the same path. The case row is read once, locked, with the visibility
    filter, instead of once to check visibility and once more to lock it."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise DomainError(Error.CASE_NOT_FOUND) from None
    return _transition(pk, action, acting_user, now or clock_now(), given, visible_to=acting_user)


def _transition(
    case_or_id: RefundCase | int,
    action: str,
    actor: User | None,
    now: datetime,
    given: Mapping,
    *,
    visible_to: User | None = None,
) -> RefundCase:
    """Role first (403 whatever the phase), then the phase's deadline (past it, the timeout's outcome is
    applied and committed, then 409 deadline_passed), then the table (409 invalid_state), then the row's
    checks in order; then the row applies, all in one transaction. The system (actor None) runs deadline
    actions and, re-checking under the lock, does nothing when the case has moved on or the deadline moved.

    The system's transition takes no savepoint of its own: it runs as a timer's handler, inside the
    transaction (or savepoint) the sweep opened for it, which rolls back as a whole if it raises."""
    with transaction.atomic(savepoint=actor is not None):
        case = _lock(case_or_id, visible_to=visible_to)
        role = Actor.SYSTEM if actor is None else role_on_case(case, actor)
        if actor is not None and role not in lifecycle.roles_for(action):
            raise DomainError(Error.CASE_ROLE_NOT_ALLOWED)
        timeout = lifecycle.timeout_due(case, now) if actor is not None else None
        if timeout is None:
            return _run(case, action, actor, role, now, given)
        _run(case, timeout, None, Actor.SYSTEM, now, {})
    raise DomainError(Error.DEADLINE_PASSED)  # after the commit: the timeout's outcome stays


def _run(
    case: RefundCase,
    action: str,
    actor: User | None,
    role: str | None,
    now: datetime,
    given: Mapping,
    facts: "_Facts | None" = None,
) -> RefundCase:
    """One action on the locked case: its rows, its checks, its effects (the caller holds the transaction).
    `facts`: what a batch of timers read for this case already (the order it locked)."""
    facts = facts or _Facts(case, actor)
    chosen = _choose(case, action, actor, role, now, given, facts)
    if chosen is None:
        return case
    row, attempt = chosen
    # A settlement refunds the order and then, closing the case, unfreezes its escrow: the order's row
    # is stored once for both, with its events in one INSERT, when the row has applied (orders.one_write).
    # The timers the row cancels (the phase left, the reminders notify cancels) go in one statement.
    with orders.one_write(facts.order()) if row.settle else nullcontext(), timers.cancels_together():
        _apply(case, row, attempt, actor)
    return case


def _choose(
    case: RefundCase, action: str, actor: User | None, role: str | None, now: datetime, given: Mapping, facts: "_Facts"
) -> tuple[Row, Attempt] | None:
    """The table's row for this action on the locked case, its checks passed, and the attempt it applies
    to; None when the system's action has nothing to do (a timer that outlived its phase or its deadline)."""
    rows = lifecycle.rows_for(case.phase, action, role)
    if not rows:
        if actor is None:
            return None  # a timer that outlived its phase
        raise DomainError(Error.CASE_ACTION_NOT_ALLOWED)
    if actor is None and _not_due_yet(case, action, now):
        return None
    attempt = Attempt(case, role or "", getattr(actor, "pk", None), now, lifecycle.clean(action, given), facts)
    return lifecycle.choose(rows, attempt), attempt


def _not_due_yet(case: RefundCase, action: str, now: datetime) -> bool:
    deadline = lifecycle.PHASES[Phase(case.phase)].deadline
    if deadline is None or deadline.fires != action:
        return False
    due = getattr(case, deadline.field)
    return due is not None and due > now


def _apply(case: RefundCase, row: Row, a: Attempt, actor: User | None) -> None:
    """The row's notices, fields and claim; its settlement; the phase left and entered; one event;
    then the timers of the phase entered, the escrow on closing, and the notices of entering it.

    The events booked on the way (the claim's, the refund's) are written with the row's own, in one
    INSERT, and their listeners hear them all at once (`_append_events`: the merchant's webhooks in
    one INSERT, the credit facts in one statement). Each is heard with the case as it stood when it
    was booked, as if written there (the refund's: refunded, not yet closed)."""
    facts = a.facts
    assert isinstance(facts, _Facts)
    stored = _as_stored(case)
    for notice in row.notices:
        _send(notice, case, a.now)
    data = row.records(a) if row.records else {}  # read before anything changes
    for write in row.writes:
        for field, value in write(a).items():
            setattr(case, field, value)
    held: list[CaseEvent] = []
    holding = _held_events.set(held)
    try:
        if row.claims and actor is not None:
            _claim(case, actor, a.now)
        from_status = case.status
        stated = _settle(case, row.settle, facts, a.now, actor) if row.settle else {}
        entering = _move(case, row.target, facts, a.now, stated) if row.target != case.phase else None
    finally:
        _held_events.reset(holding)
    _store(case, stored)
    if row.event is not None:
        held.append(
            CaseEvent(
                case=case,
                type=row.event,
                actor=actor,
                actor_role=a.role,
                from_status=from_status,
                to_status=case.status,
                data={**stated, **data},
                at=a.now,
            )
        )
    if held:
        _append_events(held)
    if row.settle == lifecycle.Settle.DECISION:  # the decision became final: published, in this transaction
        precedents.publish(case, refunded=stated.get("refund", 0), now=a.now)
    if row.gathers_chat:
        add_fresh_chat_log(case, a.now)
    if entering is not None:
        if entering.deadline is not None:  # the policy only when there is a deadline to arm (not on closing)
            _arm(case, entering, a.now, facts.policy())
        if row.settle:
            orders.unfreeze_escrow(facts.order(), a.now)
        for notice in entering.notices:
            _send(notice, case, a.now, refund=stated.get("refund", 0))


# The case row's columns but its key, for `_store`; the JSON ones are copied when remembered (a write
# that changed a dict in place must still be seen to change it).
_STORED = tuple(f for f in RefundCase._meta.concrete_fields if not f.primary_key)
_JSON = frozenset(f.attname for f in _STORED if f.get_internal_type() == "JSONField")


def _as_stored(case: RefundCase) -> tuple:
    """The case row's values as the database holds them now (the case was just read, locked)."""
    values = []
    for field in _STORED:
        value = getattr(case, field.attname)
        values.append(copy.deepcopy(value) if value is not None and field.attname in _JSON else value)
    return tuple(values)


def _store(case: RefundCase, stored: tuple) -> None:
    """`case.save()` of the columns that changed since `stored` (`_as_stored`), in one fixed-text UPDATE
    (`update_rows`), none when nothing changed: the case model has no save hooks, signals or
    auto-updated fields, and a save wrote every column (~30) for the two or five an action changes."""
    changed = [f.name for f, was in zip(_STORED, stored, strict=True) if getattr(case, f.attname) != was]
    if changed:
        update_rows(RefundCase, [case], changed)


def _settle(case: RefundCase, settle: lifecycle.Settle, facts: "_Facts", now: datetime, actor: User | None) -> dict:
    """Final outcome: refund exactly once (before the move: its event precedes the closing one)."""
    refund, resolution = lifecycle.settlement(settle, case)
    _refund(case, facts.order(), refund, now, actor)
    case.resolution, case.closed_at = resolution, now
    return {"refund": refund, "resolution": resolution}


def _move(case: RefundCase, target: Phase, facts: "_Facts", now: datetime, stated: dict) -> lifecycle.PhaseSpec:
    """Leave the phase (its deadline cleared, its timers cancelled) and enter `target` (its deadline set)."""
    _leave(case, lifecycle.PHASES[Phase(case.phase)])
    entering = lifecycle.PHASES[target]
    case.phase, case.status = target, entering.status
    if entering.deadline is not None:
        due = _due(entering.deadline, case, now, facts.policy())
        setattr(case, entering.deadline.field, due)
        if entering.states_deadline:
            stated[entering.deadline.field] = due.isoformat()
    return entering


class _Facts:
    """What the table's guards and writes may ask the database, each asked at most once."""

    def __init__(self, case: RefundCase, actor: User | None, *, order: Order | None = None):
        self.case, self.actor = case, actor
        self._order: Order | None = order  # given: locked already, as order() locks it
        self._policy: Policy | None = None

    def order(self) -> Order:
        """The case's order, locked (only when money may move: the case row alone is locked first)."""
        if self._order is None:
            found = _ORDER_LOCKING_READ.objects(self.case.order_id)
            if not found:
                raise Order.DoesNotExist(f"no order {self.case.order_id}")
            assert isinstance(found[0], Order)
            self._order = found[0]
        return self._order

    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = get_policy()
        return self._policy

    def refundable(self) -> int:
        order = self.order()
        return order.refundable_amount

    def new_evidence(self) -> bool:
        decided_at = (self.case.decision or {}).get("decided_at")
        return Evidence.objects.filter(case=self.case, uploaded_by=self.actor, uploaded_at__gt=decided_at).exists()

    def category_rule(self) -> str:
        return self.policy().category(self.order().snapshot["category"])["rule"]

    def decision_rule(self, rule_id: str) -> rulebook.Rule | None:
        return rulebook.find_decision_rule(rule_id, self.policy().categories)

    def send_replacement(self, content: str, now: datetime) -> dict:
        items, sent = orders.deliver_replacement(self.order(), content=content, now=now)
        return {"items": items, "content": sent, "at": now.isoformat()}


def _locked_orders() -> QuerySet[Order]:
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "buyer")


# _Facts.order's read: one case's order, locked, as _locked_orders gives it, compiled once (kameng.compiled)
_ORDER_LOCKING_READ = PreparedObjects(lambda pk: _locked_orders().filter(pk=pk)[:1], arity=1)


def replacement_items(case: RefundCase, user: User) -> list[str] | None:
    """The keys a replacement sent, for those who may see the order's delivery (the parties); None
    for anyone else (staff see that a replacement was sent, not the secret)."""
    if not case.replacement or not orders.can_see_delivery(case.order, user):
        return None
    ids = case.replacement.get("items") or []
    return list(StockItem.objects.filter(pk__in=ids).order_by("id").values_list("secret", flat=True))


LOCKED_WITH = ("order", "shop", "buyer", "shop__owner")  # what _lock reads with the case row


def _locking_read(role: str | None) -> PreparedObjects:
    """The case row, locked, with LOCKED_WITH: any case (role None, the system) or one a user of `role`
    may see (visible_cases), compiled once (kameng.compiled)."""

    def build(*args: int) -> QuerySet:
        cases = RefundCase.objects if role is None else visible_cases(User(pk=args[0], role=role))
        locked = cases.select_for_update(of=("self",)).select_related(*LOCKED_WITH)
        return locked.filter(pk=args[-1])[:1]  # [:1], not .first(): no ORDER BY on a unique key

    return PreparedObjects(build, arity=2 if role in (Role.BUYER, Role.MERCHANT) else 1)


_LOCKING_READS: dict[str | None, PreparedObjects] = {
    role: _locking_read(role) for role in (None, Role.BUYER, Role.MERCHANT, Role.ARBITRATOR, Role.ADMIN)
}


def _lock(case: RefundCase | int, *, visible_to: User | None = None) -> RefundCase:
    """Lock the case row only (the order row is locked by _Facts.order when money may move).
    `visible_to`: only a case that user may see (`visible_cases`), else CASE_NOT_FOUND."""
    pk = case if isinstance(case, int) else case.pk
    role = None if visible_to is None else visible_to.role
    read = _LOCKING_READS.get(role)
    if read is None or not holds_id(pk):  # no case for other roles
        found = []
    elif visible_to is not None and role in (Role.BUYER, Role.MERCHANT):
        found = read.objects(visible_to.pk, pk)
    else:
        found = read.objects(pk)
    if found:
        assert isinstance(found[0], RefundCase)
        return found[0]
    if visible_to is None:
        raise RefundCase.DoesNotExist(f"no refund case {pk}")
    raise DomainError(Error.CASE_NOT_FOUND)


def _claim(case: RefundCase, arbitrator: User, now: datetime) -> None:
    """The arbitrator takes the case (`claimed_by` keeps two arbitrators off one case)."""
    if case.claimed_by_id != arbitrator.pk:
        case.claimed_by = arbitrator
        case.claimed_at = now  # stored with the rest of the row by _apply (_store), in this transaction
        _event(case, "claimed", arbitrator, now)


def _event(case: RefundCase, type_: str, actor: User | None, now: datetime, **data: Any) -> None:
    """A bookkeeping event: the case stays where it is. Inside an action (`_apply`) it is held back, with
    a copy of the case as it stands now, and written with the action's own event."""
    role = Actor.SYSTEM if actor is None else (role_on_case(case, actor) or actor.role)
    fields = {"actor": actor, "actor_role": role, "from_status": case.status, "to_status": case.status}
    held = _held_events.get()
    if held is None:
        _append_event(case=case, type=type_, data=data, at=now, **fields)
        return
    held.append(CaseEvent(case=copied(case), type=type_, data=data, at=now, **fields))


def _refund(case: RefundCase, order: Order, amount: int, now: datetime, actor: User | None) -> None:
    """Refund exactly once per case; the journal names who made the refund final (the audit log)."""
    if amount <= 0:
        return
    who = actor.username if actor is not None else "system"
    if orders.refund_to_buyer(order, amount, key=_refund_key(case), now=now, case_id=case.pk, actor=who):
        case.refunded_amount += amount  # saved with the rest of the row by _apply, in this transaction
        _event(case, "refunded", None, now, amount=amount)


def _refund_key(case: RefundCase) -> str:
    return f"refund:case:{case.pk}"  # a case refunds once


# ---- deadlines: armed on entering a phase, cancelled on leaving it --------------------------------------


def _due(deadline: Deadline, case: RefundCase, now: datetime, policy: Policy) -> datetime:
    length = deadline.length_for(case)
    number = getattr(policy, length.setting)
    if length.unit == "working_days":
        return add_working_days(now, number)
    return now + (timedelta(hours=number) if length.unit == "hours" else timedelta(days=number))


def _arm(case: RefundCase, phase: lifecycle.PhaseSpec, now: datetime, policy: Policy, *, new: bool = False) -> None:
    """The phase's deadline timer, and a reminder `deadline_reminder_hours` (24 h) before it.
    `new`: the case was created in this transaction, so no timer of it can be pending yet: the rows
    `timers.schedule` would write are armed without its cancel of an earlier one (`timers.arm_new`: with
    the opening's other new timers, in one INSERT)."""
    if phase.deadline is None:
        return
    due = getattr(case, phase.deadline.field)
    target = f"case:{case.pk}"
    wanted = [(phase.deadline.timer, due)]
    remind_at = due - timedelta(hours=policy.deadline_reminder_hours)
    if remind_at > now:
        wanted.append((REMINDER_TIMER, remind_at))
    if new:
        timers.arm_new([Timer(kind=kind, target=target, due_at=at, created_at=now) for kind, at in wanted])
        return
    for kind, at in wanted:
        timers.schedule(kind, target, at, now=now)


def _leave(case: RefundCase, phase: lifecycle.PhaseSpec) -> None:
    if phase.deadline is None:
        return
    setattr(case, phase.deadline.field, None)
    timers.cancel_kinds([phase.deadline.timer, REMINDER_TIMER], f"case:{case.pk}")  # one statement for both


# ---- notices ----------------------------------------------------------------------------------------


def _params(template: str, case: RefundCase, refund: int) -> dict:
    """The raw values a notice's template names (aftersales.notifications renders them)."""
    names = notifications.fields(template)
    deadline = lifecycle.PHASES[Phase(case.phase)].deadline
    values: dict[str, Callable[[], object]] = {
        "case": lambda: case.pk,
        "order": lambda: case.order.number or "",
        "due": lambda: notifications.moment(getattr(case, deadline.field)) if deadline else "",
        "offer": lambda: case.offer_amount or 0,
        "proposal": lambda: (case.decision or {}).get("amount") or 0,
        "closing": lambda: case.resolution or "",
    }
    params = {name: values[name]() for name in names}
    if "closing" in names:
        params["refund"] = refund
    return params


def _recipients(to: To, case: RefundCase) -> list[User]:
    parties = [(Actor.BUYER, case.buyer), (Actor.MERCHANT, case.shop.owner)]
    if to == To.BUYER:
        return [case.buyer]
    if to == To.MERCHANT:
        return [case.shop.owner]
    if to == To.PARTIES:
        return [user for _, user in parties]
    if to == To.UNANSWERED:
        return [user for role, user in parties if role not in case.compromise_answers]
    if to == To.CLAIMANT:
        return [case.claimed_by] if case.claimed_by is not None else []
    staff = User.objects.filter(role__in=[Role.ARBITRATOR, Role.ADMIN], is_active=True)
    return [s for s in staff if case.claimed_by_id in (None, s.pk) or s.role == Role.ADMIN]


def _send(notice: Notice, case: RefundCase, now: datetime, *, refund: int = 0) -> None:
    inbox.deliver_many(_deliveries(notice, case, now, refund=refund))  # the parties, staff: in one INSERT


def _deliveries(notice: Notice, case: RefundCase, now: datetime, *, refund: int = 0) -> list[inbox.Delivery]:
    """The notice's notifications: to each recipient, in the reader's language, e-mailed too when the
    user has an address."""
    params = _params(notice.text, case, refund)
    subject = (CASE_SUBJECT, {"case": case.pk})
    return [
        inbox.Delivery(user, notice.kind, notice.text, params, now, case, subject)
        for user in _recipients(notice.to, case)
    ]


CASE_SUBJECT = "[卡盟] 售后单 {case}"


# ---- opening -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A case just opened and the rows of its timeline the opening wrote: its evidence (the three
    system files) and its events (`opened`), as stored, so the answer needs not read them back."""

    case: RefundCase
    evidence: list[Evidence]
    events: list[CaseEvent]


def open_case(
    *, acting_user: User, order_id: Any, reason: str, description: str, amount: int, now: datetime | None = None
) -> RefundCase:
    """申请售后. Checks in the contract's order: window, one open case, amount, no-reason."""
    return open_case_with_rows(
        acting_user=acting_user, order_id=order_id, reason=reason, description=description, amount=amount, now=now
    ).case


def open_case_with_rows(
    *, acting_user: User, order_id: Any, reason: str, description: str, amount: int, now: datetime | None = None
) -> Opened:
    """`open_case`, returning the evidence and events it wrote as well (the API's answer shows them)."""
    if acting_user.role != Role.BUYER:
        raise DomainError(Error.CASE_BUYER_ONLY)
    now = now or clock_now()
    policy = get_policy()
    # The new case's timers (its deadline and reminder, the merchant's two reminders) in one INSERT at the end.
    with transaction.atomic(), timers.new_timers():
        # One locked read that is also the visibility check (404 for another buyer's order), then the
        # input's checks in the contract's order.
        order = orders.lock_order_for(order_id, acting_user, "shop__owner", "buyer", "listing_version")
        if reason not in Reason.values:
            raise DomainError(Error.CASE_REASON_INVALID, param="reason")
        description = (description or "").strip()
        if not description or len(description) > 5000:
            raise DomainError(Error.CASE_DESCRIPTION_INVALID, param="description")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise DomainError(Error.CASE_AMOUNT_INVALID, param="amount")
        if reason == Reason.RECLAIMED:  # 找回包赔: its own window, the warranty
            if order.warranty_until is None or now > order.warranty_until:
                raise DomainError(Error.CASE_RECLAIM_OUTSIDE_WARRANTY)
        elif (window_end := orders.claim_window_end(order, quality=reason in rules.QUALITY_REASONS)) is not None and (
            now > window_end
        ):
            raise DomainError(Error.REFUND_WINDOW_CLOSED)
        _refuse_another_round(order)
        refundable = order.refundable_amount
        if amount > refundable:
            raise DomainError(Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, param="amount", max=refundable)
        if reason == Reason.NO_REASON and no_reason_return_excluded(order.snapshot, order.special_terms_accepted):
            raise DomainError(Error.NO_REASON_NOT_ALLOWED)
        first = lifecycle.PHASES[Phase.AWAITING_MERCHANT]
        case = RefundCase(
            order=order,
            buyer=acting_user,
            shop=order.shop,
            phase=Phase.AWAITING_MERCHANT,
            status=first.status,
            reason=reason,
            description=description,
            requested_amount=amount,
            # 找回包赔: a reclaim inside the warranty is fast-tracked whatever the amount (rules.md)
            fast_track=reason == Reason.RECLAIMED
            or rules.is_fast_track(amount, order.snapshot["category_class"], policy.fast_track_threshold_fen),
            created_at=now,
        )
        assert first.deadline is not None
        setattr(case, first.deadline.field, _due(first.deadline, case, now, policy))
        # The row as a save would insert it, in fixed text (`insert_rows`). No savepoint around it: the
        # one open case per order that the constraint keeps was checked above under the order's lock,
        # and should the constraint still refuse the row, the error leaves this transaction, which
        # rolls back as a whole.
        try:
            insert_rows(RefundCase, [case])
        except IntegrityError:
            raise DomainError(Error.CASE_ALREADY_OPEN) from None
        opened = _append_event(
            case=case,
            type="opened",
            actor=acting_user,
            actor_role=Actor.BUYER,
            to_status=case.status,
            data={"reason": reason, "amount": amount},
            at=now,
        )
        orders.freeze_escrow(order, now)
        evidence_rows = _attach_system_evidence(case, order, now)
        _arm(case, first, now, policy, new=True)
        for notice in first.notices:
            _send(notice, case, now)
    # No analysis job: the system files come with their extracts (append_texts), nothing is left to
    # read, and the assist analyses the case from them when an arbitrator first asks (assist_for).
    return Opened(case, evidence_rows, [opened])


def _refuse_another_round(order: Order) -> None:
    """One open case per order; and what the earlier cases on it leave open: nothing after a ruling or
    a settlement, and one more request after a withdrawal (rules.md "after a settlement"). The
    order's earlier cases are read in one query (the caller holds the order lock)."""
    earlier = [
        (status, resolution, decision is not None) for status, resolution, decision in _EARLIER_CASES.rows(order.pk)
    ]
    if any(status in OPEN_STATUSES for status, _, _ in earlier):
        raise DomainError(Error.CASE_ALREADY_OPEN)
    closed = [(resolution, ruled) for status, resolution, ruled in earlier if status == CaseStatus.CLOSED]
    if any(ruled for _, ruled in closed):
        # The platform already ruled on this order (finally, after the appeal window): no second round.
        raise DomainError(Error.CASE_ALREADY_DECIDED)
    if any(resolution in lifecycle.SETTLED for resolution, _ in closed):
        raise DomainError(Error.CASE_ALREADY_SETTLED)  # accept, accept_offer, or a fast-track refund of silence
    if sum(resolution == Resolution.WITHDRAWN for resolution, _ in closed) >= REOPENS_ALLOWED + 1:
        raise DomainError(Error.REOPEN_LIMIT_REACHED)


# The order's earlier cases for _refuse_another_round (a decision is stored as SQL NULL until there is one),
# in a fixed statement compiled once (kameng.compiled): usually no row at all.
_EARLIER_CASES = Prepared(
    lambda order_id: RefundCase.objects.filter(order_id=order_id).values_list("status", "resolution", "decision"),
    arity=1,
)


def _attach_system_evidence(case: RefundCase, order: Order, now: datetime) -> list[Evidence]:
    """The platform's own evidence: listing snapshot, transaction record, chat log (four-dimension chain),
    the first three links of the new case's chain, written together."""
    events, messages = order_record(order)
    return evidence.append_texts(
        case,
        [
            ("listing", f"listing-snapshot-{order.number}.txt", snapshot_text(order)),
            ("transaction", f"transaction-{order.number}.txt", transaction_text(order, events)),
            ("communication", f"{CHAT_LOG}{order.number}.txt", chat_log_text(order, messages)),
        ],
        now=now,
        first=True,
    )


CHAT_LOG = "chat-log-"  # the file name of every chat log the platform itself takes


def add_fresh_chat_log(case: RefundCase, now: datetime) -> Evidence | None:
    """The order chat as it stands now, added to the case's evidence (system, communication) when it
    changed since the last chat log the platform took: at escalation and appeal the arbitrator reads
    what was said after the case opened, and a complaint package carries the latest chat. The caller
    holds the case lock (kameng.evidence appends to the chain in order)."""
    text = chat_log_text(case.order)
    taken = Evidence.objects.filter(case=case, source="system", category="communication", filename__startswith=CHAT_LOG)
    last = taken.order_by("-seq").first()
    if last is not None and last.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest():
        return None
    name = f"{CHAT_LOG}{case.order.number}-{timezone.localtime(now):%Y%m%d-%H%M%S}.txt"
    item = evidence.append_text(case, category="communication", filename=name, text=text, now=now)
    _event(case, "evidence_added", None, now, evidence=str(item.pk), category="communication")
    _after_evidence(case)  # the assist reads it once the transaction commits
    return item


def refresh_chat_log(case: RefundCase, now: datetime | None = None) -> Evidence | None:
    """add_fresh_chat_log under the case lock, for readers outside a transition (the complaint package)."""
    with transaction.atomic():
        return add_fresh_chat_log(_lock(case), now or clock_now())


def _after_evidence(case: RefundCase) -> None:
    """Evidence analysis (the arbitrator's assist) once the evidence is committed: a background job."""
    jobs.enqueue("analyse_case", case.pk)


# ---- the actions by name (the demo, the pages' decision form and the tests call these) ------------------


def accept(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    """Merchant agrees: the requested amount is refunded at once."""
    return act(case, "accept", acting_user=acting_user, now=now)


def offer(case: RefundCase, *, acting_user: User, amount: int, now: datetime | None = None) -> RefundCase:
    return act(case, "offer", acting_user=acting_user, now=now, amount=amount)


def reject(case: RefundCase, *, acting_user: User, reason: str, now: datetime | None = None) -> RefundCase:
    return act(case, "reject", acting_user=acting_user, now=now, reason=reason)


def accept_offer(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    return act(case, "accept_offer", acting_user=acting_user, now=now)


def escalate(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    return act(case, "escalate", acting_user=acting_user, now=now)


def withdraw(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    return act(case, "withdraw", acting_user=acting_user, now=now)


def claim(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    return act(case, "claim", acting_user=acting_user, now=now)


def decide(
    case: RefundCase,
    *,
    acting_user: User,
    outcome: str,
    rationale: str,
    amount: int | None = None,
    rule: str = "",
    now: datetime | None = None,
) -> RefundCase:
    return act(
        case, "decide", acting_user=acting_user, now=now, outcome=outcome, rationale=rationale, amount=amount, rule=rule
    )


def respond_compromise(case: RefundCase, *, acting_user: User, accept: bool, now: datetime | None = None) -> RefundCase:
    return act(case, "respond_compromise", acting_user=acting_user, now=now, accept=accept)


def accept_decision(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    return act(case, "accept_decision", acting_user=acting_user, now=now)


def appeal(case: RefundCase, *, acting_user: User, reason: str, now: datetime | None = None) -> RefundCase:
    """二次申诉: once per case, with evidence added after the decision; another arbitrator decides."""
    return act(case, "appeal", acting_user=acting_user, now=now, reason=reason)


# ---- timers (the system actor) -------------------------------------------------------------------------


def expire(case_id: int, action: str, now: datetime) -> None:
    """A phase's deadline passed: run the system action it fires (nothing if the case moved on)."""
    _transition(case_id, action, None, now, {})


def expire_merchant_deadline(case_id: int, now: datetime) -> None:
    """Merchant silence is never rewarded: fast track refunds in full, anything else goes to arbitration."""
    expire(case_id, "merchant_timeout", now)


def expire_merchant_deadlines(case_ids: list[int], now: datetime) -> list[int]:
    """Timer, a sweep's merchant deadlines at once: `expire_merchant_deadline` for each case."""
    return expire_many(case_ids, lifecycle.MERCHANT_DEADLINE, now)


def expire_many(case_ids: list[int], deadline: Deadline, now: datetime) -> list[int]:
    """Timer, a bite of one deadline's timers at once: `expire` for each of these cases, with their
    case rows locked in one statement and the orders of the cases whose row settles (money moves) in
    one more, both in id order — instead of two statements per case. Each case's row is chosen as
    `_run` chooses it (the same rows and checks); a case with nothing to do (not due, or moved on)
    is left as it is. The cases whose row refunds and settles the order plainly move together
    (`_settle_together`: the same rows as one by one, in a few statements for all of them), first;
    the others then run through `_run`, in the timers' order.
    Returns the cases left to `expire` one by one (the sweeper runs those after these): one that is
    not there (it raises there, and the sweep rolls back), and one whose order an earlier case of this
    bite also holds (its order is read after that case wrote it). Runs inside the sweep's batch,
    which rolls back and reruns its timers one by one if anything here raises."""
    action = deadline.fires
    with transaction.atomic(savepoint=False):
        locking = RefundCase.objects.select_for_update(of=("self",)).select_related(*LOCKED_WITH)
        cases = {case.pk: case for case in locking.filter(pk__in=case_ids).order_by("pk")}
        left, moving, orders_taken = [], [], set()
        for case_id in case_ids:
            case = cases.get(case_id)
            if case is None or case.order_id in orders_taken:
                left.append(case_id)
                continue
            orders_taken.add(case.order_id)
            moving.append(case)
        chosen = {case.pk: _choose(case, action, None, Actor.SYSTEM, now, {}, _Facts(case, None)) for case in moving}
        settling = [case.order_id for case in moving if (c := chosen[case.pk]) is not None and c[0].settle is not None]
        orders = {o.pk: o for o in _locked_orders().filter(pk__in=settling).order_by("pk")} if settling else {}
        together = _settling_together(moving, chosen, deadline, orders, now)
        if together:
            _settle_together(together, deadline, now)
        for case in moving:
            if chosen[case.pk] is None or case.pk in together:
                continue
            # The row's cancel of this deadline's timer is the running timer's own, as one by one.
            with timers.running(deadline.timer, f"case:{case.pk}"):
                _run(case, action, None, Actor.SYSTEM, now, {}, _Facts(case, None, order=orders.get(case.order_id)))
    return left


@dataclass(frozen=True)
class _Together:
    """A case whose deadline settles it plainly, for `_settle_together`: its row, and its order's."""

    case: RefundCase
    row: Row
    attempt: Attempt
    settlement: orders.Settlement


def _settling_together(
    moving: list[RefundCase], chosen: dict, deadline: Deadline, locked: dict[int, Order], now: datetime
) -> dict[int, _Together]:
    """The cases of `moving` whose row closes the case with a refund and nothing else `_apply` would do
    besides (no claim, no decision published, no chat gathered, no deadline to arm), on an order that
    `orders.refund_and_close_many` can settle (`orders.plain_settlement`), paid from the wallet (a
    gateway-paid order's refund goes back by its route: one by one). By case id, in the given order."""
    candidates = []
    for case in moving:
        found = chosen[case.pk]
        if found is None or lifecycle.PHASES[Phase(case.phase)].deadline is not deadline:
            continue
        row, attempt = found
        if row.target != Phase.CLOSED or row.settle in (None, lifecycle.Settle.DECISION) or row.claims:
            continue
        if row.gathers_chat or row.event is None:
            continue
        refund, _ = lifecycle.settlement(row.settle, case)
        settlement = orders.plain_settlement(
            locked[case.order_id], refund, key=_refund_key(case), case_id=case.pk, now=now
        )
        if settlement is not None:
            candidates.append(_Together(case, row, attempt, settlement))
    by_gateway = orders.paid_by_gateway([c.settlement.refund.order for c in candidates])
    return {c.case.pk: c for c in candidates if c.settlement.refund.order.pk not in by_gateway}


def _settle_together(together: dict[int, _Together], deadline: Deadline, now: datetime) -> None:
    """`_apply` of each of these settling rows, in order, writing what it writes one by one (the
    notices, the refund and the order's settlement, the two events, the case row, the reminders'
    cancel), each table in one statement or a few for all of them.

    The refund's event is heard (its listeners run) with the case as it stands when `_refund` books
    it one by one: refunded, not yet closed. The running deadline timer's own cancel is the sweep's,
    as one by one (timers.running)."""
    deliveries: list[inbox.Delivery] = []
    events: list[CaseEvent] = []
    fields = {"refunded_amount", "resolution", "closed_at", "phase", "status", deadline.field}
    for t in together.values():
        case, row, a = t.case, t.row, t.attempt
        for notice in row.notices:
            deliveries += _deliveries(notice, case, now)
        data = row.records(a) if row.records else {}
        for write in row.writes:
            for field, value in write(a).items():
                setattr(case, field, value)
                fields.add(field)
        from_status, refund = case.status, t.settlement.refund.amount
        case.refunded_amount += refund
        refunded = copied(case)  # as the refund's listeners hear it one by one
        events.append(_system_event(refunded, "refunded", now, from_status, from_status, {"amount": refund}))
        assert row.settle is not None and row.event is not None  # chosen so (_settling_together)
        resolution = lifecycle.settlement(row.settle, case)[1]
        case.resolution, case.closed_at = resolution, now
        setattr(case, deadline.field, None)  # _leave: the phase's deadline cleared
        entering = lifecycle.PHASES[row.target]
        case.phase, case.status = row.target, entering.status
        stated = {"refund": refund, "resolution": resolution}
        events.append(_system_event(case, row.event, now, from_status, case.status, {**stated, **data}))
        for notice in entering.notices:
            deliveries += _deliveries(notice, case, now, refund=refund)
    orders.refund_and_close_many([t.settlement for t in together.values()], now)
    _append_events(events)
    timers.cancel_many(REMINDER_TIMER, [f"case:{pk}" for pk in together])
    update_rows(RefundCase, [t.case for t in together.values()], sorted(fields))
    inbox.deliver_many(deliveries)


def _system_event(
    case: RefundCase, type_: str, now: datetime, from_status: str, to_status: str, data: dict
) -> CaseEvent:
    return CaseEvent(
        case=case,
        type=type_,
        actor=None,
        actor_role=Actor.SYSTEM,
        from_status=from_status,
        to_status=to_status,
        data=data,
        at=now,
    )


def expire_buyer_deadline(case_id: int, now: datetime) -> None:
    """The buyer did not answer the offer or rejection in time: the case closes withdrawn."""
    expire(case_id, "buyer_timeout", now)


def expire_compromise_deadline(case_id: int, now: datetime) -> None:
    """The compromise was not agreed in time: back to the arbitrator for a binding decision."""
    expire(case_id, "compromise_timeout", now)


def expire_appeal_window(case_id: int, now: datetime) -> None:
    """No appeal in time: the decision becomes final and the money moves."""
    expire(case_id, "appeal_timeout", now)


def flag_overdue_decision(case_id: int, now: datetime) -> None:
    """decide_by passed: nothing is decided automatically; the case is flagged and staff told."""
    expire(case_id, "decision_overdue", now)


def remind_deadline(case_id: int, now: datetime) -> None:
    """`deadline_reminder_hours` before a phase's deadline: tell whoever must act."""
    case = RefundCase.objects.select_related(*REMINDED_WITH).get(pk=case_id)
    reminder = _reminder(case)
    if reminder is not None:
        _send(reminder, case, now)


def remind_deadlines(case_ids: list[int], now: datetime) -> list[int]:
    """Timer, a sweep's reminders at once: `remind_deadline` for each of these cases, their cases read
    in one query and every notice in one INSERT (`inbox.deliver_many`: the rows and e-mails
    `_send` writes, in the same order). Returns the cases left to `remind_deadline` one by one:
    a case that is not there (it raises there) and one whose notice goes to staff (read per case)."""
    cases = RefundCase.objects.select_related(*REMINDED_WITH).in_bulk(set(case_ids))
    left, deliveries = [], []
    for case_id in case_ids:
        case = cases.get(case_id)
        reminder = _reminder(case) if case is not None else None
        if case is None or (reminder is not None and reminder.to == To.STAFF):
            left.append(case_id)
        elif reminder is not None:
            deliveries += _deliveries(reminder, case, now)
    inbox.deliver_many(deliveries)
    return left


REMINDED_WITH = ("buyer", "shop__owner", "claimed_by", "order")  # what a reminder's recipients and text read


def _reminder(case: RefundCase) -> Notice | None:
    """The reminder of the case's phase deadline, if the phase has one and it is set."""
    deadline = lifecycle.PHASES[Phase(case.phase)].deadline
    if deadline is not None and getattr(case, deadline.field) is not None:
        return deadline.reminder
    return None


# ---- evidence uploads by parties -----------------------------------------------------------------------


def add_evidence(case: RefundCase, *, acting_user: User, upload: Any, category: str, note: str = "") -> Evidence:
    """A party (or arbitrator) adds a file; type and size are checked by kameng.evidence.uploads."""
    role = role_on_case(case, acting_user)
    if role not in (Actor.BUYER, Actor.MERCHANT, Actor.ARBITRATOR):
        raise DomainError(Error.EVIDENCE_UPLOAD_NOT_ALLOWED)
    if category not in evidence.CATEGORIES:
        raise DomainError(Error.EVIDENCE_CATEGORY_INVALID, param="category")
    if len(note or "") > 2000:
        raise DomainError(Error.EVIDENCE_NOTE_TOO_LONG, param="note")
    checked = inspect_upload(upload)
    now = clock_now()
    with transaction.atomic():
        case = _lock(case)
        if case.phase == Phase.CLOSED:
            raise DomainError(Error.EVIDENCE_CASE_CLOSED)
        item = evidence.append(
            case,
            category=category,
            source=role if role != Actor.ARBITRATOR else "system",
            filename=checked.filename,
            content_type=checked.content_type,
            content=checked.file,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=acting_user,
            note=note or "",
            now=now,
        )
        _event(case, "evidence_added", acting_user, now, evidence=str(item.pk), category=category)
    _after_evidence(case)
    return item
