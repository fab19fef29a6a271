"""API-wide conventions that apply to every route: request ids, the language, the error shape and
Idempotency-Key."""

import hashlib
import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError, transaction
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

from kameng.errors import DomainError, Error

from .errors import error_response, new_request_id, request_id, status_error_response
from .models import IdempotencyRecord

API_PREFIX = "/api/"
log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Every answer (pages too) carries `Request-Id`: the client's sane X-Request-Id or a new one.
    Errors repeat it as `request_id`, and the access log line shows it (kameng serve's log format)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = new_request_id(request.headers.get("X-Request-Id"))
        request.request_id = rid
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["Request-Id"] = rid
        return response


def accepted_language(request) -> str:
    """The first supported language of Accept-Language, else the default (Chinese)."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class ApiLanguageMiddleware:
    """Under /api/ the language is Accept-Language's alone: the pages' language cookie and a signed-in
    user's stored language (which LocaleMiddleware and UserLanguageMiddleware prefer) do not apply, so a
    client asking for English gets English whatever cookies it carries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            language = accepted_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class ApiErrorShapeMiddleware:
    """Any non-2xx answer under /api/ that is not already in the error shape gets it (404, 405, 500…)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        if response.status_code < 400 or getattr(response, "gateway_answer", False):
            return response  # a gateway's notify answer is in that gateway's own protocol (易支付: "fail")
        if response.get("Content-Type", "").startswith("application/json"):
            try:
                if "error" in json.loads(response.content):
                    return response
            except (ValueError, TypeError, AttributeError):
                pass
        shaped = status_error_response(response.status_code)
        for header in ("Allow", "Retry-After"):
            if response.has_header(header):
                shaped[header] = response[header]
        return shaped

    def process_exception(self, request, exception):
        if request.path.startswith(API_PREFIX) and isinstance(exception, RequestDataTooBig):
            return error_response(DomainError(Error.REQUEST_TOO_LARGE))
        if request.path.startswith(API_PREFIX) and _is_nul_refusal(exception):
            # A NUL character reached a PostgreSQL text column (e.g. a multipart form field): bad input.
            return error_response(DomainError(Error.REQUEST_NUL_CHARACTERS))
        if request.path.startswith(API_PREFIX):
            log.exception("unhandled error on %s", request.path)
            return error_response(DomainError(Error.INTERNAL_ERROR))
        return None


def _is_nul_refusal(exception) -> bool:
    return isinstance(exception, (DataError, ValueError)) and "NUL" in str(exception)


class IdempotencyMiddleware:
    """Replays the first answer to a repeated POST (same caller, same Idempotency-Key, same body)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if len(key) > 255:
            return error_response(DomainError(Error.IDEMPOTENCY_KEY_TOO_LONG, param="Idempotency-Key"))
        scope = hashlib.sha256(
            (request.headers.get("Authorization") or f"anon:{request.META.get('REMOTE_ADDR', '')}").encode()
        ).hexdigest()
        request_hash = self._request_hash(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=request_hash)
        except IntegrityError:
            return self._replay(scope, key, request_hash)
        try:
            response = self.get_response(request)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500 or response.streaming:
            # Not a final answer: let the client retry with the same key.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status=response.status_code, content_type=response.get("Content-Type", ""), body=response.content
        )
        return response

    @staticmethod
    def _request_hash(request) -> str:
        digest = hashlib.sha256(f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode())
        if request.content_type == "multipart/form-data":
            # Uploads stream to disk; hash their declared shape rather than read them whole.
            digest.update(f"{request.META.get('CONTENT_LENGTH', '')}".encode())
        else:
            digest.update(request.body)
        return digest.hexdigest()

    @staticmethod
    def _replay(scope: str, key: str, request_hash: str):
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None or record.request_hash != request_hash:
            return error_response(DomainError(Error.IDEMPOTENCY_KEY_REUSED))
        if record.status is None:
            return error_response(DomainError(Error.IDEMPOTENCY_IN_PROGRESS))
        response = HttpResponse(bytes(record.body), status=record.status, content_type=record.content_type)
        response["Idempotent-Replayed"] = "true"
        return response
