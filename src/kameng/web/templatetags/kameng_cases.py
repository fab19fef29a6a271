"""Template filters and tags for refund-case pages: display names, the timeline's event texts, the
order page's after-sales box."""

from django import template

from kameng.aftersales.lifecycle import EVENTS, Telling
from kameng.aftersales.models import OPEN_STATUSES, Actor, CaseEvent, CaseStatus, Outcome, Reason, Resolution
from kameng.clock.services import now as clock_now
from kameng.labels import label
from kameng.web import case_labels as labels

from .kameng_web import yuan

register = template.Library()


def _label_filter(name: str, table) -> None:
    if isinstance(table, dict):
        register.filter(name, lambda code: str(table.get(code, code or "")))
    else:  # an enum with labels
        register.filter(name, lambda code: label(table, code))


# {{ code|case_status_label }} and friends: display names for the services' codes.
for _name, _table in {
    "case_status_label": CaseStatus,
    "reason_label": Reason,
    "outcome_label": Outcome,
    "resolution_label": Resolution,
    "actor_label": Actor,
    "evidence_category_label": labels.EVIDENCE_CATEGORIES,
    "evidence_source_label": labels.EVIDENCE_SOURCES,
    "finding_kind_label": labels.FINDING_KINDS,
}.items():
    _label_filter(_name, _table)


@register.filter
def event_label(type_: str) -> str:
    text = EVENTS.get(type_)
    return str(text.label) if text else type_ or ""


@register.filter
def event_detail(event: CaseEvent) -> str:
    """What the timeline adds after an event's name ("：¥30.00", "：不同意", …), from the lifecycle's EVENTS."""
    text = EVENTS.get(event.type)
    if text is None or text.detail is None:
        return ""
    data = event.data or {}
    category = str(data.get("category") or "")
    return text.detail(
        Telling(
            data=data,
            to_status=event.to_status,
            money=yuan(data.get("amount")),
            category=str(labels.EVIDENCE_CATEGORIES.get(category, category)),
        )
    )


@register.filter
def filesize(size) -> str:
    """Bytes as "12 KB" / "3.4 MB"."""
    try:
        size = int(size)
    except (TypeError, ValueError):
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{(size + 1023) // 1024} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@register.inclusion_tag("web/cases/_order_cases.html", takes_context=True)
def order_cases(context, order):
    """The order page's after-sales box: the order's cases and, for its buyer, the way to open one."""
    request = context.get("request")
    user = getattr(request, "user", None)
    cases = list(order.refund_cases.order_by("-pk"))
    is_buyer = user is not None and user.is_authenticated and user.pk == order.buyer_id
    refundable = order.refundable_amount
    window_open = order.after_sale_until is None or order.after_sale_until > clock_now()
    has_open = any(c.status in OPEN_STATUSES for c in cases)
    ruled = any(c.status == CaseStatus.CLOSED and c.decision is not None for c in cases)  # no second round
    return {
        "order": order,
        "cases": cases,
        "is_buyer": is_buyer,
        "request": request,
        "can_open": is_buyer and window_open and not has_open and not ruled and refundable > 0,
        "window_open": window_open,
        "has_open": has_open,
        "ruled": ruled,
    }
