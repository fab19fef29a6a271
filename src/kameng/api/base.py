"""The NinjaAPI instance, bearer auth, role checks and cursor pagination."""

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from kameng.accounts.models import Role
from kameng.accounts.services import user_for_token

from .errors import ApiError, error_response


class BearerAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


bearer = BearerAuth()

api = NinjaAPI(
    title="kameng API",
    version="1",
    description="卡盟 virtual-goods marketplace with escrow and buyer protection. Contract: shared/product/api-v1.md",
    urls_namespace="api-v1",
    auth=bearer,
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return exc.response()


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "form", "file", "payload")]
    param = ".".join(loc) or None
    message = first.get("msg", "请求无效")
    return error_response(400, "invalid_request", f"参数无效：{param}：{message}" if param else message, param)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(401, "authentication_required", "需要有效的访问令牌")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(404, "not_found", "对象不存在")


def require_role(request, *roles: Role) -> None:
    if request.user.role not in roles:
        raise ApiError(403, "permission_denied", "wrong_role", "当前角色无权执行此操作")


def paginate(qs, limit: int = 20, starting_after: str | None = None, serialize=None) -> dict:
    """Stripe-style cursor pagination, newest first: {"data": [...], "has_more": bool}."""
    if limit < 1 or limit > 100:
        raise ApiError(400, "invalid_request", "invalid_limit", "limit 必须在 1 到 100 之间", param="limit")
    qs = qs.order_by("-pk")
    if starting_after:
        try:
            qs = qs.filter(pk__lt=int(starting_after))
        except ValueError:
            raise ApiError(
                400, "invalid_request", "invalid_cursor", "starting_after 无效", param="starting_after"
            ) from None
    rows = list(qs[: limit + 1])
    data = rows[:limit]
    return {"data": [serialize(r) for r in data] if serialize else data, "has_more": len(rows) > limit}


def iso(dt):
    return dt.isoformat() if dt else None
