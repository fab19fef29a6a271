"""Timer entry points for orders: each deadline of the lifecycle table fires its event through a named use case."""

from kameng.timers.services import handler

from .lifecycle import RELEASE_TIMER
from .services import release_due_escrow


@handler(RELEASE_TIMER)
def run_release_escrow(target: str, now) -> None:
    release_due_escrow(int(target.split(":", 1)[1]), now)
