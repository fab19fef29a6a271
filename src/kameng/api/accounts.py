"""Accounts endpoints: register, token, me."""

from typing import Annotated

from ninja import Router, Schema, Status

from kameng.accounts import services
from kameng.accounts.models import Role
from kameng.errors import Error
from kameng.security import ratelimit

from .contract import Id, Out, enum_of, raises

router = Router(tags=["accounts"])


class RegisterIn(Schema):
    username: str
    password: str
    role: Annotated[str, enum_of(Role.BUYER, Role.MERCHANT)]  # staff accounts only come from the CLI


class CredentialsIn(Schema):
    username: str
    password: str


class UserOut(Out):
    id: Id
    username: str
    role: Annotated[str, enum_of(Role)]


class AuthOut(Out):
    user: UserOut
    token: str


def user_out(user) -> dict:
    return {"id": str(user.pk), "username": user.username, "role": user.role}


@router.post("/auth/register", response={201: AuthOut}, auth=None)
@raises(Error.ACCOUNT_ROLE_NOT_REGISTRABLE, Error.ACCOUNT_USERNAME_INVALID, Error.ACCOUNT_PASSWORD_WEAK)
@raises(Error.ACCOUNT_USERNAME_TAKEN)
def register(request, payload: RegisterIn):
    """Creates a buyer or merchant account and its first token."""
    ratelimit.limit_registration(request)
    user, token = services.register(payload.username, payload.password, payload.role)
    return Status(201, {"user": user_out(user), "token": token})


@router.post("/auth/token", response=AuthOut, auth=None)
@raises(Error.LOGIN_INVALID_CREDENTIALS, Error.LOGIN_LOCKED)
def token(request, payload: CredentialsIn):
    """Exchanges a username and password for a bearer token."""
    ratelimit.limit_login(request, payload.username)
    user, token = services.login(payload.username, payload.password, request=request)
    return {"user": user_out(user), "token": token}


@router.get("/me", response=UserOut)
def me(request):
    """The caller's account."""
    return user_out(request.auth)
