"""The test clock (KAMENG_TEST_CLOCK=1 only; 404 otherwise; admin token)."""

from django.conf import settings
from ninja import Router, Schema

from kameng.accounts.models import Role
from kameng.clock import services
from kameng.errors import DomainError, Error
from kameng.timers.services import sweep

from .base import iso, require_role
from .contract import Integer, Out, Timestamp, raises

router = Router(tags=["test clock"])


class AdvanceIn(Schema):
    seconds: Integer


class ClockOut(Out):
    now: Timestamp


def _guard(request):
    if not settings.TEST_CLOCK:
        raise DomainError(Error.NOT_FOUND)
    require_role(request, Role.ADMIN)


@router.get("/test/clock", response=ClockOut)
@raises(Error.WRONG_ROLE)
def get_clock(request):
    """The platform clock's time (404 unless KAMENG_TEST_CLOCK=1; admin)."""
    _guard(request)
    return {"now": iso(services.now())}


@router.post("/test/clock/advance", response=ClockOut)
@raises(Error.WRONG_ROLE, Error.CLOCK_SECONDS_INVALID)
def advance(request, payload: AdvanceIn):
    """Moves the clock forward and runs every timer due by then (404 unless KAMENG_TEST_CLOCK=1; admin)."""
    _guard(request)
    if payload.seconds < 0 or payload.seconds > 10 * 365 * 86400:
        raise DomainError(Error.CLOCK_SECONDS_INVALID, param="seconds")
    now = services.advance(payload.seconds)
    sweep(now)
    return {"now": iso(now)}
