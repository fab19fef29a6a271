"""Wallet, top-ups and withdrawals."""

from typing import Annotated

from ninja import Router, Schema, Status

from kameng.errors import Error
from kameng.wallet import services
from kameng.wallet.gateways import GATEWAYS, PAYOUT_GATEWAYS
from kameng.wallet.models import PaymentStatus, WithdrawalStatus

from .base import iso
from .contract import Amount, Currency, Fen, Id, Out, PathId, Timestamp, enum_of, raises

router = Router(tags=["wallet"])

TopupGateway = Annotated[str, enum_of(*GATEWAYS)]  # each is off until configured (then 404)
PayoutGateway = Annotated[str, enum_of(*PAYOUT_GATEWAYS)]


class TopupIn(Schema):
    amount: Amount
    gateway: TopupGateway = "sandbox"


class WithdrawalIn(Schema):
    amount: Amount
    gateway: PayoutGateway = "payout"  # payout (the sandbox) | alipay | wechatpay
    account: str = ""  # the Alipay login or WeChat openid to pay out to
    account_name: str = ""  # the payee's real name, checked by the gateway


class WalletOut(Out):
    balance: Fen
    currency: Currency
    debt: Fen  # 先行赔付 the platform advanced for a merchant and not yet recovered


class TopupOut(Out):
    id: Id
    amount: Fen
    currency: Currency
    status: Annotated[str, enum_of(PaymentStatus)]
    gateway: TopupGateway
    out_trade_no: str
    pay_url: str
    created_at: Timestamp


class WithdrawalOut(Out):
    id: Id
    amount: Fen
    currency: Currency
    status: Annotated[str, enum_of(WithdrawalStatus)]
    gateway: PayoutGateway
    failure_reason: str | None
    created_at: Timestamp


def topup_out(topup) -> dict:
    return {
        "id": str(topup.pk),
        "amount": topup.amount,
        "currency": "CNY",
        "status": topup.status,
        "gateway": topup.gateway,
        "out_trade_no": topup.out_trade_no,
        "pay_url": topup.pay_url,
        "created_at": iso(topup.created_at),
    }


@router.get("/wallet", response=WalletOut)
def wallet(request):
    """The caller's balance (and, for a merchant, any outstanding debt)."""
    user = request.auth
    return {"balance": services.wallet_balance(user), "currency": "CNY", "debt": services.debt_of(user)}


@router.post("/wallet/topups", response={201: TopupOut})
@raises(Error.TOPUP_AMOUNT_INVALID, Error.PAYMENT_GATEWAY_OFF)
def create_topup(request, payload: TopupIn):
    """Starts a top-up; the buyer pays at `pay_url` and the gateway's notification credits the wallet."""
    topup = services.create_topup(acting_user=request.auth, amount=payload.amount, gateway=payload.gateway)
    return Status(201, topup_out(topup))


def withdrawal_out(withdrawal) -> dict:
    return {
        "id": str(withdrawal.pk),
        "amount": withdrawal.amount,
        "currency": "CNY",
        "status": withdrawal.status,
        "gateway": withdrawal.gateway,
        "failure_reason": withdrawal.failure_reason or None,
        "created_at": iso(withdrawal.created_at),
    }


@router.post("/wallet/withdrawals", response={201: WithdrawalOut})
@raises(Error.WITHDRAWAL_AMOUNT_INVALID, Error.WITHDRAWAL_ROLE_NOT_ALLOWED, Error.INSUFFICIENT_FUNDS)
@raises(Error.WITHDRAWAL_DEBT_OUTSTANDING, Error.PAYMENT_GATEWAY_OFF, Error.WITHDRAWAL_ACCOUNT_REQUIRED)
def create_withdrawal(request, payload: WithdrawalIn):
    """A merchant withdraws released money through a payout gateway (the sandbox `payout` pays at once)."""
    withdrawal = services.withdraw(
        acting_user=request.auth,
        amount=payload.amount,
        gateway=payload.gateway,
        account=payload.account,
        account_name=payload.account_name,
    )
    return Status(201, withdrawal_out(withdrawal))


@router.get("/wallet/withdrawals/{withdrawal_id}", response=WithdrawalOut)
@raises(Error.WITHDRAWAL_NOT_FOUND)
def get_withdrawal(request, withdrawal_id: PathId):
    """One of the caller's withdrawals."""
    return withdrawal_out(services.get_withdrawal_for(withdrawal_id, request.auth))


@router.get("/wallet/topups/{topup_id}", response=TopupOut)
@raises(Error.TOPUP_NOT_FOUND)
def get_topup(request, topup_id: PathId):
    """One of the caller's top-ups."""
    return topup_out(services.get_topup_for(topup_id, request.auth))
