"""The NinjaAPI instance, bearer auth, role checks and cursor pagination."""

from django.http import Http404
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from kameng.accounts.models import Role
from kameng.accounts.services import token_for
from kameng.errors import DomainError, Error

from .contract import ContractAPI
from .errors import error_response


class BearerAuth(HttpBearer):
    def authenticate(self, request, token):
        live = token_for(token)
        if live is None:
            return None
        request.user = live.user
        request.auth_token = live  # POST /auth/logout ends this one
        return live.user


bearer = BearerAuth()

api = ContractAPI(
    title="kameng API",
    version="1.1",
    description="卡盟 virtual-goods marketplace with escrow and buyer protection. Money is integer fen (分), "
    "times are ISO 8601 with an offset, ids are strings of ASCII digits; errors are the `Error` object, "
    "in English with `Accept-Language: en`. Contract: shared/product/api-v1.md",
    urls_namespace="api-v1",
    auth=bearer,
    openapi_extra={
        "info": {
            "contact": {"name": "kameng operators (the rules page /rules/ names them)"},
            "license": {"name": "Proprietary", "identifier": "LicenseRef-kameng-proprietary"},
        }
    },
)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return error_response(exc)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "form", "file", "payload")]
    param = ".".join(loc) or None
    detail = first.get("msg")  # pydantic's own text (English)
    if param:
        detail = detail or DomainError(Error.REQUEST_INVALID).message()
        return error_response(DomainError(Error.REQUEST_PARAM_INVALID, param=param, field=param, detail=detail))
    if detail:
        return error_response(DomainError(Error.REQUEST_INVALID_DETAIL, detail=detail))
    return error_response(DomainError(Error.REQUEST_INVALID))


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(DomainError(Error.TOKEN_REQUIRED))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # ninja raises it for a body it cannot parse (400); any other status says what the status says.
    error = Error.REQUEST_BODY_UNREADABLE if exc.status_code == 400 else Error.REQUEST_FAILED
    return error_response(DomainError(error), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(DomainError(Error.NOT_FOUND))


def require_role(request, *roles: Role) -> None:
    if request.user.role not in roles:
        raise DomainError(Error.WRONG_ROLE)


def check_limit(limit: int) -> None:
    if limit < 1 or limit > 100:
        raise DomainError(Error.LIMIT_OUT_OF_RANGE, param="limit")


def cursor_pk(starting_after: str) -> int:
    """A cursor is an id: ASCII digits (int() alone would take "１" or " 1"), else 400 invalid_cursor."""
    if not (starting_after.isascii() and starting_after.isdigit() and len(starting_after) <= 18):
        raise DomainError(Error.CURSOR_INVALID, param="starting_after")
    return int(starting_after)


def paginate(qs, limit: int = 20, starting_after: str | None = None, serialize=None) -> dict:
    """Stripe-style cursor pagination, newest first: {"data": [...], "has_more": bool}.

    `starting_after` must be the id of an item of this list (400 invalid_cursor otherwise): a made-up
    cursor silently answering some page would hide a client's bug."""
    check_limit(limit)
    qs = qs.order_by("-pk")
    if starting_after:
        pk = cursor_pk(starting_after)
        if not qs.filter(pk=pk).exists():
            raise DomainError(Error.CURSOR_INVALID, param="starting_after")
        qs = qs.filter(pk__lt=pk)
    rows = list(qs[: limit + 1])
    data = rows[:limit]
    return {"data": [serialize(r) for r in data] if serialize else data, "has_more": len(rows) > limit}


def iso(dt):
    return dt.isoformat() if dt else None
