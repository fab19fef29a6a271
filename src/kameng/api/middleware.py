"""API-wide conventions that apply to every route: request ids, the language, the error shape and
Idempotency-Key."""

import contextlib
import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError, transaction
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error

from . import retention
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


# Answers that say the action ran and decided are kept and replayed; input refused before the
# action ran (400 validation, 401, 413/415 uploads, 429) is not, so a corrected retry with the same
# key acts; 5xx rolls back with the action.
STORED_STATUSES = frozenset(range(200, 400)) | {402, 403, 404, 409}
# A key whose first request shows no answer this long is taken over (only rows written before the
# answer and the action shared one transaction can be in that state).
STALE_IN_PROGRESS = timedelta(minutes=2)


class IdempotencyMiddleware:
    """Replays the first answer to a repeated POST (same caller, same Idempotency-Key, same body).

    The key's row, the action and the stored answer are one transaction: a crash (even SIGKILL)
    either loses all three, so a retry acts, or keeps all three, so a retry replays. A repeat
    arriving while the first still runs waits for it (PostgreSQL blocks on the unique key, SQLite
    on its write lock) and then replays its answer. Rows are kept settings.IDEMPOTENCY_RETENTION
    (24 h) and purged by the hourly `api.purge_idempotency` timer; an older key acts afresh.
    """

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
        request_hash = request_fingerprint(request)
        with transaction.atomic():
            claimed = self._claim(scope, key, request_hash)
            if isinstance(claimed, HttpResponse):
                return claimed
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # the key, and whatever the action half did, are undone
            elif response.streaming or response.status_code not in STORED_STATUSES:
                claimed.delete()
            else:
                claimed.status = response.status_code
                claimed.content_type = response.get("Content-Type", "")
                claimed.body = response.content
                claimed.save(update_fields=["status", "content_type", "body"])
        return response

    def _claim(self, scope: str, key: str, request_hash: str) -> IdempotencyRecord | HttpResponse:
        """This request's new row for the key, or the answer a repeat gets."""
        at = clock_now()
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        scope=scope, key=key, request_hash=request_hash, created_at=at
                    )
                retention.ensure_purge_timer(at)
                return record
            except IntegrityError:
                pass
            existing = IdempotencyRecord.objects.select_for_update().filter(scope=scope, key=key).first()
            if existing is None:
                continue  # the first request rolled back meanwhile: this one acts
            if existing.created_at <= at - retention.retention() or (
                existing.status is None and existing.created_at <= at - STALE_IN_PROGRESS
            ):
                existing.delete()  # expired, or left by a crash: taken over
                continue
            return self._replay(existing, request_hash)
        return error_response(DomainError(Error.IDEMPOTENCY_IN_PROGRESS))

    @staticmethod
    def _replay(record: IdempotencyRecord, request_hash: str) -> HttpResponse:
        if record.request_hash != request_hash:
            return error_response(DomainError(Error.IDEMPOTENCY_KEY_REUSED))
        if record.status is None:
            return error_response(DomainError(Error.IDEMPOTENCY_IN_PROGRESS))
        response = HttpResponse(bytes(record.body), status=record.status, content_type=record.content_type)
        response["Idempotent-Replayed"] = "true"
        return response


def request_fingerprint(request) -> str:
    """What makes two POSTs "the same request": method, path, query and the body as the handler
    reads it. JSON is compared parsed (spacing and key order do not matter); a multipart body by
    every field and every file's name, type and content (read from the parsed parts in chunks, so
    memory stays flat); anything else byte for byte."""
    digest = hashlib.sha256(f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode())
    if request.content_type == "multipart/form-data":
        for name, values in sorted(request.POST.lists()):
            digest.update(json.dumps(["field", name, values], ensure_ascii=False).encode())
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                digest.update(json.dumps(["file", name, upload.name, upload.content_type, upload.size]).encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
        return digest.hexdigest()
    body = request.body
    if request.content_type == "application/json":
        # Not JSON: compared as bytes (the handler refuses it, and that is not stored).
        with contextlib.suppress(ValueError, UnicodeError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    digest.update(body)
    return digest.hexdigest()
