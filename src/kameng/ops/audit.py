"""The audit log: who did what, and when, to cases, money, shops, policies and data.

It is a read model over the tables that already record each happening, in the same
transaction as the happening itself (style: "the audit log ... read from events"):

  case      aftersales.CaseEvent      every case transition, timeout, claim, evidence, refund
  money     ledger.JournalEntry       every money movement (actor, amount, order, case)
  order     orders.OrderEvent         payment, delivery, confirmation, escrow changes
  sanction  trust.SanctionEvent       shop status changes, automatic or by an operator
  admin     admin.LogEntry            any change made through the Django admin
  staff     security.AuditRecord      policy edits, accounts made from the CLI, backups, restores
                                      (written by kameng.security.audit.record)

`search` merges them newest first with the contract's cursor pagination; an entry's id is
"<source>:<pk>", so `starting_after` works across sources.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.accounts.models import Role
from kameng.aftersales.lifecycle import EVENTS
from kameng.aftersales.models import CaseEvent, CaseStatus
from kameng.catalog.models import ShopStatus
from kameng.errors import DomainError, Error
from kameng.labels import label
from kameng.ledger import memos
from kameng.ledger.models import JournalEntry
from kameng.money import yuan
from kameng.orders.events import event_label
from kameng.orders.models import OrderEvent
from kameng.security.models import AuditRecord
from kameng.trust.models import SanctionEvent

MAX_LIMIT = 100


@dataclass
class Entry:
    id: str
    source: str
    type: str
    actor: str  # username, or "system" / "gateway:…" / "cli"
    actor_role: str
    at: datetime
    target: str
    summary: str
    data: dict
    text: str = ""  # the summary for people, in the active language, with labels for every code (pages)

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def role_label(self) -> str:
        if self.actor_role in ("system", "cli"):
            return _("系统") if self.actor_role == "system" else _("命令行")
        return label(Role, self.actor_role)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "at": self.at.isoformat(),
            "target": self.target,
            "summary": self.summary,
            "data": self.data,
        }


@dataclass(frozen=True)
class Source:
    name: str
    rank: int  # tie-break between sources at the same instant
    queryset: Callable[[], Any]
    time_field: str
    text_fields: tuple[str, ...]  # searched by q (icontains)
    id_fields: tuple[str, ...]  # matched by q when q is a number (order / case ids)
    actor_q: Callable[[str], Q]
    type_q: Callable[[str], Q]  # the part after "<source>."
    entry: Callable[[Any], Entry]


def _name(user) -> str:
    return user.username if user is not None else "system"


def _role(user) -> str:
    return getattr(user, "role", "") if user is not None else "system"


def _user_actor_q(field: str = "actor") -> Callable[[str], Q]:
    def q(actor: str) -> Q:
        return Q(**{f"{field}__isnull": True}) if actor == "system" else Q(**{f"{field}__username__iexact": actor})

    return q


def _case_entry(e) -> Entry:
    move = f"{e.from_status} → {e.to_status}" if e.from_status != e.to_status else e.to_status
    return Entry(
        f"case:{e.pk}",
        "case",
        f"case.{e.type}",
        _name(e.actor),
        e.actor_role,
        e.at,
        f"case:{e.case_id}",
        f"售后单 {e.case_id}: {e.type} ({move})",
        e.data or {},
        _case_text(e),
    )


def _case_text(e) -> str:
    told = EVENTS.get(e.type)
    what = str(told.label) if told else e.type
    text = _("售后单 #%(case)s：%(what)s") % {"case": e.case_id, "what": what}
    if e.from_status and e.from_status != e.to_status:
        text += _("（%(from)s → %(to)s）") % {
            "from": label(CaseStatus, e.from_status),
            "to": label(CaseStatus, e.to_status),
        }
    return text


def _money_entry(e) -> Entry:
    amount = sum(p.amount for p in e.postings.all() if p.amount > 0)
    targets = [t for t in (f"order:{e.order_id}" if e.order_id else "", f"case:{e.case_id}" if e.case_id else "") if t]
    legs = [{"account": p.account.code, "amount": p.amount} for p in e.postings.all()]
    return Entry(
        f"money:{e.pk}",
        "money",
        f"money.{e.kind}",
        e.actor or "system",
        "",
        e.created_at,
        " ".join(targets),
        f"{e.memo} {yuan(amount)}".strip(),
        {"amount": amount, "key": e.idempotency_key, "postings": legs},
        f"{memos.shown(e.memo)} {yuan(amount)}".strip(),
    )


def _order_entry(e) -> Entry:
    return Entry(
        f"order:{e.pk}",
        "order",
        f"order.{e.type}",
        _name(e.actor),
        e.actor_role,
        e.at,
        f"order:{e.order_id}",
        f"订单 {e.order_id}: {e.type}",
        e.data or {},
        _("订单 #%(order)s：%(what)s") % {"order": e.order_id, "what": event_label(e.type)},
    )


def _sanction_entry(e) -> Entry:
    actor = _name(e.actor) if e.source == "admin" else "system"
    return Entry(
        f"sanction:{e.pk}",
        "sanction",
        f"sanction.{e.to_status}",
        actor,
        _role(e.actor) if e.source == "admin" else "system",
        e.at,
        f"shop:{e.shop_id}",
        f"店铺 {e.shop_id}: {e.from_status} → {e.to_status}: {e.reason}",
        {"source": e.source, "score": e.score, "grade": e.grade},
        _("店铺 #%(shop)s：%(from)s → %(to)s：%(reason)s")
        % {
            "shop": e.shop_id,
            "from": label(ShopStatus, e.from_status),
            "to": label(ShopStatus, e.to_status),
            "reason": e.reason,
        },
    )


def _admin_entry(e) -> Entry:
    action = {1: "add", 2: "change", 3: "delete"}.get(e.action_flag, str(e.action_flag))
    model = f"{e.content_type.app_label}.{e.content_type.model}" if e.content_type_id else ""
    return Entry(
        f"admin:{e.pk}",
        "admin",
        f"admin.{action}",
        _name(e.user),
        _role(e.user),
        e.action_time,
        f"{model}:{e.object_id or ''}",
        f"{action} {model} {e.object_repr}: {e.get_change_message()}",
        {"model": model, "object_id": e.object_id},
        f"{e.object_repr}: {e.get_change_message()}",
    )


def _staff_entry(e) -> Entry:
    return Entry(
        f"staff:{e.pk}",
        "staff",
        f"staff.{e.type}",
        e.actor.username if e.actor_id else (e.actor_name or "cli"),
        _role(e.actor) if e.actor_id else "cli",
        e.at,
        e.target,
        e.summary,
        e.data or {},
        e.summary,
    )


def _sources() -> list[Source]:
    def staff_actor(actor: str) -> Q:
        if actor == "system":
            return Q(pk__in=[])
        return Q(actor__username__iexact=actor) | Q(actor__isnull=True, actor_name__iexact=actor)

    def sanction_actor(actor: str) -> Q:
        return Q(source="auto") if actor == "system" else Q(source="admin", actor__username__iexact=actor)

    def admin_type(action: str) -> Q:
        flag = {"add": 1, "change": 2, "delete": 3}.get(action)
        return Q(action_flag=flag) if flag else Q(pk__in=[])

    return [
        Source(
            "case",
            1,
            lambda: CaseEvent.objects.select_related("actor"),
            "at",
            ("type",),
            ("case_id",),
            _user_actor_q(),
            lambda t: Q(type=t),
            _case_entry,
        ),
        Source(
            "money",
            2,
            lambda: JournalEntry.objects.prefetch_related("postings__account"),
            "created_at",
            ("kind", "memo", "idempotency_key", "actor"),
            ("order_id", "case_id"),
            lambda a: Q(actor__iexact=a) | (Q(actor="") if a == "system" else Q(pk__in=[])),
            lambda t: Q(kind=t),
            _money_entry,
        ),
        Source(
            "order",
            3,
            lambda: OrderEvent.objects.select_related("actor"),
            "at",
            ("type",),
            ("order_id",),
            _user_actor_q(),
            lambda t: Q(type=t),
            _order_entry,
        ),
        Source(
            "sanction",
            4,
            lambda: SanctionEvent.objects.select_related("actor"),
            "at",
            ("reason", "to_status"),
            ("shop_id",),
            sanction_actor,
            lambda t: Q(to_status=t),
            _sanction_entry,
        ),
        Source(
            "admin",
            5,
            lambda: LogEntry.objects.select_related("user", "content_type"),
            "action_time",
            ("object_repr", "change_message"),
            (),
            _user_actor_q("user"),
            admin_type,
            _admin_entry,
        ),
        Source(
            "staff",
            6,
            lambda: AuditRecord.objects.select_related("actor"),
            "at",
            ("type", "target", "summary"),
            (),
            staff_actor,
            lambda t: Q(type=t),
            _staff_entry,
        ),
    ]


SOURCES = ("case", "money", "order", "sanction", "admin", "staff")
SOURCE_LABELS = {
    "case": gettext_lazy("售后"),
    "money": gettext_lazy("资金"),
    "order": gettext_lazy("订单"),
    "sanction": gettext_lazy("店铺处罚"),
    "admin": gettext_lazy("后台修改"),
    "staff": gettext_lazy("运营操作"),
}


def _parse_id(entry_id: str, sources: dict) -> tuple[Source, int]:
    name, _, pk = (entry_id or "").partition(":")
    if name not in sources or not pk.isdigit():
        raise DomainError(Error.CURSOR_INVALID, param="starting_after")
    return sources[name], int(pk)


def search(*, q: str = "", actor: str = "", type: str = "", limit: int = 20, starting_after: str | None = None) -> dict:
    """Newest first across every source: {"data": [entry as the API shows it…], "has_more": bool}."""
    page = search_entries(q=q, actor=actor, type=type, limit=limit, starting_after=starting_after)
    return {"data": [e.as_dict() for e in page["data"]], "has_more": page["has_more"]}


def search_entries(
    *, q: str = "", actor: str = "", type: str = "", limit: int = 20, starting_after: str | None = None
) -> dict:
    """Newest first across every source: {"data": [Entry…], "has_more": bool}.

    q: text in the entry (kind, memo, reason, type …), or an order / case / shop id;
    actor: a username, or "system"; type: a source ("money") or a full type ("money.refund").
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(Error.LIMIT_OUT_OF_RANGE, param="limit")
    q, actor, type = (q or "").strip()[:200], (actor or "").strip()[:150], (type or "").strip()[:80]
    sources = {s.name: s for s in _sources()}
    wanted_source, _, wanted_type = type.partition(".")
    if type and wanted_source not in sources:
        raise DomainError(Error.AUDIT_TYPE_INVALID, param="type", sources=", ".join(SOURCES))
    cursor = None
    if starting_after:
        source, pk = _parse_id(starting_after, sources)
        at = source.queryset().filter(pk=pk).values_list(source.time_field, flat=True).first()
        if at is None:
            raise DomainError(Error.CURSOR_INVALID, param="starting_after")
        cursor = (at, source.rank, pk)
    candidates = []
    for source in sources.values():
        if type and source.name != wanted_source:
            continue
        qs = source.queryset()
        if wanted_type and source.name == wanted_source:
            qs = qs.filter(source.type_q(wanted_type))
        if actor:
            qs = qs.filter(source.actor_q(actor))
        if q:
            match = Q(pk__in=[])
            for field in source.text_fields:
                match |= Q(**{f"{field}__icontains": q})
            if q.isdigit() and len(q) < 18:
                for field in source.id_fields:
                    match |= Q(**{field: int(q)})
            qs = qs.filter(match)
        if cursor:
            at, rank, pk = cursor
            field = source.time_field
            if source.rank < rank:
                qs = qs.filter(**{f"{field}__lte": at})
            elif source.rank > rank:
                qs = qs.filter(**{f"{field}__lt": at})
            else:
                qs = qs.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))
        rows = qs.order_by(f"-{source.time_field}", "-pk")[: limit + 1]
        candidates += [((getattr(r, source.time_field), source.rank, r.pk), source, r) for r in rows]
    candidates.sort(key=lambda c: c[0], reverse=True)
    page = candidates[:limit]
    return {"data": [source.entry(row) for _key, source, row in page], "has_more": len(candidates) > limit}
