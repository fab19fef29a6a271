"""Registering users and issuing tokens."""

import re
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kameng.clock.services import now
from kameng.errors import DomainError, Error
from kameng.security.lockout import locked_error

from .models import ApiToken, Role, User


def create_user(username: str, password: str, role: str, *, validate: bool = True) -> User:
    if role not in {r.value for r in Role}:
        raise DomainError(Error.ACCOUNT_ROLE_UNKNOWN, param="role")
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise DomainError(Error.ACCOUNT_USERNAME_INVALID, param="username")
    user = User(username=username, role=role, is_staff=(role == Role.ADMIN), is_superuser=(role == Role.ADMIN))
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


def register(username: str, password: str, role: str) -> tuple[User, str]:
    """Self-registration: buyers and merchants only; staff come from the CLI."""
    if role not in (Role.BUYER, Role.MERCHANT):
        raise DomainError(Error.ACCOUNT_ROLE_NOT_REGISTRABLE, param="role")
    user = create_user(username, password, role)
    return user, issue_token(user)


def issue_token(user: User) -> str:
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=ApiToken.hash(raw), created_at=now())
    return raw


def login(username: str, password: str, *, request=None) -> tuple[User, str]:
    """Password login for a token. With the HTTP request, django-axes counts failures per account
    and per address and refuses a locked one (429 login_locked)."""
    if not username or len(username) > 150 or len(password or "") > 4096:
        # No account has such a name; and a lockout record could not store it (it would be a 500).
        raise DomainError(Error.LOGIN_INVALID_CREDENTIALS)
    if request is None:  # CLI and tests: no address to count against
        user = ModelBackend().authenticate(None, username=username, password=password)
    else:
        user = authenticate(request, username=username, password=password)
        if getattr(request, "axes_locked_out", False):
            raise locked_error()
    if user is None or not user.is_active:
        raise DomainError(Error.LOGIN_INVALID_CREDENTIALS)
    return user, issue_token(user)


def user_for_token(raw: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(raw)).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


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
