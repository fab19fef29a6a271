"""Accounts endpoints: register, token, logout, me, password."""

from typing import Annotated

from ninja import Router, Schema, Status

from kameng.accounts import services
from kameng.accounts.models import Role
from kameng.errors import Error
from kameng.security import ratelimit
from kameng.security.challenge import new_challenge

from .base import iso
from .contract import Id, Out, enum_of, raises

router = Router(tags=["accounts"])


class RegisterIn(Schema):
    username: str
    password: str
    role: Annotated[str, enum_of(Role.BUYER, Role.MERCHANT)]  # staff accounts only come from the CLI
    challenge: str | None = None  # a solved GET /auth/challenge, once an address registers often
    email: str | None = None  # optional: notifications are also e-mailed there (v1.1 addition)


class CredentialsIn(Schema):
    username: str
    password: str
    otp: str | None = None  # the staff second factor: a TOTP code or a recovery code


class PasswordIn(Schema):
    current_password: str
    new_password: str


class UserOut(Out):
    id: Id
    username: str
    role: Annotated[str, enum_of(Role)]


class AuthOut(Out):
    user: UserOut
    token: str
    expires_at: str


def user_out(user) -> dict:
    return {"id": str(user.pk), "username": user.username, "role": user.role}


class ChallengeOut(Out):
    """An ALTCHA (v1) proof-of-work challenge."""

    algorithm: str
    challenge: str
    maxNumber: int  # noqa: N815  (ALTCHA's own field name)
    salt: str
    signature: str


def auth_out(user, issued: services.Issued) -> dict:
    return {"user": user_out(user), "token": issued.raw, "expires_at": iso(issued.expires_at)}


@router.get("/auth/challenge", response=ChallengeOut, auth=None)
def challenge(request):
    """An ALTCHA proof-of-work challenge for POST /auth/register {…, challenge: base64(JSON
    {algorithm, challenge, number, salt, signature})}."""
    return new_challenge()


@router.post("/auth/register", response={201: AuthOut}, auth=None)
@raises(Error.ACCOUNT_ROLE_NOT_REGISTRABLE, Error.ACCOUNT_USERNAME_INVALID, Error.ACCOUNT_PASSWORD_WEAK)
@raises(Error.ACCOUNT_USERNAME_TAKEN, Error.ACCOUNT_EMAIL_INVALID)
def register(request, payload: RegisterIn):
    """Creates a buyer or merchant account and its first token (`email` optional: notifications go there too)."""
    ratelimit.limit_registration(request, payload.challenge)
    user, issued = services.register(payload.username, payload.password, payload.role, email=payload.email or "")
    return Status(201, auth_out(user, issued))


@router.post("/auth/token", response=AuthOut, auth=None)
@raises(Error.LOGIN_INVALID_CREDENTIALS, Error.LOGIN_LOCKED, Error.OTP_REQUIRED, Error.OTP_INVALID)
def token(request, payload: CredentialsIn):
    """Exchanges a username and password for a bearer token."""
    ratelimit.limit_login(request, payload.username)
    user, issued = services.login(payload.username, payload.password, otp=payload.otp, request=request)
    return auth_out(user, issued)


@router.post("/auth/logout", response={204: None})
def logout(request):
    """Ends the token this request carries; the user's other tokens stay."""
    services.logout(request.auth_token)
    return Status(204, None)


@router.get("/me", response=UserOut)
def me(request):
    """The caller's account."""
    return user_out(request.auth)


@router.post("/me/password", response=AuthOut)
@raises(Error.ACCOUNT_PASSWORD_WRONG, Error.ACCOUNT_PASSWORD_WEAK, Error.RATE_LIMITED)
def change_password(request, payload: PasswordIn):
    """Changes the password: every earlier token of the user ends; the answer carries a new one."""
    ratelimit.enforce(("password_change", str(request.auth.pk)))
    issued = services.change_password(request.auth, payload.current_password, payload.new_password)
    return auth_out(request.auth, issued)
