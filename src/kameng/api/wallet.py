"""Wallet, top-ups and withdrawals."""

from ninja import Router, Schema, Status

from kameng.wallet import services

from .base import iso

router = Router(tags=["wallet"])


class TopupIn(Schema):
    amount: int
    gateway: str = "sandbox"


class WithdrawalIn(Schema):
    amount: int
    gateway: str = "payout"  # payout (the sandbox) | alipay | wechatpay
    account: str = ""  # the Alipay login or WeChat openid to pay out to
    account_name: str = ""  # the payee's real name, checked by the gateway


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


@router.get("/wallet", response=dict)
def wallet(request):
    user = request.auth
    return {"balance": services.wallet_balance(user), "currency": "CNY", "debt": services.debt_of(user)}


@router.post("/wallet/topups", response={201: dict})
def create_topup(request, payload: TopupIn):
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


@router.post("/wallet/withdrawals", response={201: dict})
def create_withdrawal(request, payload: WithdrawalIn):
    withdrawal = services.withdraw(
        acting_user=request.auth,
        amount=payload.amount,
        gateway=payload.gateway,
        account=payload.account,
        account_name=payload.account_name,
    )
    return Status(201, withdrawal_out(withdrawal))


@router.get("/wallet/withdrawals/{withdrawal_id}", response=dict)
def get_withdrawal(request, withdrawal_id: str):
    return withdrawal_out(services.get_withdrawal_for(withdrawal_id, request.auth))


@router.get("/wallet/topups/{topup_id}", response=dict)
def get_topup(request, topup_id: str):
    return topup_out(services.get_topup_for(topup_id, request.auth))
