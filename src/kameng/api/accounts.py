"""Accounts endpoints: register, token, me."""

from ninja import Router, Schema, Status

from kameng.accounts import services
from kameng.security import ratelimit

router = Router(tags=["accounts"])


class RegisterIn(Schema):
    username: str
    password: str
    role: str


class CredentialsIn(Schema):
    username: str
    password: str


class UserOut(Schema):
    id: str
    username: str
    role: str


class AuthOut(Schema):
    user: UserOut
    token: str


def user_out(user) -> dict:
    return {"id": str(user.pk), "username": user.username, "role": user.role}


@router.post("/auth/register", response={201: AuthOut}, auth=None)
def register(request, payload: RegisterIn):
    ratelimit.limit_registration(request)
    user, token = services.register(payload.username, payload.password, payload.role)
    return Status(201, {"user": user_out(user), "token": token})


@router.post("/auth/token", response=AuthOut, auth=None)
def token(request, payload: CredentialsIn):
    ratelimit.limit_login(request, payload.username)
    user, token = services.login(payload.username, payload.password, request=request)
    return {"user": user_out(user), "token": token}


@router.get("/me", response=UserOut)
def me(request):
    return user_out(request.auth)
