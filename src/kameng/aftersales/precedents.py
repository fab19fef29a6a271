"""Precedents: final decisions, published anonymized (rules.md "Transparency"; issue 18.5).

A decision is final when the appeal window passes, when the party it went against accepts it, when
both parties accept a compromise, or when the appeal is decided — the lifecycle rows that close a case
with `Settle.DECISION`. At that transition the service calls `publish`, in the same transaction: one
stored row per case (a query over final cases would have to scrub a million rationales per page).

The published row has the category, the reason, the outcome, the amounts, the rule applied and the
rationale — scrubbed of the parties' and the shop's names, order numbers, contact details (phone, QQ,
WeChat, email, links) and evidence file names and hashes. Amounts stay.
"""

import re
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from kameng.accounts.models import User

from .models import Precedent, RefundCase

# ---- scrubbing -------------------------------------------------------------------------------------------

HIDDEN_NAME = "[已隐去]"
_CONTACT = "[联系方式已隐去]"
_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[邮箱已隐去]"),
    (re.compile(r"(?:https?://|www\.)\S+", re.I), "[链接已隐去]"),
    # QQ and WeChat, labelled: the label goes with the number (扣扣/企鹅号 are how people dodge filters)
    (re.compile(r"(?:QQ|扣扣|企鹅号?|Q号)\s*(?:号码?|群)?\s*[:：]?\s*[0-9０-９]{5,12}", re.I), _CONTACT),
    (
        re.compile(
            r"(?:微信|薇信|威信|VX|V信|WX|weixin|wechat)\s*(?:号)?\s*[:：]?\s*[A-Za-z][-_A-Za-z0-9]{4,19}", re.I
        ),
        _CONTACT,
    ),
    (re.compile(r"(?:微信|薇信|威信|VX|V信|WX|weixin|wechat)\s*(?:号)?\s*[:：]?\s*[0-9]{5,12}", re.I), _CONTACT),
    (re.compile(r"KM\d{8,}", re.I), "[订单号已隐去]"),  # orders.services: KM<yyyymmdd><pk:08d>
    (re.compile(r"(?<![\d.])(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?!\d)"), "[电话已隐去]"),
    (re.compile(r"(?<![\d.])0\d{2,3}-\d{7,8}(?!\d)"), "[电话已隐去]"),
    (re.compile(r"\b[0-9a-f]{16,}\b", re.I), "[哈希已隐去]"),  # evidence SHA-256s, chain heads
    (
        re.compile(r"[^\s，。；：、,;:()（）\"'“”]+\.(?:png|jpe?g|webp|gif|mp4|webm|pdf|txt)\b", re.I),
        "[证据文件]",
    ),
    # anything else that looks like an account or order number (≥ 7 digits; amounts are written in
    # yuan with a decimal point or as a few digits, so they stay)
    (re.compile(r"(?<![\d.¥￥])\d{7,}(?![\d.])"), "[号码已隐去]"),
)


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """`text` without the given names (users, the shop), contacts, order numbers or evidence names."""
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(re.escape(name), HIDDEN_NAME, text, flags=re.I)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def names_in(case, users) -> list[str]:
    """Everyone the rationale could name: the buyer, the merchant, the shop, the arbitrators (`users`:
    the User manager, or a migration's historical one)."""
    arbitrators = {d.get("arbitrator") for d in (case.decision, (case.appeal or {}).get("decision")) if d}
    people = [case.buyer, case.shop.owner, *users.filter(pk__in=[int(a) for a in arbitrators if a])]
    names = [case.shop.name, case.shop.contact]
    for person in people:
        names += [person.username, person.real_name, person.email, person.phone]
    return names


def standing_if_final(case) -> dict | None:
    """The decision that stands, if it is final (the appeal's once decided, else the first one)."""
    appeal_decision = (case.appeal or {}).get("decision")
    standing = appeal_decision or case.decision
    return standing if standing and standing.get("final") else None


def precedent_fields(case, standing: dict, *, refunded: int, published_at: datetime, names: Iterable[str]) -> dict:
    """The Precedent row of a case whose `standing` decision is final (plain data: the backfill
    migration uses it on historical models too)."""
    appealed = bool(case.appeal and case.appeal.get("decision"))
    first = (case.decision if appealed else standing) or standing
    reversed_ = appealed and standing["outcome"] != first["outcome"]
    changed = appealed and (reversed_ or standing.get("amount") != first.get("amount"))
    return {
        "case_id": case.pk,
        "category": (case.order.snapshot or {}).get("category", ""),
        "reason": case.reason,
        "outcome": standing["outcome"],
        "requested_amount": case.requested_amount,
        "refunded_amount": refunded,
        "rule": standing.get("rule") or "",
        "rule_text": standing.get("rule_text") or "",
        "rule_text_en": standing.get("rule_text_en") or "",
        "rationale": scrub(standing["rationale"], names),
        "decided_at": datetime.fromisoformat(standing["decided_at"]),
        "published_at": published_at,
        "first_arbitrator_id": int(first["arbitrator"]) if first.get("arbitrator") else None,
        "first_outcome": first["outcome"],
        "first_amount": first.get("amount") or 0,
        "appealed": appealed,
        "changed_on_appeal": changed,
        "reversed_on_appeal": reversed_,
    }


# ---- publishing ------------------------------------------------------------------------------------------


def publish(case: RefundCase, *, refunded: int, now: datetime) -> Precedent | None:
    """Publish the case's final decision (once: a second call finds the row). The caller holds the
    transaction that made the decision final."""
    standing = standing_if_final(case)
    if standing is None:
        return None
    existing = Precedent.objects.filter(case=case).first()
    if existing is not None:
        return existing
    names = names_in(case, User.objects)
    return Precedent.objects.create(
        **precedent_fields(case, standing, refunded=refunded, published_at=now, names=names)
    )


# ---- reading ---------------------------------------------------------------------------------------------


def rule_ref(precedent: Precedent, english: bool) -> dict | None:
    """{id, text} of the rule the decision applied, as worded when it was made."""
    if not precedent.rule:
        return None
    return {
        "id": precedent.rule,
        "text": (precedent.rule_text_en if english else precedent.rule_text) or precedent.rule,
    }


def published(*, category: str = "", reason: str = "", outcome: str = "") -> QuerySet[Precedent]:
    qs = Precedent.objects.all()
    if category:
        qs = qs.filter(category=category)
    if reason:
        qs = qs.filter(reason=reason)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs


SIMILAR_LIMIT = 5


def similar_to(case: RefundCase, limit: int = SIMILAR_LIMIT) -> list[Precedent]:
    """Final cases of the same category and reason, nearest requested amount first, never the case
    itself; at most `limit`. Two ordered index scans (above and below the amount), whatever the count."""
    same = Precedent.objects.filter(category=case.order.snapshot.get("category", ""), reason=case.reason).exclude(
        case_id=case.pk
    )
    amount = case.requested_amount
    above = list(same.filter(requested_amount__gte=amount).order_by("requested_amount", "-id")[:limit])
    below = list(same.filter(requested_amount__lt=amount).order_by("-requested_amount", "-id")[:limit])
    return sorted([*above, *below], key=lambda p: (abs(p.requested_amount - amount), -p.pk))[:limit]


def consistency() -> list[dict]:
    """Per arbitrator: first decisions that became final, how many were appealed, and how many the
    appeal changed (outcome or amount) or reversed (outcome). Shares are of the final first decisions."""
    rows = (
        Precedent.objects.filter(first_arbitrator__isnull=False)
        .values("first_arbitrator", "first_arbitrator__username")
        .annotate(
            decisions=Count("id"),
            appealed=Count("id", filter=Q(appealed=True)),
            changed=Count("id", filter=Q(changed_on_appeal=True)),
            reversed=Count("id", filter=Q(reversed_on_appeal=True)),
        )
        .order_by("first_arbitrator__username")
    )
    return [
        {
            "arbitrator": str(row["first_arbitrator"]),
            "username": row["first_arbitrator__username"],
            "decisions": row["decisions"],
            "appealed": row["appealed"],
            "changed": row["changed"],
            "reversed": row["reversed"],
            "changed_share": row["changed"] / row["decisions"] if row["decisions"] else None,
            "reversed_share": row["reversed"] / row["decisions"] if row["decisions"] else None,
        }
        for row in rows
    ]
