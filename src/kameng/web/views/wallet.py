"""The wallet page, top-ups, and the sandbox gateway's pay page."""

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kameng.accounts.services import user_for_token
from kameng.errors import DomainError
from kameng.ledger import services as ledger
from kameng.ledger.models import Posting
from kameng.wallet import payments
from kameng.wallet import services as wallet_services
from kameng.wallet.gateways import get_gateway
from kameng.wallet.models import Payment

from ..forms import TopupForm
from ..pages import attach_error, login_required


def _statement(user, limit: int = 20):
    """The latest movements on the user's wallet, newest first (a read of the ledger)."""
    return (
        Posting.objects.filter(account__code=ledger.wallet_code(user.pk))
        .select_related("entry")
        .order_by("-pk")[:limit]
    )


@login_required
def wallet(request):
    form = TopupForm()
    if request.method == "POST":
        form = TopupForm(request.POST)
        if form.is_valid():
            try:
                topup = wallet_services.create_topup(acting_user=request.user, amount=form.cleaned_data["amount"])
            except DomainError as exc:
                attach_error(form, exc)
            else:
                return redirect(topup.pay_url)
    return render(
        request,
        "web/buyer/wallet.html",
        {
            "form": form,
            "balance": wallet_services.wallet_balance(request.user),
            "debt": wallet_services.debt_of(request.user),
            "topups": Payment.objects.filter(user=request.user, purpose="topup").order_by("-pk")[:10],
            "statement": _statement(request.user),
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
    payer = _payer(request)
    if not get_gateway("sandbox").configured() or payer is None:
        raise Http404
    topup = get_object_or_404(Payment, pk=topup_id, gateway="sandbox", user=payer)
    if request.method == "GET":
        return render(request, "web/sandbox_pay.html", {"topup": topup, "paid": topup.status == "succeeded"})
    result = payments.pay_in_sandbox(topup)
    if request.headers.get("Accept", "").startswith("application/json") or request.content_type == "application/json":
        return JsonResponse({"topup": str(result.pk), "status": result.status})
    return render(request, "web/sandbox_pay.html", {"topup": result, "paid": True, "just_paid": True})
