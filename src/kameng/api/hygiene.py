"""API request hygiene: per-token and per-address request limits (429 rate_limited, Retry-After;
the limits themselves are kameng.security.ratelimit's), and text no database column can hold (NUL
characters, lone UTF-16 surrogates) refused with 400. Both answer before any view runs."""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from kameng.errors import DomainError, Error, RateLimited
from kameng.security import ratelimit

from .errors import error_response

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
        except RateLimited as exc:
            return error_response(exc)
        return self.get_response(request)


class ApiInputMiddleware:
    """Refuses NUL characters in an API request's path, query or JSON body, and lone surrogates in a
    JSON body, with 400 invalid_request.

    PostgreSQL text cannot hold them (the write would fail with a 500), no legitimate value has
    one, and they hide text from logs and checks. Uploaded files may hold any bytes: multipart
    bodies are left to their handlers (ApiErrorShapeMiddleware answers 400 for a NUL in a form field).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            try:
                param = self._nul_in(request)
            except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: Django alone would say 400
                return error_response(DomainError(Error.REQUEST_TOO_LARGE))
            if param is not None:
                return error_response(DomainError(Error.REQUEST_NUL_CHARACTERS, param=param or None))
        return self.get_response(request)

    @staticmethod
    def _nul_in(request) -> str | None:
        """The name of the part holding a NUL ("" when it is not a named field), or None."""
        if "\x00" in request.path:
            return ""
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "")
        if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
            body = request.body
            if b"\x00" in body or b"\\u0000" in body.lower():
                return ""
            if SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(body):
                return ""  # "\ud800" alone is valid JSON but no text: it cannot be stored or hashed
        return None


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(body: bytes) -> bool:
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:  # not JSON at all: the handler answers 400 for that
        return False
    return False
