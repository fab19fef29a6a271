"""Buying, my orders, the order page (snapshot, escrow, delivery, chat), confirming and delivering."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kameng.catalog import services as catalog_services
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.orders import lifecycle
from kameng.orders import services as order_services
from kameng.orders.lifecycle import Event, OrderStatus

from ..forms import BuyForm, DeliverForm, MessageForm
from ..pages import attach_error, error_text, login_required, not_found_from, role_required
from .public import listing_context


@role_required("buyer")
@require_POST
def buy(request, listing_id: int):
    try:
        listing = catalog_services.get_listing_for(listing_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None
    form = BuyForm(request.POST, listing=listing)
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = order_services.purchase(
                acting_user=request.user,
                listing_id=listing.pk,
                quantity=data.get("quantity") or 1,
                accept_special_terms=bool(data.get("accept_special_terms")),
                topup_target=data.get("topup_target") or "",
            )
        except DomainError as exc:
            attach_error(form, exc)
            form.error_code = exc.code
        else:
            messages.success(request, _("下单成功，款项已由平台担保。"))
            return redirect("order", order_id=order.pk)
    return render(request, "web/buyer/listing.html", listing_context(request, listing, buy_form=form))


@login_required
def order_list(request):
    status = request.GET.get("status") or ""
    orders = order_services.visible_orders(request.user).select_related("shop", "buyer").order_by("-pk")
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    else:
        status = ""
    page = Paginator(orders, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "web/buyer/orders.html",
        {
            "page": page,
            "status": status,
            "statuses": OrderStatus.choices,
        },
    )


def _get_order(request, order_id):
    try:
        return order_services.get_order_for(order_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None


def order_context(request, order, *, message_form=None, deliver_form=None) -> dict:
    user = request.user
    is_buyer = user.pk == order.buyer_id
    is_merchant = user.pk == order.shop.owner_id
    now = clock_now()
    can_confirm = order_services.may(order, user, Event.CONFIRMED)
    can_deliver = order_services.may(order, user, Event.DELIVERED) and order.snapshot.get("kind") != "card_key"
    show_delivery = order_services.can_see_delivery(order, user) and order.delivered_at is not None
    chat = list(order.messages.select_related("author").order_by("pk"))
    release_in = None
    if order.release_at and lifecycle.deadline(order_services.state_of(order)):
        release_in = order.release_at - now  # the release timer runs (delivered, escrow held)
    last = (
        order.status
        if order.status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED)
        else OrderStatus.COMPLETED
    )
    steps = [(code, OrderStatus(code).label) for code in (OrderStatus.PAID, OrderStatus.DELIVERED, last)]
    return {
        "steps": steps,
        "order": order,
        "snap": order.snapshot,
        "is_buyer": is_buyer,
        "is_merchant": is_merchant,
        "escrow_amount": order_services.escrow_balance(order),
        "release_in": release_in,
        "release_seconds": max(0, int(release_in.total_seconds())) if release_in is not None else None,
        "after_sale_open": bool(order.after_sale_until and order.after_sale_until > now),
        # 找回包赔: the countdown to the warranty's end (the kept share is released then)
        "warranty_seconds": (
            max(0, int((order.warranty_until - now).total_seconds())) if order.warranty_until else None
        ),
        "warranty_in": order.warranty_until - now if order.warranty_until and order.warranty_until > now else None,
        "can_confirm": can_confirm,
        "can_pay_balance": order_services.may(order, user, Event.BALANCE_PAID) and order.balance_due > 0,
        "can_deliver": can_deliver,
        "show_delivery": show_delivery,
        "delivered_items": [s.secret for s in order.stock_items.order_by("pk")] if show_delivery else [],
        "chat": chat,
        "chat_flagged": any("off_platform_payment" in (m.flags or []) for m in chat),
        "can_chat": is_buyer or is_merchant,
        "message_form": message_form or MessageForm(),
        "deliver_form": deliver_form or (DeliverForm() if can_deliver else None),
    }


@login_required
def order_detail(request, order_id: int):
    order = _get_order(request, order_id)
    return render(request, "web/buyer/order.html", order_context(request, order))


@login_required
def order_confirm(request, order_id: int):
    """Confirming releases the escrow to the merchant and cannot be undone: a page asks first."""
    order = _get_order(request, order_id)
    if request.user.pk != order.buyer_id:
        raise not_found_from(DomainError(Error.ORDER_NOT_FOUND))
    error = None
    if request.method == "POST":
        try:
            order_services.confirm(order, acting_user=request.user)
        except DomainError as exc:
            error = error_text(exc)
        else:
            messages.success(request, _("已确认收货，担保款已支付给商家。"))
            return redirect("order", order_id=order.pk)
    return render(
        request,
        "web/buyer/order_confirm.html",
        {
            "order": order,
            "escrow_amount": order_services.escrow_balance(order),
            "error": error,
            "can_confirm": order_services.may(order, request.user, Event.CONFIRMED),
        },
    )


@login_required
@require_POST
def order_pay_balance(request, order_id: int):
    """付尾款: the buyer moves a staged payment's balance into escrow from the wallet."""
    order = _get_order(request, order_id)
    try:
        order_services.pay_balance(order, acting_user=request.user)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("尾款已付入平台担保，商家现在可以发货。"))
    return redirect("order", order_id=order.pk)


@login_required
@require_POST
def order_message(request, order_id: int):
    order = _get_order(request, order_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            message = order_services.post_message(order, acting_user=request.user, body=form.cleaned_data["body"])
        except DomainError as exc:
            attach_error(form, exc)
        else:
            if message.flags:
                messages.warning(request, _("你的留言疑似引导站外付款。站外付款不受平台担保保护，请只在平台内付款。"))
            return redirect(reverse("order", args=[order.pk]) + "#chat")
    return render(request, "web/buyer/order.html", order_context(request, order, message_form=form))


@role_required("merchant")
@require_POST
def order_deliver(request, order_id: int):
    order = _get_order(request, order_id)
    form = DeliverForm(request.POST)
    if form.is_valid():
        try:
            order_services.deliver(order, acting_user=request.user, content=form.cleaned_data["content"])
        except DomainError as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("已发货，等待买家确认。"))
            return redirect("order", order_id=order.pk)
    return render(request, "web/buyer/order.html", order_context(request, order, deliver_form=form))
