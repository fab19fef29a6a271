"""Signed webhooks (Standard Webhooks): a merchant subscribes an https URL to events; every event
becomes one WebhookDelivery per subscribed endpoint, written in the event's transaction and sent by
the job `notify.deliver_webhook` after it commits, retried with back-off for 24 h
(kameng.notify.outbox). The body is `{"type", "timestamp", "data"}`; the headers `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, made by
the standardwebhooks package with the endpoint's `whsec_<base64>` secret.
"""

import base64
import json
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC

import requests
from django.db import transaction
from standardwebhooks import Webhook

from kameng.accounts.models import Role, User
from kameng.clock.services import now as clock_now
from kameng.compiled import PreparedObjects
from kameng.errors import DomainError, Error
from kameng.timers import jobs

from . import addresses, outbox, pinned
from .models import Endpoint, WebhookDelivery

EVENTS = (
    "order.paid",
    "order.delivered",
    "order.completed",
    "refund.opened",
    "refund.updated",
    "refund.closed",
    "withdrawal.paid",
)
DELIVER_JOB = "notify.deliver_webhook"
RETRY_TIMER = "notify.retry_webhook"
TIMEOUT_SECONDS = 10
MAX_ENDPOINTS = 10

# Within read_once(): each user's live endpoints as first read (a purchase emits order.paid and
# order.delivered to the same merchant: one lookup, not two). Outside it every emit reads them.
_endpoints_once: ContextVar[dict[int, list[Endpoint]] | None] = ContextVar("webhook_endpoints_once", default=None)


@contextmanager
def read_once(users: Iterable[int] = ()) -> Iterator[None]:
    """Within this block emit() reads a user's endpoints at most once (creating or deleting one forgets them).
    `users`: read these users' endpoints now, in one query (a batch of releases, many merchants).
    Inside an outer block the outer one's reads are kept."""
    memo = _endpoints_once.get()
    token = _endpoints_once.set({} if memo is None else memo)
    try:
        memo = _endpoints_once.get()
        assert memo is not None
        missing = [user for user in dict.fromkeys(users) if user not in memo]
        if len(missing) == 1:  # one merchant (an action's events): the fixed read
            memo[missing[0]] = _ENDPOINTS_READ.objects(missing[0])  # type: ignore[assignment]
        elif missing:
            found: dict[int, list[Endpoint]] = {user: [] for user in missing}
            for endpoint in Endpoint.objects.filter(user_id__in=missing, deleted_at__isnull=True).order_by("pk"):
                found[endpoint.user_id].append(endpoint)
            memo.update(found)
        yield
    finally:
        _endpoints_once.reset(token)


def _live_endpoints(user_id: int) -> list[Endpoint]:
    memo = _endpoints_once.get()
    if memo is not None and user_id in memo:
        return memo[user_id]
    endpoints: list[Endpoint] = _ENDPOINTS_READ.objects(user_id)  # type: ignore[assignment]
    if memo is not None:
        memo[user_id] = endpoints
    return endpoints


# One user's live endpoints, in the order they were made: a fixed statement compiled once (kameng.compiled).
_ENDPOINTS_READ = PreparedObjects(
    lambda user_id: Endpoint.objects.filter(user_id=user_id, deleted_at__isnull=True).order_by("pk"), arity=1
)


def _forget(user_id: int) -> None:
    memo = _endpoints_once.get()
    if memo is not None:
        memo.pop(user_id, None)


def create_endpoint(user: User, *, url: str, events: list[str]) -> Endpoint:
    if user.role != Role.MERCHANT:
        raise DomainError(Error.WEBHOOK_MERCHANT_ONLY)
    url = addresses.check_url(url)
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        raise DomainError(Error.WEBHOOK_EVENTS_INVALID, param="events")
    if endpoints_of(user).count() >= MAX_ENDPOINTS:
        raise DomainError(Error.WEBHOOK_TOO_MANY)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    _forget(user.pk)
    return Endpoint.objects.create(
        user=user, url=url, events=list(dict.fromkeys(events)), secret=secret, created_at=clock_now()
    )


def endpoints_of(user: User):
    return Endpoint.objects.filter(user=user, deleted_at__isnull=True).order_by("pk")


def get_endpoint(user: User, endpoint_id) -> Endpoint:
    endpoint = endpoints_of(user).filter(pk=int(endpoint_id) if str(endpoint_id).isdigit() else -1).first()
    if endpoint is None:
        raise DomainError(Error.WEBHOOK_NOT_FOUND)
    return endpoint


def delete_endpoint(user: User, endpoint_id) -> None:
    """Stops every future delivery; the log stays readable to no one but the database."""
    endpoint = get_endpoint(user, endpoint_id)
    endpoint.deleted_at = clock_now()
    endpoint.save(update_fields=["deleted_at"])
    _forget(user.pk)


def deliveries_of(endpoint: Endpoint):
    return endpoint.deliveries.order_by("-pk")


def emit(user_id: int, event: str, data: dict) -> None:
    """Queue `event` for every endpoint of the user subscribed to it (inside the event's transaction)."""
    emit_many([(user_id, event, data)])


def emit_many(emits: list[tuple[int, str, dict]]) -> None:
    """`emit(user_id, event, data)` for each of these, in order: the deliveries in one INSERT."""
    rows, now = [], None
    for user_id, event, data in emits:
        assert event in EVENTS, event
        for endpoint in _live_endpoints(user_id):
            if event not in endpoint.events:
                continue
            now = now or clock_now()  # read only when there is something to send (most users have no endpoint)
            payload = json.dumps(
                {"type": event, "timestamp": now.astimezone(UTC).isoformat(), "data": data},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            message_id = f"msg_{secrets.token_hex(12)}"
            rows.append(
                WebhookDelivery(endpoint=endpoint, event=event, message_id=message_id, payload=payload, created_at=now)
            )
    for row in WebhookDelivery.objects.bulk_create(rows) if rows else ():
        outbox.queue(row, DELIVER_JOB)


def signed_headers(endpoint: Endpoint, message_id: str, payload: str) -> dict[str, str]:
    at = clock_now().astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": "kameng-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(message_id, at, payload),
    }


@jobs.job(DELIVER_JOB)
def deliver(delivery_id: int) -> bool:
    """The job: one attempt, outside any transaction; a 2xx answer is delivered, anything else retried."""
    row = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if row is None or not outbox.due(row) or row.endpoint.deleted_at is not None:
        return False
    ok, error, status = False, "", None
    try:
        # Again: the name may resolve inward by now. The request then goes to the very address
        # checked, never to a second lookup's answer (DNS rebinding), and follows no redirect.
        address = addresses.pin_url(row.endpoint.url)
        answer = pinned.post(
            row.endpoint.url,
            address,
            data=row.payload.encode(),
            headers=signed_headers(row.endpoint, row.message_id, row.payload),
            timeout=TIMEOUT_SECONDS,
        )
        status = answer.status_code
        ok = 200 <= status < 300
        error = "" if ok else f"HTTP {status}"
    except DomainError as exc:
        error = exc.message()
    except requests.RequestException as exc:
        error = type(exc).__name__
    row.response_status = status
    outbox.record(row, ok=ok, error=error, retry_timer=RETRY_TIMER, extra_fields=("response_status",))
    return ok


def resend(user: User, endpoint_id, delivery_id) -> WebhookDelivery:
    endpoint = get_endpoint(user, endpoint_id)
    row = endpoint.deliveries.filter(pk=int(delivery_id) if str(delivery_id).isdigit() else -1).first()
    if row is None:
        raise DomainError(Error.WEBHOOK_DELIVERY_NOT_FOUND)
    with transaction.atomic():
        outbox.resend(row, DELIVER_JOB)
    return row
