"""Merchants' integrations: webhooks (the contract's `/webhooks`) and notification channels
(`/notifications/channels`), each with its log of attempts (HTTP only: the use cases are kameng.notify)."""

from django.http import HttpResponse
from ninja import Router, Schema, Status

from kameng.accounts.models import Role
from kameng.notify import channels, webhooks
from kameng.notify.models import Channel, Dispatch, Endpoint, WebhookDelivery

from .base import iso, paginate, require_role

router = Router(tags=["integrations"])


class WebhookIn(Schema):
    url: str
    events: list[str]


class ChannelIn(Schema):
    url: str


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


@router.post("/webhooks", response={201: dict})
def create_webhook(request, payload: WebhookIn):
    require_role(request, Role.MERCHANT)
    endpoint = webhooks.create_endpoint(request.auth, url=payload.url, events=payload.events)
    return Status(201, endpoint_out(endpoint, secret=True))


@router.get("/webhooks", response=dict)
def list_webhooks(request):
    require_role(request, Role.MERCHANT)
    return {"data": [endpoint_out(e) for e in webhooks.endpoints_of(request.auth)], "has_more": False}


@router.delete("/webhooks/{webhook_id}", response={204: None})
def delete_webhook(request, webhook_id: str):
    require_role(request, Role.MERCHANT)
    webhooks.delete_endpoint(request.auth, webhook_id)
    return HttpResponse(status=204)


@router.get("/webhooks/{webhook_id}/deliveries", response=dict)
def list_deliveries(request, webhook_id: str, limit: int = 20, starting_after: str | None = None):
    require_role(request, Role.MERCHANT)
    endpoint = webhooks.get_endpoint(request.auth, webhook_id)
    return paginate(webhooks.deliveries_of(endpoint), limit, starting_after, delivery_out)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", response=dict)
def resend_delivery(request, webhook_id: str, delivery_id: str):
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


@router.get("/notifications/channels", response=dict)
def list_channels(request):
    require_role(request, Role.MERCHANT)
    return {"data": [channel_out(c) for c in channels.channels_of(request.auth)], "has_more": False}


@router.put("/notifications/channels/{kind}", response=dict)
def set_channel(request, kind: str, payload: ChannelIn):
    require_role(request, Role.MERCHANT)
    return channel_out(channels.save_channel(request.auth, kind=kind, url=payload.url))


@router.delete("/notifications/channels/{kind}", response={204: None})
def delete_channel(request, kind: str):
    require_role(request, Role.MERCHANT)
    channels.remove_channel(request.auth, kind)
    return HttpResponse(status=204)


@router.post("/notifications/channels/{kind}/test", response={201: dict})
def test_channel(request, kind: str):
    """Send a test notice to this channel now (after this request commits); its result is in the log."""
    require_role(request, Role.MERCHANT)
    return Status(201, dispatch_out(channels.send_test(request.auth, kind)))


@router.get("/notifications/dispatches", response=dict)
def list_dispatches(request, limit: int = 20, starting_after: str | None = None):
    require_role(request, Role.MERCHANT)
    return paginate(channels.dispatches_of(request.auth), limit, starting_after, dispatch_out)


@router.post("/notifications/dispatches/{dispatch_id}/resend", response=dict)
def resend_dispatch(request, dispatch_id: str):
    require_role(request, Role.MERCHANT)
    return dispatch_out(channels.resend(request.auth, dispatch_id))
