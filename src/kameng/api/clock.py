"""The test clock (KAMENG_TEST_CLOCK=1 only; 404 otherwise; admin token)."""

from django.conf import settings
from ninja import Router, Schema

from kameng.accounts.models import Role
from kameng.clock import services
from kameng.errors import DomainError, Error
from kameng.timers.services import sweep

from .base import iso, require_role

router = Router(tags=["test clock"])


class AdvanceIn(Schema):
    seconds: int


def _guard(request):
    if not settings.TEST_CLOCK:
        raise DomainError(Error.NOT_FOUND)
    require_role(request, Role.ADMIN)


@router.get("/test/clock", response=dict, include_in_schema=False)
def get_clock(request):
    _guard(request)
    return {"now": iso(services.now())}


@router.post("/test/clock/advance", response=dict, include_in_schema=False)
def advance(request, payload: AdvanceIn):
    _guard(request)
    if payload.seconds < 0 or payload.seconds > 10 * 365 * 86400:
        raise DomainError(Error.CLOCK_SECONDS_INVALID, param="seconds")
    now = services.advance(payload.seconds)
    sweep(now)
    return {"now": iso(now)}
