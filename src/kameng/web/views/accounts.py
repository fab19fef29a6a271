"""Register, log in and log out with Django sessions (the API uses bearer tokens instead), and the
login form a locked-out caller sees."""

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kameng.accounts import services as account_services
from kameng.errors import DomainError, Error
from kameng.security import ratelimit
from kameng.security.lockout import cool_off_seconds

from ..forms import LoginForm, RegisterForm
from ..pages import attach_error, login_required


def _next_url(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _landing(user) -> str:
    return "/shop/" if user.role == "merchant" else "/"


def login(request):
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            user = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
            if user is not None and user.is_active:
                auth_login(request, user)
                return redirect(_next_url(request, _landing(user)))
            form.add_error("password", _("用户名或密码错误"))
    else:
        form = LoginForm()
    return render(request, "web/auth/login.html", {"form": form, "next": _next_url(request, "")})


def register(request):
    if request.method == "POST":
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ratelimit.limit_registration(request)
                user, _token = account_services.register(data["username"], data["password"], data["role"])
            except ratelimit.RateLimited as exc:
                form.add_error(None, _("注册过于频繁，请 %(seconds)d 秒后再试") % {"seconds": exc.retry_after})
                response = render(request, "web/auth/register.html", {"form": form}, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except DomainError as exc:
                attach_error(form, exc)
            else:
                # The interface language the visitor chose before registering stays theirs.
                lang = getattr(request, "LANGUAGE_CODE", "")
                if request.COOKIES.get("django_language") and lang:
                    account_services.set_language(user, lang)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(_landing(user))
    else:
        form = RegisterForm(
            initial={"role": request.GET.get("role") if request.GET.get("role") in ("buyer", "merchant") else "buyer"}
        )
    return render(request, "web/auth/register.html", {"form": form})


@require_POST
def logout(request):
    auth_logout(request)
    return redirect("/")


@login_required
def account_security(request):
    """Account security: sign out everywhere (every API token and every page session ends)."""
    return render(request, "web/auth/security.html", {"tokens": request.user.tokens.count()})


@require_POST
@login_required
def sign_out_everywhere(request):
    account_services.revoke_everywhere(request.user)
    auth_logout(request)
    return redirect("/login/")


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE, for any request axes flagged as locked out after too many failed password
    logins: on pages (and the Django admin) the login form again with 429 and Retry-After.

    An API login has already answered: accounts.services.login raises login_locked for a flagged
    request and kameng.api renders it (429 in the contract's shape), so that answer stands.
    """
    if request.path.startswith("/api/") and original_response is not None:
        return original_response
    form = LoginForm(request.POST or None)
    form.is_valid()
    locked = DomainError(Error.LOGIN_LOCKED).message()
    form.add_error(None, locked + _("，请 %(minutes)d 分钟后再试") % {"minutes": cool_off_seconds() // 60})
    response = render(request, "web/auth/login.html", {"form": form, "next": ""}, status=429)
    response["Retry-After"] = str(cool_off_seconds())
    return response
