"""Wallet, top-ups and gateway notifications."""

from typing import Annotated

from ninja import Router, Schema, Status

from kameng.errors import DomainError, Error
from kameng.wallet import services
from kameng.wallet.gateways import GATEWAYS, get_gateway

from .base import iso
from .contract import Amount, Currency, Fen, Id, Out, PathId, Timestamp, enum_of, raises

router = Router(tags=["wallet"])


class TopupIn(Schema):
    amount: Amount


class WithdrawalIn(Schema):
    amount: Amount


class WalletOut(Out):
    balance: Fen
    currency: Currency
    debt: Fen  # 先行赔付 the platform advanced for a merchant and not yet recovered


class TopupOut(Out):
    id: Id
    amount: Fen
    currency: Currency
    status: Annotated[str, enum_of("pending", "succeeded")]
    pay_url: str
    created_at: Timestamp


class WithdrawalOut(Out):
    id: Id
    amount: Fen
    currency: Currency
    status: Annotated[str, enum_of("succeeded")]
    created_at: Timestamp


class NotificationAck(Out):
    received: bool
    topup: Id
    status: Annotated[str, enum_of("pending", "succeeded")]


def topup_out(topup) -> dict:
    return {
        "id": str(topup.pk),
        "amount": topup.amount,
        "currency": "CNY",
        "status": topup.status,
        "pay_url": get_gateway(topup.gateway).pay_url(topup),
        "created_at": iso(topup.created_at),
    }


@router.get("/wallet", response=WalletOut)
def wallet(request):
    """The caller's balance (and, for a merchant, any outstanding debt)."""
    user = request.auth
    return {"balance": services.wallet_balance(user), "currency": "CNY", "debt": services.debt_of(user)}


@router.post("/wallet/topups", response={201: TopupOut})
@raises(Error.TOPUP_AMOUNT_INVALID)
def create_topup(request, payload: TopupIn):
    """Starts a top-up; the buyer pays at `pay_url` and the gateway's notification credits the wallet."""
    return Status(201, topup_out(services.create_topup(acting_user=request.auth, amount=payload.amount)))


@router.post("/wallet/withdrawals", response={201: WithdrawalOut})
@raises(Error.WITHDRAWAL_AMOUNT_INVALID, Error.WITHDRAWAL_ROLE_NOT_ALLOWED, Error.INSUFFICIENT_FUNDS)
@raises(Error.WITHDRAWAL_DEBT_OUTSTANDING)
def create_withdrawal(request, payload: WithdrawalIn):
    """A merchant withdraws released money from the wallet."""
    withdrawal = services.withdraw(acting_user=request.auth, amount=payload.amount)
    return Status(
        201,
        {
            "id": str(withdrawal.pk),
            "amount": withdrawal.amount,
            "currency": "CNY",
            "status": withdrawal.status,
            "created_at": iso(withdrawal.created_at),
        },
    )


@router.get("/wallet/topups/{topup_id}", response=TopupOut)
@raises(Error.TOPUP_NOT_FOUND)
def get_topup(request, topup_id: PathId):
    """One of the caller's top-ups."""
    return topup_out(services.get_topup_for(topup_id, request.auth))


@router.post("/payments/notify/{gateway}", response=NotificationAck, auth=None)
@raises(Error.PAYMENT_GATEWAY_NOT_FOUND, Error.PAYMENT_SIGNATURE_INVALID, Error.PAYMENT_AMOUNT_MISMATCH)
def notify(request, gateway: Annotated[str, enum_of(*GATEWAYS)]):
    """A payment gateway's signed notification (the gateway calls it, not clients)."""
    if gateway not in GATEWAYS:
        raise DomainError(Error.PAYMENT_GATEWAY_NOT_FOUND)
    topup = services.handle_notification(gateway, request.body, request.headers)
    return {"received": True, "topup": str(topup.pk), "status": topup.status}
