"""The wallet page (balance, escrow held, debt, top-ups, withdrawals), the payment page, and the sandbox's pay page."""

import segno
from django.contrib.auth.views import redirect_to_login
from django.db.models import Sum
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kameng.accounts.models import Role
from kameng.accounts.services import user_for_token
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.ledger import services as ledger
from kameng.ledger.models import Account, Posting
from kameng.orders.models import Order
from kameng.security import ratelimit
from kameng.wallet import payments
from kameng.wallet import services as wallet_services
from kameng.wallet.gateways import GatewayError, enabled_names, get_gateway, payout_names
from kameng.wallet.models import Payment, Withdrawal

from ..forms import TopupForm, WithdrawalForm
from ..pages import attach_error, login_required
from . import guest as guest_pages


def _statement(user, limit: int = 20):
    """The latest movements on the user's wallet, newest first (a read of the ledger)."""
    return (
        Posting.objects.filter(account__code=ledger.wallet_code(user.pk))
        .select_related("entry")
        .order_by("-pk")[:limit]
    )


def _escrow_held(user) -> int:
    """What buyers' escrow holds for this merchant's orders (not withdrawable until released)."""
    orders = Order.objects.filter(shop__owner=user, escrow_status__in=("held", "frozen")).values_list("pk", flat=True)
    codes = [ledger.escrow_code(pk) for pk in orders]
    return Account.objects.filter(code__in=codes).aggregate(total=Sum("balance"))["total"] or 0


@login_required
def wallet(request):
    user, gateways, payouts = request.user, enabled_names(), payout_names()
    form = TopupForm(gateways=gateways)
    withdrawal_form = WithdrawalForm(gateways=payouts)
    if request.method == "POST" and request.POST.get("action") == "withdraw":
        withdrawal_form = WithdrawalForm(request.POST, gateways=payouts)
        if withdrawal_form.is_valid():
            try:
                wallet_services.withdraw(acting_user=user, **withdrawal_form.cleaned_data)
            except DomainError as exc:
                attach_error(withdrawal_form, exc)
            else:
                return redirect("wallet")
    elif request.method == "POST":
        form = TopupForm(request.POST, gateways=gateways)
        if form.is_valid():
            try:
                topup = wallet_services.create_topup(acting_user=user, **form.cleaned_data)
            except DomainError as exc:
                attach_error(form, exc)
            else:
                return redirect(topup.pay_url)
    balance, debt = wallet_services.wallet_balance(user), wallet_services.debt_of(user)
    return render(
        request,
        "web/buyer/wallet.html",
        {
            "form": form,
            "withdrawal_form": withdrawal_form,
            "balance": balance,
            "debt": debt,
            "withdrawable": 0 if debt else balance,
            "escrow_held": _escrow_held(user) if user.role == Role.MERCHANT else None,
            "can_withdraw": user.role in (Role.BUYER, Role.MERCHANT) and bool(payouts),
            "topups": Payment.objects.filter(user=user, purpose="topup").order_by("-pk")[:10],
            "withdrawals": Withdrawal.objects.filter(user=user).order_by("-pk")[:10],
            "statement": _statement(user),
        },
    )


def _payer(request):
    """Who is paying: the signed-in user, or the bearer of an API token (scripts and tests)."""
    if request.user.is_authenticated:
        return request.user
    auth = request.headers.get("Authorization", "")
    return user_for_token(auth[7:]) if auth.startswith("Bearer ") else None


# The sandbox gateway stands in for an outside payment site, which could not hold our CSRF
# token; its POST only ever pays the pending payment it names, of the user who opened it,
# through a signed notification. Off (404) with KAMENG_SANDBOX=off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def sandbox_pay(request, topup_id: int):
    """The sandbox gateway's pay page: "paying" sends a signed notification to our notify endpoint."""
    if not get_gateway("sandbox").configured():
        raise Http404
    topup = get_object_or_404(Payment, pk=topup_id, gateway="sandbox")
    if not _may_pay(request, topup):
        raise Http404
    if request.method == "GET":
        paid = topup.status == "succeeded"
        return render(
            request, "web/sandbox_pay.html", {"topup": topup, "paid": paid, "done_url": _return_url(request, topup)}
        )
    result = payments.pay_in_sandbox(topup)
    if request.headers.get("Accept", "").startswith("application/json") or request.content_type == "application/json":
        return JsonResponse({"topup": str(result.pk), "status": result.status})
    done_url = _return_url(request, result)
    return render(
        request, "web/sandbox_pay.html", {"topup": result, "paid": True, "just_paid": True, "done_url": done_url}
    )


def _may_pay(request, payment) -> bool:
    """The payment's own user (signed in, or by API token), or the browser that placed that guest order."""
    payer = _payer(request)
    return (payer is not None and payer.pk == payment.user_id) or guest_pages.holds_payment(request, payment)


def _return_url(request, payment) -> str:
    """Where the buyer goes once paid: the wallet for a top-up, the order (a guest's result page) for an order."""
    if payment.purpose == "order" and payment.ref.isdigit():
        page = "guest-order" if guest_pages.holds_payment(request, payment) else "order"
        return reverse(page, args=[int(payment.ref)])
    return reverse("wallet")


def pay_page(request, out_trade_no: str):
    """The payment page (also the gateways' return URL): how to pay with this gateway, and the
    status, refreshed until paid. WeChat Native shows its code_url as a QR code drawn here."""
    payment = Payment.objects.filter(out_trade_no=out_trade_no).first()
    if payment is None or not _may_pay(request, payment):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    gateway = get_gateway(payment.gateway)
    context: dict = {"payment": payment, "done_url": _return_url(request, payment), "now": clock_now()}
    if payment.status == "pending":
        try:
            if payment.gateway == "wechatpay":
                if request.GET.get("h5"):  # a phone browser: WeChat's H5 page, asked for now
                    return redirect(gateway.h5_url(payment, ratelimit.client_ip(request)))  # type: ignore[attr-defined]
                code = payments.native_code(payment)
                context["qr"] = segno.make(code, error="m").svg_data_uri(scale=5)
            elif payment.gateway == "alipay":
                context["mobile_url"] = gateway.mobile_pay_url(payment)  # type: ignore[attr-defined]
        except GatewayError:
            context["gateway_down"] = True
    return render(request, "web/pay.html", context)
