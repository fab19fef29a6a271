"""Timer entry points for orders: each deadline of the lifecycle table fires its event through a named use case."""

from kameng.timers.services import handler

from .checkout import expire_checkout  # also registers the handler of gateway payments for orders
from .lifecycle import PAYMENT_TIMER, RELEASE_TIMER
from .services import release_due_escrow


@handler(RELEASE_TIMER)
def run_release_escrow(target: str, now) -> None:
    release_due_escrow(int(target.split(":", 1)[1]), now)


@handler(PAYMENT_TIMER)
def run_payment_expired(target: str, now) -> None:
    expire_checkout(int(target.split(":", 1)[1]), now)
