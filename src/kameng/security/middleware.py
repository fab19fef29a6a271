"""Per-token and per-address request limits for the API (429 rate_limited, Retry-After)."""
from django.conf import settings

from . import ratelimit

API_PREFIX = "/api/"
# Gateways retry their notifications until acknowledged; their signature is the protection there.
EXEMPT_PREFIXES = ("/api/v1/payments/notify/",)


class ApiRateLimitMiddleware:
    """Counts every /api/ request: a bearer token against `api_token`, and the client address
    against `api_ip` (with a token) or `api_anonymous_ip` (without one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(API_PREFIX) or path.startswith(EXEMPT_PREFIXES) or not settings.RATE_LIMITS_ENABLED:
            return self.get_response(request)
        header = request.headers.get("Authorization", "")
        ip = ratelimit.client_ip(request)
        if header[:7].lower() == "bearer " and header[7:].strip():
            checks = [("api_token", header[7:].strip()), ("api_ip", ip)]
        else:
            checks = [("api_anonymous_ip", ip)]
        try:
            ratelimit.enforce(*checks, cache=ratelimit.FAST)
        except ratelimit.RateLimited as exc:
            return exc.response()
        return self.get_response(request)
