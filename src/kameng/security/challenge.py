"""The registration proof of work (ALTCHA): past `register_challenge_ip` registrations an hour
from one address, registering needs a solved challenge instead of being refused, so a campus
or carrier NAT can still sign people up while a script pays in CPU for each account.

A challenge is stateless (HMAC-signed with the server key, expires in 10 minutes); a solution
is accepted once (its signature is remembered in the shared cache until the challenge expires).
"""

from datetime import UTC, datetime, timedelta

from altcha import ChallengeOptionsV1, create_challenge_v1, verify_solution_v1
from django.conf import settings
from django.core.cache import caches

SHARED = "security"  # the cache every worker shares (kameng.security.ratelimit.SHARED)
LIFETIME = timedelta(minutes=10)


def _key() -> str:
    return f"kameng.security.challenge:{settings.SECRET_KEY}"


def new_challenge() -> dict:
    """{algorithm, challenge, maxNumber, salt, signature}: find n ≤ maxNumber with
    sha256(salt + str(n)) == challenge, and send back base64(JSON {…, number: n})."""
    options = ChallengeOptionsV1(
        hmac_key=_key(), max_number=settings.REGISTER_POW_MAX_NUMBER, expires=datetime.now(UTC) + LIFETIME
    )
    return create_challenge_v1(options).to_dict()


def solved(payload: str | None) -> bool:
    """A valid, unexpired solution not used before (it is used up now)."""
    if not payload or len(payload) > 2000:
        return False
    try:
        ok, _reason = verify_solution_v1(payload, _key(), check_expires=True)
    except (ValueError, TypeError, KeyError):
        return False
    if not ok:
        return False
    return caches[SHARED].add(f"pow:{payload[-200:]}", 1, timeout=int(LIFETIME.total_seconds()) + 60)
