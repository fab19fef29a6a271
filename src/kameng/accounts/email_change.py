"""Changing a user's e-mail address. Case notices and their deadlines go to it, so a typo must not send
them to a stranger, nor may someone at an unlocked screen take the account's mail: the change needs
the current password, and the new address is used only once its owner opens the link sent to it
(24 hours, by the platform's clock). The old address is told when it is replaced.

The link carries what it changes, signed (django.core.signing, salted): the user, the new address,
the address it replaces — a link made before another change no longer applies — and when it was made.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.timers import jobs

from .models import User
from .services import check_current_password, clean_email, mask_email

SALT = "kameng.accounts.email-change"
VALID_FOR = timedelta(hours=24)
CONFIRM_PATH = "/account/email/confirm/"  # kameng.web serves it: the link opens there, signed in

CONFIRM_SUBJECT = gettext_noop("[卡盟] 确认你的新邮箱")
CONFIRM_TEXT = gettext_noop(
    "你正在把卡盟账户 {username} 的邮箱改为 {email}。请在 24 小时内登录后打开下面的链接确认：\n{link}\n"
    "如果这不是你本人的操作，请忽略这封邮件并尽快修改密码。"
)
CHANGED_SUBJECT = gettext_noop("[卡盟] 你的邮箱已更改")
CHANGED_TEXT = gettext_noop(
    "卡盟账户 {username} 的邮箱已改为 {email}，售后通知今后发往新邮箱。如果这不是你本人的操作，请立即修改密码并联系平台。"
)


def request_change(user: User, current_password: str, new_email: str) -> str:
    """Send the confirmation link to `new_email` (after this transaction commits); returns the link's token."""
    check_current_password(user, current_password)
    email = clean_email(new_email)
    if not email:
        raise DomainError(Error.ACCOUNT_EMAIL_REQUIRED, param="email")
    if email.lower() == (user.email or "").lower():
        raise DomainError(Error.ACCOUNT_EMAIL_UNCHANGED, param="email")
    token = signing.dumps(
        {"user": user.pk, "email": email, "was": user.email, "at": clock_now().isoformat()}, salt=SALT
    )
    link = f"{settings.PUBLIC_URL}{CONFIRM_PATH}{token}"
    _mail(user, email, CONFIRM_SUBJECT, CONFIRM_TEXT, email=email, link=link)
    return token


def confirm_change(user: User, token: str) -> User:
    """Open the link: the address becomes the user's if the link is theirs, unused and not expired."""
    try:
        change = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        raise DomainError(Error.ACCOUNT_EMAIL_LINK_INVALID) from None
    if change.get("user") != user.pk or change.get("was") != user.email:
        raise DomainError(Error.ACCOUNT_EMAIL_LINK_INVALID)  # another account's, or used / overtaken
    if clock_now() - datetime.fromisoformat(change["at"]) > VALID_FOR:
        raise DomainError(Error.ACCOUNT_EMAIL_LINK_EXPIRED)
    with transaction.atomic():
        old, user.email = user.email, change["email"]
        user.save(update_fields=["email"])
        if old:
            _mail(user, old, CHANGED_SUBJECT, CHANGED_TEXT, email=mask_email(user.email))
    return user


def _mail(user: User, to: str, subject: str, template: str, **values) -> None:
    with translation.override(user.language or "zh-hans"):
        title, body = gettext(subject), gettext(template).format(username=user.username, **values)
    jobs.enqueue("send_notification_email", to, title, body)
