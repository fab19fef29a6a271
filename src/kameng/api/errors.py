"""Where a domain error meets HTTP: each ErrorKind's status, and the contract's error body
{"error": {"type", "code", "message", "param", "request_id"}} in the request's language
(Accept-Language: en → English)."""

import re
import uuid
from contextvars import ContextVar

from django.http import JsonResponse
from django.utils import translation

from kameng.errors import DomainError, Error, ErrorKind, RateLimited

STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.AUTHENTICATION_REQUIRED: 401,
    ErrorKind.INSUFFICIENT_FUNDS: 402,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.IDEMPOTENCY_ERROR: 409,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.API_ERROR: 500,
}

# The `type` of an answer that already has its status (Django's 404 and 405, ninja's 400, a bare 413…):
# the kind listed first for that status above, and a 405 is a bad request.
STATUS_TYPES: dict[int, ErrorKind] = {status: kind for kind, status in reversed(STATUS.items())} | {
    405: ErrorKind.INVALID_REQUEST
}

# What such an answer says (any other status: REQUEST_FAILED).
STATUS_ERRORS: dict[int, Error] = {
    400: Error.REQUEST_INVALID,
    401: Error.LOGIN_REQUIRED,
    403: Error.PERMISSION_DENIED,
    404: Error.NOT_FOUND,
    405: Error.METHOD_NOT_ALLOWED,
    413: Error.REQUEST_TOO_LARGE,
    429: Error.TOO_MANY_REQUESTS,
    500: Error.INTERNAL_ERROR,
}


# The id of the request being answered (RequestIdMiddleware sets it; "" outside a request).
request_id: ContextVar[str] = ContextVar("request_id", default="")
# A client's X-Request-Id is kept when it is a plain token of reasonable length (it goes into logs).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")


def new_request_id(given: str | None = None) -> str:
    """The client's X-Request-Id if sane, else a fresh one."""
    if given and SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def error_body(kind: ErrorKind, code: str, message: str, param: str | None, rid: str) -> dict:
    return {"error": {"type": kind.value, "code": code, "message": message, "param": param, "request_id": rid}}


def status_for(exc: DomainError) -> int:
    return STATUS[exc.kind]


def error_response(exc: DomainError, *, status: int | None = None) -> JsonResponse:
    """The contract's answer to `exc`: its kind's status, or `status` for an answer that already has one.

    The message is in the active language (LocaleMiddleware chose it from Accept-Language), and
    Content-Language names that language, so the two always agree.
    """
    kind = exc.kind if status is None else STATUS_TYPES.get(status, ErrorKind.API_ERROR)
    language = translation.get_language()
    body = error_body(kind, exc.code, exc.message(language), exc.param, request_id.get() or new_request_id())
    response = JsonResponse(body, status=status or STATUS[exc.kind], json_dumps_params={"ensure_ascii": False})
    if language:
        response["Content-Language"] = language
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def status_error_response(status: int) -> JsonResponse:
    """The error shape for an answer that came without one (a 404 from the URL resolver, a 405 …)."""
    return error_response(DomainError(STATUS_ERRORS.get(status, Error.REQUEST_FAILED)), status=status)
