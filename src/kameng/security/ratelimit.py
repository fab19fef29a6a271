"""Request-rate limits: fixed windows counted in a Django cache.

Limits are named in settings.RATE_LIMITS ("count/seconds"). Every counter is shared by all
gunicorn workers: the login and registration limits count in the `security` cache (Redis when
KAMENG_REDIS_URL or a redis:// KAMENG_BROKER_URL is set, else the database cache table); the
API's per-token and per-address limits in the `ratelimit` cache when that is Redis, else in the
RateCounter table, one atomic upsert per counted request.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connection

from kameng.errors import DomainError, Error, RateLimited

from .challenge import solved
from .models import RateCounter

SHARED = "security"  # login / registration counters
FAST = "ratelimit"  # per-request API counters


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int


def get_limit(name: str) -> Limit | None:
    """The configured limit, or None when limits are off or this one is disabled ("off" / 0)."""
    if not getattr(settings, "RATE_LIMITS_ENABLED", True):
        return None
    spec = str(settings.RATE_LIMITS.get(name, "off")).strip().lower()
    if spec in ("", "off", "0", "none"):
        return None
    count, _, seconds = spec.partition("/")
    limit = Limit(name, int(count), int(seconds or 60))
    return limit if limit.count > 0 and limit.seconds > 0 else None


@dataclass(frozen=True)
class Usage:
    """Where one counter stands after a hit: for the RateLimit-* answer headers."""

    limit: Limit
    count: int
    reset: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit.count - self.count)


def hit(name: str, key: str, *, cache: str = SHARED, now: float | None = None) -> int | None:
    """Count one request of `key` against the limit `name`.

    Returns None while within the limit, else the seconds until the window ends (Retry-After).
    """
    usage = count(name, key, cache=cache, now=now)
    if usage is None or usage.count <= usage.limit.count:
        return None
    return usage.reset


def count(name: str, key: str, *, cache: str = SHARED, now: float | None = None) -> Usage | None:
    """Count one request of `key` against the limit `name`; None when that limit is off."""
    limit = get_limit(name)
    if limit is None:
        return None
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    cache_key = f"rl:{name}:{window}:{digest}"
    reset = max(1, math.ceil((window + 1) * limit.seconds - now))
    if cache == FAST and settings.API_RATE_COUNTERS == "table":
        return Usage(limit, _count_in_table(cache_key, (window + 1) * limit.seconds), reset)
    store = caches[cache]
    if store.add(cache_key, 1, timeout=limit.seconds + 5):
        counted = 1
    else:
        try:
            counted = store.incr(cache_key)
        except ValueError:  # expired between add and incr
            store.set(cache_key, 1, timeout=limit.seconds + 5)
            counted = 1
    return Usage(limit, counted, reset)


UPSERT = (
    "INSERT INTO security_ratecounter (key, count, expires) VALUES (%s, 1, %s) "
    "ON CONFLICT (key) DO UPDATE SET count = security_ratecounter.count + 1 RETURNING count"
)
PURGE_EVERY = 500  # counted requests between two purges of ended windows (per process)
_since_purge = 0


def _count_in_table(key: str, expires: float) -> int:
    """One atomic upsert (PostgreSQL and SQLite ≥ 3.35): the window's count after this request."""
    global _since_purge
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, [key, expires])
        counted = cursor.fetchone()[0]
    _since_purge += 1
    if _since_purge >= PURGE_EVERY:
        _since_purge = 0
        RateCounter.objects.filter(expires__lt=time.time() - 60).delete()
    return counted


def exceeded(name: str, key: str, *, cache: str = SHARED, now: float | None = None) -> int | None:
    """Seconds until the window ends if `key` is already past the limit `name` (nothing counted)."""
    limit = get_limit(name)
    if limit is None:
        return None
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    counted = caches[cache].get(f"rl:{name}:{window}:{digest}") or 0
    if counted < limit.count:
        return None
    return max(1, math.ceil((window + 1) * limit.seconds - now))


def enforce(*checks: tuple[str, str], cache: str = SHARED, error: Error = Error.RATE_LIMITED) -> Usage | None:
    """Count each (limit name, key); raise RateLimited with the longest wait if any is exceeded.

    Returns the tightest counter (fewest requests left), for the RateLimit-* headers."""
    usages = [u for name, key in checks if key and (u := count(name, key, cache=cache)) is not None]
    over = [u.reset for u in usages if u.count > u.limit.count]
    if over:
        raise RateLimited(max(over), error)
    return min(usages, key=lambda u: (u.remaining, -u.reset), default=None)


def client_ip(request) -> str:
    """The caller's address: REMOTE_ADDR, or with KAMENG_PROXY_COUNT=N trusted proxies in front,
    the address the outermost of them saw (the N-th entry from the right of X-Forwarded-For)."""
    proxies = getattr(settings, "PROXY_COUNT", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or "unknown"


def axes_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same address, or None when there is none (a unix socket, a test
    client): axes stores it in an IP address column, which refuses anything else."""
    import ipaddress

    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def limit_login(request, username: str) -> None:
    """POST /auth/token: attempts per client address (sized for a shared NAT) and per (account,
    address) pair; never per account alone, which anyone could exhaust to lock its owner out."""
    ip = client_ip(request)
    enforce(("login_ip", ip), ("login_pair", f"{(username or '').strip().lower()}\n{ip}"))


def limit_registration(request, solution: str | None = None) -> None:
    """POST /auth/register and the register page, per client address: a hard limit sized for a
    shared NAT, and before it a threshold past which a solved proof of work is needed
    (kameng.security.challenge; 429 challenge_required without one)."""
    ip = client_ip(request)
    enforce(("register_ip", ip))
    usage = count("register_challenge_ip", ip)
    if usage is not None and usage.count > usage.limit.count and not solved(solution):
        raise DomainError(Error.REGISTER_CHALLENGE_REQUIRED, param="challenge")


def reset() -> None:
    """Forget every counter (tests, or an operator after an incident)."""
    for alias in (SHARED, FAST):
        caches[alias].clear()
    RateCounter.objects.all().delete()
