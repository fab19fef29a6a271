"""The operator's commission report by category (issue 17.6): the ledger's commission postings
(kameng.wallet.statement) grouped by the category each order had when it was bought."""

from datetime import datetime

from kameng.wallet import statement

from .models import Order


def commission_by_category(days: int, now: datetime) -> list[dict]:
    """`[{category, commission}]` over the last `days` Beijing days, largest first ("" for commission
    not tied to an order)."""
    by_order = statement.commission_by_order(days, now)
    ids = [k for k in by_order if k is not None]
    categories = dict(Order.objects.filter(pk__in=ids).values_list("pk", "snapshot__category"))
    totals: dict[str, int] = {}
    for order_id, amount in by_order.items():
        category = str(categories.get(order_id) or "") if order_id is not None else ""
        totals[category] = totals.get(category, 0) + amount
    return [{"category": c, "commission": t} for c, t in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
