"""Login lockout rules that cannot be turned on others.

django-axes locks the pair (account, address) after AXES_FAILURE_LIMIT (10) failures for
AXES_COOLOFF_TIME (15 min): a whole campus or carrier NAT behind one address keeps logging in,
and an account stays open from every other address (its owner's password still works there).
Before that lock, each failure of the pair past the third makes the next attempt wait longer
(1, 2, 4 … 60 s of the shared clock: a slow-down, not a lock). An address as a whole is locked only at a much
higher failure rate across accounts (the `login_failures_ip` limit, 300 an hour).

Nothing here speaks HTTP; the API renders the errors (kameng.api), the pages show the login
form again (kameng.web.views.accounts).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches

from kameng.clock.services import now as clock_now
from kameng.errors import Error, RateLimited

from . import ratelimit

SLOW_DOWN_AFTER = 3  # failures of one pair before each next attempt must wait
MAX_DELAY = 60  # seconds


def cool_off_seconds() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    if isinstance(cool_off, timedelta):
        return int(cool_off.total_seconds())
    return int(float(cool_off or 0) * 3600) or 900


def locked_error() -> RateLimited:
    return RateLimited(cool_off_seconds(), Error.LOGIN_LOCKED)


def _pair_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{(username or '').strip().lower()}\n{address}".encode()).hexdigest()[:40]
    return f"lf:pair:{digest}"


def delay_after(failures: int) -> int:
    """Seconds the next attempt of a pair waits after its `failures`-th failure."""
    if failures < SLOW_DOWN_AFTER:
        return 0
    return min(MAX_DELAY, 2 ** (failures - SLOW_DOWN_AFTER))


def gate(username: str, address: str, *, now: float | None = None) -> None:
    """Before checking a password: refuse (429) an address past the cross-account failure rate,
    and a pair still inside its slow-down."""
    now = clock_now().timestamp() if now is None else now
    wait = ratelimit.exceeded("login_failures_ip", address, now=now)
    if wait is not None:
        raise RateLimited(wait, Error.LOGIN_ADDRESS_LOCKED)
    state = caches[ratelimit.SHARED].get(_pair_key(username, address))
    if state:
        failures, last = state
        wait = int(last + delay_after(failures) - now + 0.999)
        if wait > 0:
            raise RateLimited(wait, Error.LOGIN_SLOW_DOWN)


def record_failure(username: str, address: str, *, now: float | None = None) -> None:
    """A wrong password (or second factor) for `username` from `address`."""
    now = clock_now().timestamp() if now is None else now
    ratelimit.count("login_failures_ip", address, now=now)
    store = caches[ratelimit.SHARED]
    key = _pair_key(username, address)
    failures, _last = store.get(key) or (0, now)
    store.set(key, (failures + 1, now), timeout=cool_off_seconds())


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """Django's user_login_failed signal (pages, the API, the admin): count the failure."""
    if request is None or getattr(request, "kameng_login_refused", False):
        return
    record_failure(credentials.get("username") or "", ratelimit.client_ip(request))
