"""Login lockout rules (django-axes counts the failures): how long a lock lasts, and the domain error
a locked account or address gets. What a locked caller sees is HTTP's business: the API renders the
error (kameng.api), the pages show the login form again (kameng.web.views.accounts.lockout_response)."""

from datetime import timedelta

from django.conf import settings

from kameng.errors import Error, RateLimited


def cool_off_seconds() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    if isinstance(cool_off, timedelta):
        return int(cool_off.total_seconds())
    return int(float(cool_off or 0) * 3600) or 900


def locked_error() -> RateLimited:
    return RateLimited(cool_off_seconds(), Error.LOGIN_LOCKED)
