"""The user's notifications (消息): every notice is an in-app Notification, and says where else it
went — the user's e-mail address (masked: b***@example.com), a merchant's notification channels
(their URLs masked) — so the notification page can show "sent to: in-app · e-mail b***@…". The
e-mail itself leaves after the transaction commits (kameng.timers.jobs)."""

from dataclasses import dataclass
from datetime import datetime

from kameng.accounts.models import User
from kameng.accounts.services import mask_email
from kameng.compiled import insert_rows
from kameng.timers import jobs

from .models import Notification
from .notifications import render_in

IN_APP, EMAIL = "in_app", "email"


@dataclass(frozen=True)
class Delivery:
    """The arguments of one `deliver`, for `deliver_many`."""

    user: User
    kind: str
    template: str
    params: dict
    now: datetime
    case: object = None
    subject: tuple[str, dict] | None = None
    channels: tuple[tuple[str, str], ...] = ()


def deliver(
    user: User,
    *,
    kind: str,
    template: str,
    params: dict,
    now: datetime,
    case=None,
    subject: tuple[str, dict] | None = None,
    channels: tuple[tuple[str, str], ...] = (),
) -> Notification:
    """In-app now (stored as its template and parameters, shown in the reader's language); by e-mail
    too when `subject` (template, parameters) is given and the user has an address, in the user's
    language; `channels` ((kind, masked address) the caller sends on) are recorded as sent."""
    return deliver_many([Delivery(user, kind, template, params, now, case, subject, channels)])[0]


def deliver_all(
    users: list[User],
    *,
    kind: str,
    template: str,
    params: dict,
    now: datetime,
    case=None,
    subject: tuple[str, dict] | None = None,
) -> list[Notification]:
    """`deliver` the same notice to each of `users` (see `deliver_many`)."""
    return deliver_many([Delivery(user, kind, template, params, now, case, subject) for user in users])


def deliver_many(deliveries: list[Delivery]) -> list[Notification]:
    """`deliver` each of `deliveries` (a case's parties, a sweep's batch of reminders), the notices
    stored in one INSERT (the same rows, in the same order; the e-mails queued in the same order after them)."""
    made = [_notice(d.user, d.kind, d.template, d.params, d.now, d.case, d.subject, d.channels) for d in deliveries]
    notices = insert_rows(Notification, [notice for notice, _ in made])  # bulk_create's rows, fixed text
    for _, email in made:
        _email(email)
    return notices


def _notice(user, kind, template, params, now, case, subject, channels) -> tuple[Notification, tuple | None]:
    sent = [{"channel": IN_APP, "to": ""}]
    emailed = bool(subject and user.email)
    if emailed:
        sent.append({"channel": EMAIL, "to": mask_email(user.email)})
    sent += [{"channel": channel, "to": to} for channel, to in channels]
    text = render_in("zh-hans", template, params)
    notice = Notification(
        user=user,
        case=case,
        kind=kind,
        text=text[:500],
        template=template,
        params=params,
        created_at=now,
        delivered_to=sent,
    )
    email = None
    if emailed and subject:
        title = render_in(user.language, subject[0], subject[1])
        email = (user.email, title, render_in(user.language, template, params))
    return notice, email


def _email(email: tuple | None) -> None:
    if email is not None:
        # After commit: on Celery when a broker is configured, in this process otherwise.
        jobs.enqueue("send_notification_email", *email)
