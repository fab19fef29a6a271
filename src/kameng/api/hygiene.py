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
    against `api_ip` (with a token) or `api_anonymous_ip` (without one), in counters every worker
    shares. Answers say where the tightest counter stands (RateLimit-Limit, -Remaining, -Reset,
    and RateLimit-Policy "count;w=seconds"); a refusal is 429 with Retry-After."""

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
            usage = ratelimit.enforce(*checks, cache=ratelimit.FAST)
        except RateLimited as exc:
            response = error_response(exc)
            response["RateLimit-Remaining"] = "0"
            response["RateLimit-Reset"] = str(exc.retry_after)
            return response
        response = self.get_response(request)
        if usage is not None:
            response["RateLimit-Limit"] = str(usage.limit.count)
            response["RateLimit-Remaining"] = str(usage.remaining)
            response["RateLimit-Reset"] = str(usage.reset)
            response["RateLimit-Policy"] = f"{usage.limit.count};w={usage.limit.seconds}"
        return response


class ApiInputMiddleware:
    """Refuses NUL characters in an API request's path, query, JSON body or multipart form fields,
    and lone surrogates in a JSON body, with 400 invalid_request; and a multipart body with two
    parts for one file field (which of them would the action and its idempotency hash mean?).

    PostgreSQL text cannot hold NUL (the write would fail with a 500) and SQLite would store it:
    no legitimate value has one, and they hide text from logs and checks. Uploaded files may hold
    any bytes. The multipart body is parsed here, before any view (the upload handlers stream
    files to disk and stop at the size limit), so a refused upload never reaches an action.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            try:
                refusal = self._refusal(request)
            except DomainError as exc:  # the upload handlers stopped a body past the size limit
                refusal = exc
            except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: Django alone would say 400
                refusal = DomainError(Error.REQUEST_TOO_LARGE)
            if refusal is not None:
                return error_response(refusal)
        return self.get_response(request)

    def _refusal(self, request) -> DomainError | None:
        param = self._nul_in(request)
        if param is not None:
            return DomainError(Error.REQUEST_NUL_CHARACTERS, param=param or None)
        if request.content_type == "multipart/form-data" and request.method == "POST":
            for name, files in request.FILES.lists():
                if len(files) > 1:
                    return DomainError(Error.UPLOAD_ONE_FILE_PER_PART, param=name)
        return None

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
        if request.content_type == "multipart/form-data" and request.method == "POST":
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return key.replace("\x00", "")
            for key, files in request.FILES.lists():
                if "\x00" in key or any("\x00" in (f.name or "") for f in files):
                    return key.replace("\x00", "")
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
