"""Platform statistics (纠纷处理时效) read from credit facts: dispute rate, time to resolution,
share of arbitration decisions inside the SLA — overall, by category, by outcome and by week."""

import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncWeek

from kameng.clock.services import now as clock_now

from .models import CreditFact
from .services import sync_if_behind

CST = ZoneInfo("Asia/Shanghai")
CACHE_SECONDS = 60


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known)) if known else None


def _share(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _week_start(moment: datetime) -> datetime:
    local = moment.astimezone(CST)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=CST)


def compute_stats(now: datetime, *, days: int = 90, weeks: int = 12) -> dict:
    """The numbers, straight from the facts (no cache): for tests and for `platform_stats`."""
    since = now - timedelta(days=days)
    facts = CreditFact.objects.filter(at__gt=since, at__lte=now)
    orders = facts.filter(kind="order").count()
    cases = list(facts.filter(kind="case").values_list("category", flat=True))
    resolved = list(facts.filter(kind="resolved").values_list("category", "outcome", "value"))
    decisions = list(facts.filter(kind="decision").exclude(value=None).values_list("category", "value"))
    orders_by_category = dict(facts.filter(kind="order").values_list("category").annotate(n=Count("id")))

    by_category: dict[str, dict] = {}
    for category in sorted(set(cases) | {c for c, _o, _v in resolved} | set(orders_by_category)):
        cat_cases = sum(1 for c in cases if c == category)
        cat_times = [v for c, _o, v in resolved if c == category]
        by_category[category] = {
            "orders": orders_by_category.get(category, 0),
            "cases": cat_cases,
            "dispute_rate": _rate(cat_cases, orders_by_category.get(category, 0)),
            "resolved": len(cat_times),
            "median_resolution_seconds": _median(cat_times),
            "decided_within_sla_share": _share([v for c, v in decisions if c == category]),
        }
    by_outcome: dict[str, int] = {}
    for _c, outcome, _v in resolved:
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1

    return {
        "window_days": days,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "orders": orders,
        "cases": len(cases),
        "dispute_rate": _rate(len(cases), orders),
        "resolved": len(resolved),
        "median_resolution_seconds": _median([v for _c, _o, v in resolved]),
        "decided": len(decisions),
        "decided_within_sla": int(sum(v or 0 for _c, v in decisions)),
        "decided_within_sla_share": _share([v for _c, v in decisions]),
        "by_category": by_category,
        "by_outcome": by_outcome,
        "weekly": _weekly(now, weeks),
    }


def _weekly(now: datetime, weeks: int) -> list[dict]:
    first = _week_start(now) - timedelta(weeks=weeks - 1)
    facts = CreditFact.objects.filter(at__gte=first, at__lte=now)
    orders = {
        row["week"].astimezone(CST).date(): row["n"]
        for row in facts.filter(kind="order")
        .annotate(week=TruncWeek("at", tzinfo=CST))
        .values("week")
        .annotate(n=Count("id"))
    }
    buckets: dict = {}
    for kind, at, value in facts.filter(kind__in=["case", "resolved", "decision"]).values_list("kind", "at", "value"):
        bucket = buckets.setdefault(_week_start(at).date(), {"case": 0, "resolved": [], "decision": []})
        if kind == "case":
            bucket["case"] += 1
        elif value is not None:
            bucket[kind].append(value)
    series = []
    for i in range(weeks):
        start = (first + timedelta(weeks=i)).date()
        bucket = buckets.get(start, {"case": 0, "resolved": [], "decision": []})
        n_orders = orders.get(start, 0)
        series.append(
            {
                "week_start": start.isoformat(),
                "orders": n_orders,
                "cases": bucket["case"],
                "dispute_rate": _rate(bucket["case"], n_orders),
                "resolved": len(bucket["resolved"]),
                "median_resolution_seconds": _median(bucket["resolved"]),
                "decided": len(bucket["decision"]),
                "decided_within_sla_share": _share(bucket["decision"]),
            }
        )
    return series


def platform_stats(*, days: int = 90, weeks: int = 12, now: datetime | None = None) -> dict:
    """Public statistics, current to the last fact; cached briefly per process."""
    now = now or clock_now()
    sync_if_behind(now)
    latest = CreditFact.objects.order_by("-pk").values_list("pk", "key", "at").first() or (0, "", None)
    key = f"trust:stats:{days}:{weeks}:{latest[0]}:{latest[1]}:{latest[2] and latest[2].timestamp()}:{now:%Y%m%d%H}"
    data = cache.get(key)
    if data is None:
        data = compute_stats(now, days=days, weeks=weeks)
        cache.set(key, data, CACHE_SECONDS)
    return data


def platform_summary() -> dict:
    """The three figures the listing page's 三查 shows."""
    data = platform_stats()
    return {
        "window_days": data["window_days"],
        "dispute_rate": data["dispute_rate"],
        "median_resolution_seconds": data["median_resolution_seconds"],
        "decided_within_sla_share": data["decided_within_sla_share"],
    }
