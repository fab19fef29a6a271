"""补单 for staff: the pending gateway payments (a buyer may have paid and the notification never came),
each with a "re-check" that asks the gateway's query API (kameng.wallet.payments.recheck_payment:
booked through the notification's own path if the gateway says it was paid, audited either way).
Admins only; the re-check is confirmed on a page of its own, and its result is shown after it."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError
from kameng.money import plain_yuan
from kameng.orders.models import Order
from kameng.security.models import AuditRecord
from kameng.wallet import payments
from kameng.wallet.gateways import GATEWAYS
from kameng.wallet.models import Payment, PaymentStatus

from ..pages import error_text, role_required

admin_only = role_required("admin")
PAGE_ROWS = 200


def _rows(pending, now) -> list[dict]:
    orders = {
        str(o.pk): o
        for o in Order.objects.filter(pk__in=[p.ref for p in pending if p.purpose == "order" and p.ref.isdigit()])
    }
    return [
        {
            "payment": p,
            "age": now - p.created_at,
            "expired": p.expires_at is not None and now > p.expires_at,
            "order": orders.get(p.ref) if p.purpose == "order" else None,
        }
        for p in pending
    ]


@admin_only
@require_GET
def payment_list(request):
    now = clock_now()
    gateway = request.GET.get("gateway", "")
    pending = Payment.objects.filter(status=PaymentStatus.PENDING).select_related("user")
    if gateway in GATEWAYS:
        pending = pending.filter(gateway=gateway)
    else:
        gateway = ""
    total = pending.count()
    rechecks = AuditRecord.objects.filter(type="payment.recheck").select_related("actor").order_by("-at", "-pk")[:20]
    return render(
        request,
        "web/operator/payments.html",
        {
            "rows": _rows(list(pending.order_by("-created_at", "-pk")[:PAGE_ROWS]), now),
            "total": total,
            "shown_max": PAGE_ROWS,
            "gateways": list(GATEWAYS),
            "gateway": gateway,
            "rechecks": rechecks,
        },
    )


def _outcome(payment: Payment, result) -> tuple[str, str]:
    """What the re-check found, for the message shown after it: (level, text)."""
    amount = plain_yuan(payment.amount)
    if payment.status == PaymentStatus.SUCCEEDED:
        return "success", _("渠道确认已付款，已入账 ¥%(amount)s（%(no)s，渠道流水号 %(ref)s）。") % {
            "amount": amount,
            "no": payment.out_trade_no,
            "ref": result.reference or "-",
        }
    if result.paid:
        return "error", _(
            "渠道显示已付款，但金额 ¥%(paid)s 与应付 ¥%(amount)s 不符，未入账，请人工核对（%(no)s）。"
        ) % {"paid": plain_yuan(result.amount or 0), "amount": amount, "no": payment.out_trade_no}
    return "info", _("渠道显示尚未付款（%(no)s），未入账。") % {"no": payment.out_trade_no}


@admin_only
@require_http_methods(["GET", "POST"])
def payment_recheck(request, out_trade_no: str):
    payment = get_object_or_404(Payment.objects.select_related("user"), out_trade_no=out_trade_no)
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            result = payments.recheck_payment(payment, by=request.user)
        except DomainError as exc:
            messages.error(request, f"{payment.out_trade_no}: {error_text(exc)}")
        else:
            payment.refresh_from_db()
            level, text = _outcome(payment, result)
            getattr(messages, level)(request, text)
        return redirect("staff-payments")
    row = _rows([payment], clock_now())[0]
    return render(request, "web/operator/payment_recheck.html", {"row": row, "pending": payment.status == "pending"})
