"""Who hears that a withdrawal was paid out (notifications, webhooks): `on_withdrawal_paid(listener)`
calls `listener(withdrawal)` inside the transaction that paid it. Apps above register in ready()."""

from collections.abc import Callable

from .models import Withdrawal

WithdrawalListener = Callable[[Withdrawal], None]
_listeners: list[WithdrawalListener] = []


def on_withdrawal_paid(listener: WithdrawalListener) -> WithdrawalListener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def withdrawal_paid(withdrawal: Withdrawal) -> None:
    for listener in _listeners:
        listener(withdrawal)
