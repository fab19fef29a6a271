"""The user's notifications (消息): every notice is an in-app Notification, and says where else it
went — the user's e-mail address (masked: b***@example.com), a merchant's notification channels
(their URLs masked) — so the notification page can show "sent to: in-app · e-mail b***@…". The
e-mail itself leaves after the transaction commits (kameng.timers.jobs)."""

from datetime import datetime

from kameng.accounts.models import User
from kameng.timers import jobs

from .models import Notification

IN_APP, EMAIL = "in_app", "email"


def mask_email(address: str) -> str:
    """ "buyer1@example.com" → "b***@example.com": enough to recognise one's own address, no more."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def deliver(
    user: User,
    *,
    kind: str,
    text: str,
    now: datetime,
    case=None,
    subject: str = "",
    channels: tuple[tuple[str, str], ...] = (),
) -> Notification:
    """In-app now; by e-mail too when `subject` is given and the user has an address; `channels`
    ((kind, masked address) of notification channels the caller sends on) are recorded as sent."""
    sent = [{"channel": IN_APP, "to": ""}]
    emailed = bool(subject and user.email)
    if emailed:
        sent.append({"channel": EMAIL, "to": mask_email(user.email)})
    sent += [{"channel": channel, "to": to} for channel, to in channels]
    notice = Notification.objects.create(
        user=user, case=case, kind=kind, text=text[:500], created_at=now, delivered_to=sent
    )
    if emailed:
        # After commit: on Celery when a broker is configured, in this process otherwise.
        jobs.enqueue("send_notification_email", user.email, subject, text)
    return notice
