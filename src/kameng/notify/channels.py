"""Notification channels through apprise: one URL per channel kind on the merchant's settings page
(邮件 mailto://, Telegram tgram://, 企业微信 wecombot://, 钉钉 dingtalk://, Bark bark://,
Server酱 schan://, or any HTTP endpoint with json://).

`notify(user, event, title, template, params)` writes the in-app notice and one Dispatch per channel
inside the caller's transaction; each is sent by the job `notify.send` after it commits and retried
with back-off (kameng.notify.outbox). Nothing is sent inside a transaction. A channel's title and text
are rendered in the user's language (Chinese unless they chose English), like their emails.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass

import apprise
from django.db import transaction

from kameng.accounts.models import Role, User
from kameng.aftersales import inbox
from kameng.aftersales.models import RefundCase
from kameng.aftersales.notifications import render_in
from kameng.clock.services import now as clock_now
from kameng.compiled import PreparedObjects
from kameng.errors import DomainError, Error
from kameng.timers import jobs

from . import addresses, outbox
from .models import Channel, ChannelKind, Dispatch

SEND_JOB = "notify.send"
RETRY_TIMER = "notify.retry_send"

# The apprise plugin each kind must resolve to, and whether its host is one the merchant chooses
# (checked like a webhook's: public only) rather than the service's own.
PLUGINS = {
    ChannelKind.EMAIL: ("NotifyEmail", True),
    ChannelKind.TELEGRAM: ("NotifyTelegram", False),
    ChannelKind.WECOM: ("NotifyWeComBot", False),
    ChannelKind.DINGTALK: ("NotifyDingTalk", False),
    ChannelKind.BARK: ("NotifyBark", True),
    ChannelKind.SERVERCHAN: ("NotifyServerChan", False),
    ChannelKind.JSON: ("NotifyJSON", True),
}


def _plugin_for(kind: str, url: str):
    """The apprise plugin the URL makes, if it is this kind's and calls a host we may reach."""
    if kind not in PLUGINS:
        raise DomainError(Error.NOTIFY_CHANNEL_UNKNOWN, param="kind")
    url = (url or "").strip()
    plugin = apprise.Apprise.instantiate(url) if url and len(url) <= 1000 else None
    expected, own_host = PLUGINS[ChannelKind(kind)]
    if plugin is None or type(plugin).__name__ != expected:
        raise DomainError(Error.NOTIFY_URL_INVALID, param="url")
    if own_host:
        plain_http = kind in (ChannelKind.JSON, ChannelKind.BARK) and not plugin.secure
        if plain_http and not addresses.private_allowed():
            raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
        addresses.check_host(getattr(plugin, "smtp_host", None) or plugin.host, plugin.port)
    return plugin


def save_channel(user: User, *, kind: str, url: str) -> Channel:
    """Set (or replace) the user's URL for one channel kind."""
    if user.role != Role.MERCHANT:
        raise DomainError(Error.NOTIFY_MERCHANT_ONLY)
    _plugin_for(kind, url)
    now = clock_now()
    channel, _ = Channel.objects.update_or_create(
        user=user,
        kind=kind,
        defaults={"url": url.strip(), "updated_at": now},
        create_defaults={"url": url.strip(), "created_at": now, "updated_at": now},
    )
    return channel


def remove_channel(user: User, kind: str) -> None:
    """Stop sending to this channel (a channel that is not set is already removed)."""
    if user.role != Role.MERCHANT:
        raise DomainError(Error.NOTIFY_MERCHANT_ONLY)
    Channel.objects.filter(user=user, kind=kind).delete()


def channels_of(user: User):
    return Channel.objects.filter(user=user).order_by("kind")


def masked(url: str) -> str:
    """The URL as the settings page shows it: the scheme and the first characters, never a token."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest[:4]}…" if rest else url


def send_test(user: User, kind: str) -> Dispatch:
    """The settings page's "send test": one Dispatch to this channel only."""
    channel = Channel.objects.filter(user=user, kind=kind).first()
    if channel is None:
        raise DomainError(Error.NOTIFY_CHANNEL_NOT_SET)
    with transaction.atomic():
        return _dispatch(
            channel,
            "test",
            render_in(user.language, TEST_TITLE, {}),
            render_in(user.language, TEST_TEXT, {}),
            clock_now(),
        )


TEST_TITLE = "[卡盟] 测试通知"
TEST_TEXT = "这是一条测试通知：你的通知渠道已配置成功。"


def notify(
    user: User,
    event: str,
    title: str,
    template: str,
    params: dict | None = None,
    *,
    case: RefundCase | None = None,
    in_app: bool = True,
) -> None:
    """Tell `user`: in-app now (in the caller's transaction), and on every channel after it commits.

    `title` and `template` are Chinese texts with `{field}`s filled from `params`
    (aftersales.notifications): the in-app notice is rendered when it is read, in its reader's
    language; the channels get both rendered now in the user's language."""
    notify_many([Notice(user, event, title, template, params or {}, case, in_app)])


@dataclass(frozen=True)
class Notice:
    """The arguments of one `notify`, for `notify_many`."""

    user: User
    event: str
    title: str
    template: str
    params: dict
    case: RefundCase | None = None
    in_app: bool = True


def notify_many(notices: list[Notice]) -> None:
    """`notify` for each of `notices` (a sweep's batch of reminders): the users' channels read in one
    query, the in-app notices stored in one INSERT and the dispatches in another — the same rows, each
    table's in the same order as one by one, their sendings queued in that order after them."""
    now = clock_now()
    channels: dict[int, list[Channel]] = defaultdict(list)
    for channel in _channels_of({n.user.pk for n in notices}):
        channels[channel.user_id].append(channel)
    in_app, rows = [], []
    for n in notices:
        if n.in_app:
            sent = tuple((channel.kind, masked(channel.url)) for channel in channels[n.user.pk])
            in_app.append(inbox.Delivery(n.user, n.event, n.template, n.params, now, n.case, channels=sent))
        if channels[n.user.pk]:
            title = render_in(n.user.language, n.title, n.params) if n.title else ""
            body = render_in(n.user.language, n.template, n.params)
            rows += [_dispatch_row(channel, n.event, title, body, now) for channel in channels[n.user.pk]]
    inbox.deliver_many(in_app)
    for row in Dispatch.objects.bulk_create(rows):
        outbox.queue(row, SEND_JOB)


# One user's channels (a case event tells its merchant): a fixed statement compiled once (kameng.compiled).
_CHANNELS_READ = PreparedObjects(lambda user_id: Channel.objects.filter(user_id=user_id).order_by("pk"), arity=1)


def _channels_of(user_ids: set[int]) -> list[Channel]:
    """These users' channels, in the order they were set."""
    if len(user_ids) == 1:
        return _CHANNELS_READ.objects(*user_ids)  # type: ignore[return-value]
    return list(Channel.objects.filter(user_id__in=user_ids).order_by("pk")) if user_ids else []


def _dispatch(channel: Channel, event: str, title: str, body: str, now) -> Dispatch:
    row = _dispatch_row(channel, event, title, body, now)
    row.save(force_insert=True)
    outbox.queue(row, SEND_JOB)
    return row


def _dispatch_row(channel: Channel, event: str, title: str, body: str, now) -> Dispatch:
    return Dispatch(
        user_id=channel.user_id,
        kind=channel.kind,
        channel=channel,
        event=event,
        title=title[:200],
        body=body,
        created_at=now,
    )


@jobs.job(SEND_JOB)
def send(dispatch_id: int) -> bool:
    """The job: one attempt at sending a Dispatch through apprise, outside any transaction."""
    row = Dispatch.objects.select_related("channel").filter(pk=dispatch_id).first()
    if row is None or not outbox.due(row) or row.channel is None:
        return False
    ok, error = False, ""
    try:
        _plugin_for(row.channel.kind, row.channel.url)  # the host may resolve elsewhere by now
        client = apprise.Apprise()
        client.add(row.channel.url)
        with apprise.LogCapture(level=logging.WARNING) as log:
            ok = bool(client.notify(title=row.title, body=row.body))
        error = "" if ok else _last_line(log.getvalue())
    except DomainError as exc:
        error = exc.message()
    outbox.record(row, ok=ok, error=error, retry_timer=RETRY_TIMER)
    return ok


def _last_line(text: str) -> str:
    """apprise's last warning, without its timestamp (the service's answer, never the URL's token)."""
    lines = [line.rsplit(" - ", 1)[-1] for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "发送失败"


def dispatches_of(user: User):
    return Dispatch.objects.filter(user=user).select_related("channel").order_by("-pk")


def resend(user: User, dispatch_id) -> Dispatch:
    row = dispatches_of(user).filter(pk=int(dispatch_id) if str(dispatch_id).isdigit() else -1).first()
    if row is None:
        raise DomainError(Error.NOTIFY_DISPATCH_NOT_FOUND)
    if row.channel is None:
        raise DomainError(Error.NOTIFY_CHANNEL_NOT_SET)
    outbox.resend(row, SEND_JOB)
    return row
