"""The contract's error shape: {"error": {"type", "code", "message", "param"}}."""

from django.http import JsonResponse

STATUS_TYPES = {
    400: "invalid_request",
    401: "authentication_required",
    402: "insufficient_funds",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "api_error",
}


class ApiError(Exception):
    """Raised anywhere in a service; the API turns it into the error shape, pages into a message."""

    def __init__(self, status: int, type_: str, code: str, message: str, *, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.code = code
        self.message = message
        self.param = param

    def body(self) -> dict:
        return {"error": {"type": self.type, "code": self.code, "message": self.message, "param": self.param}}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status=self.status, json_dumps_params={"ensure_ascii": False})


def not_found(what: str = "对象") -> ApiError:
    return ApiError(404, "not_found", "not_found", f"{what}不存在")


def forbidden(message: str = "无权执行此操作", code: str = "permission_denied") -> ApiError:
    return ApiError(403, "permission_denied", code, message)


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, "conflict", code, message)


def invalid(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request", code, message, param=param)


def error_response(status: int, code: str, message: str, param: str | None = None) -> JsonResponse:
    return ApiError(status, STATUS_TYPES.get(status, "api_error"), code, message, param=param).response()
