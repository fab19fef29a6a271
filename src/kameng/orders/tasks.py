"""Timer entry points for orders: each deadline of the lifecycle table fires its event through a named use case."""

from kameng.timers.services import batch_handler, handler

from .checkout import expire_checkout  # also registers the handler of gateway payments for orders
from .lifecycle import PAYMENT_TIMER, RELEASE_TIMER
from .services import release_due_escrow, release_due_escrows


@handler(RELEASE_TIMER)
def run_release_escrow(target: str, now) -> None:
    release_due_escrow(int(target.split(":", 1)[1]), now)


@batch_handler(RELEASE_TIMER)
def run_release_escrows(targets: list[str], now) -> list[str]:
    """A sweep's release timers together; the orders it leaves run through run_release_escrow."""
    left = release_due_escrows([int(t.split(":", 1)[1]) for t in targets], now)
    return [f"order:{pk}" for pk in left]


@handler(PAYMENT_TIMER)
def run_payment_expired(target: str, now) -> None:
    expire_checkout(int(target.split(":", 1)[1]), now)
