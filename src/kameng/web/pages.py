"""What every page view shares: role checks and turning a service's DomainError into form feedback."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect

from kameng.accounts.otp import second_factor_satisfied
from kameng.errors import DomainError, ErrorKind


def role_required(*roles: str):
    """Anonymous visitors go to the login page; signed-in users of another role get 403; staff whose
    session has not passed their second factor (or who must enrol first) go to the account page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if roles and request.user.role not in roles:
                raise PermissionDenied
            if roles and not second_factor_satisfied(request.user, request.user.is_verified()):
                return redirect("account-security")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def login_required(view):
    return role_required()(view)


def error_text(exc: DomainError) -> str:
    """The error's message from the catalogue (kameng.errors), in the active language."""
    return exc.message()


def attach_error(form, exc: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service error next to the field it names (`param`), else above the form."""
    param = (aliases or {}).get(exc.param or "", exc.param)
    field = param if param and param in form.fields else None
    form.add_error(field, error_text(exc))


def not_found_from(exc: DomainError):
    """A service's not_found (no such object, or one the caller may not see) becomes the page 404,
    its permission_denied the page 403."""
    if exc.kind == ErrorKind.NOT_FOUND:
        return Http404(error_text(exc))
    if exc.kind == ErrorKind.PERMISSION_DENIED:
        return PermissionDenied(error_text(exc))
    return exc
