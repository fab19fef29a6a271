"""Merchant credit (商家信用评级) — first cut: order volume and tenure; the trust issue extends it."""
from kameng.clock.services import now as clock_now


def credit_for_shop(shop) -> dict:
    from datetime import timedelta

    from kameng.orders.models import Order

    now = clock_now()
    since = now - timedelta(days=90)
    orders = Order.objects.filter(shop=shop, created_at__gte=since).count()
    tenure = max(0, (now - shop.created_at).days)
    return {
        "score": 80, "grade": "B", "orders_90d": orders, "cases_90d": 0, "dispute_rate": 0.0,
        "merchant_fault_rate": 0.0, "timeouts_90d": 0, "median_response_seconds": None, "tenure_days": tenure,
    }
