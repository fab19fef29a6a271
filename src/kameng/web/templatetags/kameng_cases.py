"""Template filters and tags for refund-case pages: display names, the order page's after-sales
box."""

from django import template

from kameng.web import case_labels as labels

register = template.Library()


def _label(table: dict, code) -> str:
    return str(table.get(code, code or ""))


def _label_filter(name: str, table: dict) -> None:
    register.filter(name, lambda code: _label(table, code))


# {{ code|case_status_label }} and friends: display names for the services' codes.
for _name, _table in {
    "case_status_label": labels.CASE_STATUS,
    "reason_label": labels.REASONS,
    "outcome_label": labels.OUTCOMES,
    "resolution_label": labels.RESOLUTIONS,
    "event_label": labels.EVENTS,
    "actor_label": labels.ACTORS,
    "evidence_category_label": labels.EVIDENCE_CATEGORIES,
    "evidence_source_label": labels.EVIDENCE_SOURCES,
    "finding_kind_label": labels.FINDING_KINDS,
}.items():
    _label_filter(_name, _table)


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
    from kameng.aftersales.models import OPEN_STATUSES
    from kameng.clock.services import now as clock_now

    request = context.get("request")
    user = getattr(request, "user", None)
    cases = list(order.refund_cases.order_by("-pk"))
    is_buyer = user is not None and user.is_authenticated and user.pk == order.buyer_id
    refundable = order.paid_amount - order.refunded_amount
    window_open = order.after_sale_until is None or order.after_sale_until > clock_now()
    has_open = any(c.status in OPEN_STATUSES for c in cases)
    ruled = any(c.status == "closed" and c.decision is not None for c in cases)  # no second round after a ruling
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
