"""Timer entry points for orders."""

from kameng.timers.services import handler


@handler("order.release_escrow")
def run_release_escrow(target: str, now) -> None:
    from .services import release_due_escrow

    release_due_escrow(int(target.split(":", 1)[1]), now)
