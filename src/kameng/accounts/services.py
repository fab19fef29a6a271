"""Registering users and issuing tokens."""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction

from kameng.clock.services import now
from kameng.compiled import Prepared
from kameng.errors import DomainError, Error
from kameng.security import lockout
from kameng.security.lockout import locked_error
from kameng.security.ratelimit import client_ip

from . import otp
from .models import ApiToken, Role, User


def clean_email(email: str | None) -> str:
    """An optional e-mail address (where notifications are also sent): "" when none, else checked."""
    email = (email or "").strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(Error.ACCOUNT_EMAIL_INVALID, param="email") from None
    if len(email) > 254:
        raise DomainError(Error.ACCOUNT_EMAIL_INVALID, param="email")
    return email


def mask_email(address: str) -> str:
    """ "buyer1@example.com" → "b***@example.com": enough to recognise one's own address, no more."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def create_user(username: str, password: str, role: str, *, validate: bool = True, email: str = "") -> User:
    if role not in {r.value for r in Role}:
        raise DomainError(Error.ACCOUNT_ROLE_UNKNOWN, param="role")
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise DomainError(Error.ACCOUNT_USERNAME_INVALID, param="username")
    user = User(
        username=username,
        role=role,
        is_staff=(role == Role.ADMIN),
        is_superuser=(role == Role.ADMIN),
        date_joined=now(),
        email=clean_email(email),
    )
    if validate:
        try:
            validate_password(password or "", user)
        except ValidationError as exc:
            raise DomainError(Error.ACCOUNT_PASSWORD_WEAK, param="password", detail=" ".join(exc.messages)) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise DomainError(Error.ACCOUNT_USERNAME_TAKEN, param="username") from None
    return user


@dataclass(frozen=True)
class Issued:
    """A token just issued: the raw value (shown this once, never stored) and when it ends."""

    raw: str
    expires_at: datetime


def register(username: str, password: str, role: str, *, email: str = "") -> tuple[User, Issued]:
    """Self-registration: buyers and merchants only; staff come from the CLI. The e-mail address is
    optional: with one, the user's notifications also go there (the notification page says so)."""
    if role not in (Role.BUYER, Role.MERCHANT):
        raise DomainError(Error.ACCOUNT_ROLE_NOT_REGISTRABLE, param="role")
    user = create_user(username, password, role, email=email)
    return user, issue(user)


def issue(user: User) -> Issued:
    raw = secrets.token_urlsafe(32)
    issued_at = now()
    expires_at = issued_at + timedelta(days=settings.TOKEN_LIFETIME_DAYS)
    ApiToken.objects.create(user=user, key_hash=ApiToken.hash(raw), created_at=issued_at, expires_at=expires_at)
    return Issued(raw, expires_at)


def issue_token(user: User) -> str:
    """The raw value of a new token (the CLI, the demo and tests)."""
    return issue(user).raw


def login(username: str, password: str, *, otp: str | None = None, request=None) -> tuple[User, Issued]:
    """Password login for a token, then the staff second factor when the user has TOTP.

    With the HTTP request, failures count per (account, address) pair (kameng.security.lockout:
    a slow-down, then django-axes' lock, 429) and per address across accounts."""
    user = authenticate_password(username, password, request=request)
    check_second_factor_at_login(user, otp, username=username, request=request)
    return user, issue(user)


def authenticate_password(username: str, password: str, *, request=None) -> User:
    """The user behind a username and password (the API and the pages), or 401 / 429."""
    if not username or len(username) > 150 or len(password or "") > 4096:
        # No account has such a name; and a lockout record could not store it (it would be a 500).
        raise DomainError(Error.LOGIN_INVALID_CREDENTIALS)
    if request is None:  # CLI and tests: no address to count against
        user = ModelBackend().authenticate(None, username=username, password=password)
    else:
        lockout.gate(username, client_ip(request))
        user = authenticate(request, username=username, password=password)
        if getattr(request, "axes_locked_out", False):
            raise locked_error()
    if user is None or not user.is_active:
        raise DomainError(Error.LOGIN_INVALID_CREDENTIALS)
    return user


def check_second_factor_at_login(user: User, code: str | None, *, username: str, request=None):
    """The device that accepted the code (None without TOTP); a wrong code counts as a failed login."""
    try:
        return otp.check_second_factor(user, code)
    except DomainError as exc:
        if request is not None and exc.error is Error.OTP_INVALID:
            lockout.record_failure(username, client_ip(request))
        raise


# The bearer token's lookup, on every API request: the token and its user in one fixed statement
# (kameng.compiled), the user's fields all loaded as select_related loaded them. The key is unique;
# expiry is compared here with the one clock, so the statement's shape never changes.
_TOKEN_COLUMNS = tuple(f.attname for f in ApiToken._meta.concrete_fields)
_USER_COLUMNS = tuple(f.attname for f in User._meta.concrete_fields)
_TOKEN_READ = Prepared(
    lambda key_hash: ApiToken.objects.filter(key_hash=key_hash).values_list(
        *_TOKEN_COLUMNS, *(f"user__{column}" for column in _USER_COLUMNS)
    )[:1],
    arity=1,
)


def token_for(raw: str) -> ApiToken | None:
    """The live token behind a bearer value: not expired, not revoked, its user active."""
    rows = _TOKEN_READ.rows(ApiToken.hash(raw))
    if not rows:
        return None
    split = len(_TOKEN_COLUMNS)
    token = ApiToken.from_db("default", _TOKEN_COLUMNS, rows[0][:split])
    if token.expires_at <= now():
        return None
    user = User.from_db("default", _USER_COLUMNS, rows[0][split:])
    if not user.is_active:
        return None
    ApiToken.user.field.set_cached_value(token, user)
    return token


def user_for_token(raw: str) -> User | None:
    token = token_for(raw)
    return token.user if token is not None else None


def logout(token: ApiToken) -> None:
    """POST /auth/logout: this token ends now; the user's other tokens and sessions stay."""
    ApiToken.objects.filter(pk=token.pk).delete()


def change_password(user: User, current_password: str, new_password: str) -> Issued:
    """POST /me/password: every earlier token ends (and, the password hash being new, every page
    session); the caller gets one fresh token."""
    with transaction.atomic():
        set_new_password(user, current_password, new_password)
        return issue(user)


def set_new_password(user: User, current_password: str, new_password: str) -> None:
    """The new password, once the current one is given: every token of the user ends, and every page
    session (their hash is the password's); the account page keeps its own session alive itself."""
    check_current_password(user, current_password)
    try:
        validate_password(new_password or "", user)
    except ValidationError as exc:
        raise DomainError(Error.ACCOUNT_PASSWORD_WEAK, param="new_password", detail=" ".join(exc.messages)) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user.tokens.all().delete()


def check_current_password(user: User, current_password: str) -> None:
    if len(current_password or "") > 4096 or not user.check_password(current_password or ""):
        raise DomainError(Error.ACCOUNT_PASSWORD_WRONG, param="current_password")


def revoke_everywhere(user: User) -> int:
    """ "Sign out everywhere" and the admin's revoke: every token and every page session of the user
    ends. Returns how many tokens there were."""
    with transaction.atomic():
        revoked, _ = ApiToken.objects.filter(user=user).delete()
        User.objects.filter(pk=user.pk).update(session_epoch=models.F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    return revoked


def purge_expired_tokens() -> int:
    """Rows of tokens past their end answer nothing; the daily cleanup deletes them."""
    deleted, _ = ApiToken.objects.filter(expires_at__lte=now()).delete()
    return deleted


def set_language(user: User, lang: str) -> User:
    """Store the user's interface language (zh-hans / en); the middleware activates it on each request."""
    if lang not in dict(settings.LANGUAGES):
        raise DomainError(Error.ACCOUNT_LANGUAGE_UNSUPPORTED, param="language")
    if user.language != lang:
        user.language = lang
        user.save(update_fields=["language"])
    return user


PROFILE_LIMITS = {"real_name": 64, "phone": 32, "address": 255}
PROFILE_TOO_LONG = {
    "real_name": Error.ACCOUNT_REAL_NAME_TOO_LONG,
    "phone": Error.ACCOUNT_PHONE_TOO_LONG,
    "address": Error.ACCOUNT_ADDRESS_TOO_LONG,
}


def update_profile(user: User, real_name: str, phone: str, address: str) -> User:
    """The buyer's own details for complaint packages (12315 asks for name, phone and address).

    Blank is allowed (the documents then leave a marked blank); what is given is stored trimmed,
    never guessed or completed.
    """
    values = {"real_name": real_name, "phone": phone, "address": address}
    for name, value in values.items():
        value = " ".join((value or "").split())
        if len(value) > PROFILE_LIMITS[name]:
            raise DomainError(PROFILE_TOO_LONG[name], param=name, limit=PROFILE_LIMITS[name])
        values[name] = value
    if values["phone"] and not re.fullmatch(r"\+?[0-9][0-9 \-]{4,30}", values["phone"]):
        raise DomainError(Error.ACCOUNT_PHONE_INVALID, param="phone")
    changed = [name for name, value in values.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, values[name])
    if changed:
        user.save(update_fields=changed)
    return user
