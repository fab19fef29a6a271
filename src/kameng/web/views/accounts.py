"""Register, log in and log out with Django sessions (the API uses bearer tokens instead), the
login form a locked-out caller sees, and the account page: e-mail, password, sign out everywhere,
and the staff's second factor."""

import base64
import json

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from kameng.accounts import email_change, otp
from kameng.accounts import services as account_services
from kameng.errors import DomainError, Error, RateLimited
from kameng.security import ratelimit
from kameng.security.challenge import new_challenge
from kameng.security.lockout import cool_off_seconds

from ..forms import EmailChangeForm, LoginForm, OtpConfirmForm, PasswordChangeForm, RegisterForm
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


OTP_ERRORS = (Error.OTP_REQUIRED, Error.OTP_INVALID)


def login(request):
    """Password, then the staff second factor when the user has TOTP. A staff member who must
    enrol first (KAMENG_STAFF_OTP=required) is signed in to the enrolment page only."""
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = account_services.authenticate_password(data["username"], data["password"], request=request)
                device = account_services.check_second_factor_at_login(
                    user, data["otp"], username=data["username"], request=request
                )
            except RateLimited as exc:
                form.add_error(None, exc.message())
                response = render(
                    request, "web/auth/login.html", {"form": form, "next": _next_url(request, "")}, status=429
                )
                response["Retry-After"] = str(exc.retry_after)
                return response
            except DomainError as exc:
                if exc.error is Error.OTP_NOT_ENROLLED:
                    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    return redirect("account-security")
                form.add_error("otp" if exc.error in OTP_ERRORS else "password", exc.message())
            else:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if device is not None:
                    otp_login(request, device)
                return redirect(_next_url(request, _landing(user)))
    else:
        form = LoginForm()
    return render(request, "web/auth/login.html", {"form": form, "next": _next_url(request, "")})


def register(request):
    if request.method == "POST":
        form = RegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ratelimit.limit_registration(request, request.POST.get("challenge"))
                user, _token = account_services.register(
                    data["username"], data["password"], data["role"], email=data["email"]
                )
            except ratelimit.RateLimited as exc:
                form.add_error(None, _("注册过于频繁，请 %(seconds)d 秒后再试") % {"seconds": exc.retry_after})
                response = render(request, "web/auth/register.html", {"form": form}, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except DomainError as exc:
                if exc.error is Error.REGISTER_CHALLENGE_REQUIRED:  # solve it in the browser, then submit again
                    context = {"form": form, "challenge": json.dumps(new_challenge())}
                    return render(request, "web/auth/register.html", context, status=429)
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
    """Account security: sign out everywhere (every API token and every page session ends); for
    staff, two-step verification: a QR code to scan, confirmed with a first code, then the
    recovery codes, shown once."""
    user = request.user
    step = request.POST.get("step") if request.method == "POST" else None
    if step in ("email", "password"):
        done = (_change_email if step == "email" else _change_password)(request)
        if not isinstance(done, dict):
            return done
    context = {
        "tokens": user.tokens.count(),
        "staff": user.is_staff_role,
        "form": OtpConfirmForm(),
        "email": account_services.mask_email(user.email) if user.email else "",
        "email_form": EmailChangeForm(),
        "password_form": PasswordChangeForm(),
    }
    if step in ("email", "password"):
        context.update(done)
    if user.is_staff_role:
        context.update(
            has_totp=otp.has_totp(user),
            must_enrol=not otp.second_factor_satisfied(user, user.is_verified()),
            recovery_left=otp.recovery_codes_left(user),
        )
        if request.method == "POST" and request.POST.get("step") == "start":
            draft = otp.start_enrolment(user)
            context.update(draft_uri=draft.config_url, draft_qr=_qr_svg(draft.config_url), secret=_base32(draft))
        elif request.method == "POST" and request.POST.get("step") == "confirm":
            form = OtpConfirmForm(request.POST)
            context["form"] = form
            if form.is_valid():
                try:
                    enrolment = otp.confirm_enrolment(user, form.cleaned_data["otp"])
                except DomainError as exc:
                    form.add_error("otp", exc.message())
                    draft = otp.totp_device(user, confirmed=False)
                    if draft is not None:
                        context.update(
                            draft_uri=draft.config_url, draft_qr=_qr_svg(draft.config_url), secret=_base32(draft)
                        )
                else:
                    otp_login(request, enrolment.device)
                    context.update(has_totp=True, must_enrol=False, recovery_codes=enrolment.recovery_codes)
    return render(request, "web/auth/security.html", context)


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (segno; no image request, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")


def _base32(device) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def _change_email(request):
    """The confirmation link goes to the new address; the page says where (the form again on an error)."""
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            email_change.request_change(request.user, form.cleaned_data["current_password"], form.cleaned_data["email"])
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(
                request,
                _("确认邮件已发送到 %(email)s，请在 24 小时内打开其中的链接完成更换。")
                % {"email": account_services.mask_email(form.cleaned_data["email"])},
            )
            return redirect("account-security")
    return {"email_form": form}


def _change_password(request):
    """Every API token and every other browser session ends; this one stays signed in."""
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            account_services.set_new_password(
                request.user, form.cleaned_data["current_password"], form.cleaned_data["password"]
            )
        except DomainError as exc:
            attach_error(form, exc, aliases={"new_password": "password"})
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改；其他设备上的登录和所有 API 令牌已失效。"))
            return redirect("account-security")
    return {"password_form": form}


@login_required
def confirm_email(request, token: str):
    """The link from the confirmation mail: a page with one button (a mail scanner's GET changes nothing)."""
    if request.method == "POST":
        try:
            email_change.confirm_change(request.user, token)
        except DomainError as exc:
            return render(request, "web/auth/confirm_email.html", {"error": exc.message()}, status=400)
        messages.success(request, _("邮箱已更换为 %(email)s。") % {"email": request.user.email})
        return redirect("account-security")
    return render(request, "web/auth/confirm_email.html", {})


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
