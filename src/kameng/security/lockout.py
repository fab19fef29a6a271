"""What a caller sees when django-axes has locked an account or an address after too many
failed password logins: 429 in the contract's shape on the API, the login form again on pages."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _

from kameng.errors import DomainError, Error

from .middleware import Refusal
from .ratelimit import RateLimited


def cool_off_seconds() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    if isinstance(cool_off, timedelta):
        return int(cool_off.total_seconds())
    return int(float(cool_off or 0) * 3600) or 900


def locked_error() -> RateLimited:
    return RateLimited(cool_off_seconds(), Error.LOGIN_LOCKED)


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: runs for any request axes flagged as locked out."""
    if request.path.startswith("/api/"):
        if original_response is not None and original_response.status_code == 429:
            return original_response  # already the contract's 429 (accounts.services.login raised it)
        return Refusal(locked_error())
    from kameng.web.forms import LoginForm

    form = LoginForm(request.POST or None)
    form.is_valid()
    locked = DomainError(Error.LOGIN_LOCKED).message()
    form.add_error(None, locked + _("，请 %(minutes)d 分钟后再试") % {"minutes": cool_off_seconds() // 60})
    response = render(request, "web/auth/login.html", {"form": form, "next": ""}, status=429)
    response["Retry-After"] = str(cool_off_seconds())
    return response
