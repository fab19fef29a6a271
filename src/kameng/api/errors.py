"""Where a domain error meets HTTP: each ErrorKind's status, and the contract's error body
{"error": {"type", "code", "message", "param"}} in the request's language (Accept-Language: en → English)."""

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


def status_for(exc: DomainError) -> int:
    return STATUS[exc.kind]


def error_response(exc: DomainError, *, status: int | None = None) -> JsonResponse:
    """The contract's answer to `exc`: its kind's status, or `status` for an answer that already has one.

    The message is in the active language (LocaleMiddleware chose it from Accept-Language), and
    Content-Language names that language, so the two always agree.
    """
    kind = exc.kind if status is None else STATUS_TYPES.get(status, ErrorKind.API_ERROR)
    language = translation.get_language()
    body = {"error": {"type": kind.value, "code": exc.code, "message": exc.message(language), "param": exc.param}}
    response = JsonResponse(body, status=status or STATUS[exc.kind], json_dumps_params={"ensure_ascii": False})
    if language:
        response["Content-Language"] = language
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def status_error_response(status: int) -> JsonResponse:
    """The error shape for an answer that came without one (a 404 from the URL resolver, a 405 …)."""
    return error_response(DomainError(STATUS_ERRORS.get(status, Error.REQUEST_FAILED)), status=status)
