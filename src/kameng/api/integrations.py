"""Merchants' integrations: webhooks (the contract's `/webhooks`) and notification channels
(`/notifications/channels`), each with its log of attempts (HTTP only: the use cases are kameng.notify)."""

from typing import Annotated

from ninja import Router, Schema, Status

from kameng.accounts.models import Role
from kameng.errors import Error
from kameng.notify import channels, webhooks
from kameng.notify.models import Channel, ChannelKind, Dispatch, Endpoint, SendStatus, WebhookDelivery

from .base import iso, paginate, require_role
from .contract import Cursor, Id, Limit, Out, PathId, Timestamp, enum_of, page_of, raises

Event = Annotated[str, enum_of(*webhooks.EVENTS)]
Kind = Annotated[str, enum_of(ChannelKind)]

router = Router(tags=["integrations"])


class WebhookIn(Schema):
    url: str
    events: list[Event]


class ChannelIn(Schema):
    url: str


class WebhookOut(Out):
    id: Id
    url: str
    events: list[Event]
    created_at: Timestamp
    secret: str | None = None  # whsec_<base64>: only in the answer that made it


class WebhookList(Out):
    data: list[WebhookOut]
    has_more: bool


class NotifyAttempt(Out):
    id: Id
    event: str
    status: Annotated[str, enum_of(SendStatus)]
    attempts: int
    last_error: str
    next_attempt_at: Timestamp | None
    sent_at: Timestamp | None
    created_at: Timestamp


class WebhookDeliveryOut(NotifyAttempt):
    message_id: str  # webhook-id
    response_status: int | None


class NotifyChannelOut(Out):
    kind: Kind
    url: str  # masked
    updated_at: Timestamp


class NotifyChannelList(Out):
    data: list[NotifyChannelOut]
    has_more: bool


class NotifyDispatchOut(NotifyAttempt):
    channel: Kind
    title: str


def endpoint_out(endpoint: Endpoint, *, secret: bool = False) -> dict:
    data = {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": iso(endpoint.created_at),
    }
    if secret:  # shown once, when it is made
        data["secret"] = endpoint.secret
    return data


def delivery_out(row: WebhookDelivery) -> dict:
    return {
        "id": str(row.pk),
        "event": row.event,
        "message_id": row.message_id,
        "status": row.status,
        "attempts": row.attempts,
        "response_status": row.response_status,
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at),
        "sent_at": iso(row.sent_at),
        "created_at": iso(row.created_at),
    }


@router.post("/webhooks", response={201: WebhookOut})
@raises(Error.WRONG_ROLE, Error.WEBHOOK_MERCHANT_ONLY, Error.WEBHOOK_URL_NOT_ALLOWED, Error.WEBHOOK_EVENTS_INVALID)
@raises(Error.WEBHOOK_TOO_MANY)
def create_webhook(request, payload: WebhookIn):
    """A merchant subscribes an https URL to events; the answer holds its signing secret, once."""
    require_role(request, Role.MERCHANT)
    endpoint = webhooks.create_endpoint(request.auth, url=payload.url, events=payload.events)
    return Status(201, endpoint_out(endpoint, secret=True))


@router.get("/webhooks", response=WebhookList)
@raises(Error.WRONG_ROLE)
def list_webhooks(request):
    """The merchant's webhooks (without their secrets)."""
    require_role(request, Role.MERCHANT)
    return {"data": [endpoint_out(e) for e in webhooks.endpoints_of(request.auth)], "has_more": False}


@router.delete("/webhooks/{webhook_id}", response={204: None})
@raises(Error.WRONG_ROLE, Error.WEBHOOK_NOT_FOUND)
def delete_webhook(request, webhook_id: PathId):
    """Stop a webhook: nothing more is delivered to it (204, no body)."""
    require_role(request, Role.MERCHANT)
    webhooks.delete_endpoint(request.auth, webhook_id)
    return Status(204, None)


@router.get("/webhooks/{webhook_id}/deliveries", response=page_of(WebhookDeliveryOut))
@raises(Error.WRONG_ROLE, Error.WEBHOOK_NOT_FOUND, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def list_deliveries(request, webhook_id: PathId, limit: Limit = 20, starting_after: Cursor = None):
    """A webhook's deliveries, newest first, with each attempt's answer code."""
    require_role(request, Role.MERCHANT)
    endpoint = webhooks.get_endpoint(request.auth, webhook_id)
    return paginate(webhooks.deliveries_of(endpoint), limit, starting_after, delivery_out)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", response=WebhookDeliveryOut)
@raises(Error.WRONG_ROLE, Error.WEBHOOK_NOT_FOUND, Error.WEBHOOK_DELIVERY_NOT_FOUND)
def resend_delivery(request, webhook_id: PathId, delivery_id: PathId):
    """Deliver again (a fresh round of attempts, the same webhook-id)."""
    require_role(request, Role.MERCHANT)
    return delivery_out(webhooks.resend(request.auth, webhook_id, delivery_id))


# ---- notification channels ---------------------------------------------------------------------------


def channel_out(channel: Channel) -> dict:
    return {"kind": channel.kind, "url": channels.masked(channel.url), "updated_at": iso(channel.updated_at)}


def dispatch_out(row: Dispatch) -> dict:
    return {
        "id": str(row.pk),
        "channel": row.kind,
        "event": row.event,
        "title": row.title,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at),
        "sent_at": iso(row.sent_at),
        "created_at": iso(row.created_at),
    }


@router.get("/notifications/channels", response=NotifyChannelList)
@raises(Error.WRONG_ROLE)
def list_channels(request):
    """The merchant's notification channels (URLs masked)."""
    require_role(request, Role.MERCHANT)
    return {"data": [channel_out(c) for c in channels.channels_of(request.auth)], "has_more": False}


@router.put("/notifications/channels/{kind}", response=NotifyChannelOut)
@raises(Error.WRONG_ROLE, Error.NOTIFY_MERCHANT_ONLY, Error.NOTIFY_CHANNEL_UNKNOWN, Error.NOTIFY_URL_INVALID)
@raises(Error.WEBHOOK_URL_NOT_ALLOWED)
def set_channel(request, kind: str, payload: ChannelIn):
    """Set (or replace) the apprise URL of one channel."""
    require_role(request, Role.MERCHANT)
    return channel_out(channels.save_channel(request.auth, kind=kind, url=payload.url))


@router.delete("/notifications/channels/{kind}", response=NotifyChannelList)
@raises(Error.WRONG_ROLE, Error.NOTIFY_MERCHANT_ONLY)
def delete_channel(request, kind: str):
    """Stop sending to a channel (its log stays)."""
    require_role(request, Role.MERCHANT)
    channels.remove_channel(request.auth, kind)
    return {"data": [channel_out(c) for c in channels.channels_of(request.auth)], "has_more": False}  # the rest


@router.post("/notifications/channels/{kind}/test", response={201: NotifyDispatchOut})
@raises(Error.WRONG_ROLE, Error.NOTIFY_CHANNEL_NOT_SET)
def test_channel(request, kind: str):
    """Send a test notice to this channel now (after this request commits); its result is in the log."""
    require_role(request, Role.MERCHANT)
    return Status(201, dispatch_out(channels.send_test(request.auth, kind)))


@router.get("/notifications/dispatches", response=page_of(NotifyDispatchOut))
@raises(Error.WRONG_ROLE, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def list_dispatches(request, limit: Limit = 20, starting_after: Cursor = None):
    """Every notice sent to the merchant's channels, newest first, with its attempts and last error."""
    require_role(request, Role.MERCHANT)
    return paginate(channels.dispatches_of(request.auth), limit, starting_after, dispatch_out)


@router.post("/notifications/dispatches/{dispatch_id}/resend", response=NotifyDispatchOut)
@raises(Error.WRONG_ROLE, Error.NOTIFY_DISPATCH_NOT_FOUND, Error.NOTIFY_CHANNEL_NOT_SET)
def resend_dispatch(request, dispatch_id: PathId):
    """Send a notice again (a fresh round of attempts)."""
    require_role(request, Role.MERCHANT)
    return dispatch_out(channels.resend(request.auth, dispatch_id))
