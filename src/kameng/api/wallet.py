"""Wallet, top-ups and gateway notifications."""

from ninja import Router, Schema, Status

from kameng.errors import DomainError, Error
from kameng.wallet import services
from kameng.wallet.gateways import GATEWAYS, get_gateway

from .base import iso

router = Router(tags=["wallet"])


class TopupIn(Schema):
    amount: int


class WithdrawalIn(Schema):
    amount: int


def topup_out(topup) -> dict:
    return {
        "id": str(topup.pk),
        "amount": topup.amount,
        "currency": "CNY",
        "status": topup.status,
        "pay_url": get_gateway(topup.gateway).pay_url(topup),
        "created_at": iso(topup.created_at),
    }


@router.get("/wallet", response=dict)
def wallet(request):
    user = request.auth
    return {"balance": services.wallet_balance(user), "currency": "CNY", "debt": services.debt_of(user)}


@router.post("/wallet/topups", response={201: dict})
def create_topup(request, payload: TopupIn):
    return Status(201, topup_out(services.create_topup(acting_user=request.auth, amount=payload.amount)))


@router.post("/wallet/withdrawals", response={201: dict})
def create_withdrawal(request, payload: WithdrawalIn):
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


@router.get("/wallet/topups/{topup_id}", response=dict)
def get_topup(request, topup_id: str):
    return topup_out(services.get_topup_for(topup_id, request.auth))


@router.post("/payments/notify/{gateway}", response=dict, auth=None)
def notify(request, gateway: str):
    if gateway not in GATEWAYS:
        raise DomainError(Error.PAYMENT_GATEWAY_NOT_FOUND)
    topup = services.handle_notification(gateway, request.body, request.headers)
    return {"received": True, "topup": str(topup.pk), "status": topup.status}
