"""免注册购买 and 查单 pages: a guest buys with a contact and a query password, pays through a
gateway, and sees the order (its key) on the result page; later the 查单 page finds it again by
order number + query password. The browser session remembers which guest orders it may show (set
by the purchase or a successful lookup); nothing else identifies a guest."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from kameng.catalog import services as catalog_services
from kameng.errors import DomainError
from kameng.orders import guest
from kameng.orders.models import Order
from kameng.security import ratelimit
from kameng.wallet.gateways import enabled_names

from ..forms import GuestBuyForm, GuestLookupForm
from ..pages import attach_error, not_found_from
from .orders import order_context

SESSION_KEY = "guest_orders"  # the guest order ids this browser may show


def remember(request, order: Order) -> None:
    held = [i for i in request.session.get(SESSION_KEY, []) if i != order.pk][-19:]
    request.session[SESSION_KEY] = [*held, order.pk]


def holds(request, order_id) -> bool:
    """Whether this browser bought or looked up that guest order (the session's grant)."""
    return str(order_id).isdigit() and int(order_id) in request.session.get(SESSION_KEY, [])


def holds_payment(request, payment) -> bool:
    """A guest's grant to pay a direct checkout's payment (the pay page and the sandbox's)."""
    return payment.purpose == "order" and holds(request, payment.ref)


def guest_buy(request, listing_id: int):
    try:
        listing = catalog_services.get_listing_for(listing_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None
    gateways = enabled_names()
    form = GuestBuyForm(request.POST or None, listing=listing, gateways=gateways)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ratelimit.enforce(("guest_checkout_ip", ratelimit.client_ip(request)))
            order, _token = guest.place_order(
                listing_id=listing.pk,
                contact=data["contact"],
                query_password=data["query_password"],
                pay_with=data["pay_with"],
                quantity=data.get("quantity") or 1,
                accept_special_terms=bool(data.get("accept_special_terms")),
                topup_target=data.get("topup_target") or "",
                language=translation.get_language(),
            )
        except DomainError as exc:  # a RateLimited too
            attach_error(form, exc)
        else:
            remember(request, order)
            return redirect("guest-order", order_id=order.pk)
    return render(request, "web/guest/buy.html", {"listing": listing, "form": form, "gateways": gateways})


def guest_order(request, order_id: int):
    """The guest's result page: the order, where to pay, and (once paid) the card key."""
    if not holds(request, order_id):
        raise Http404
    order = get_object_or_404(Order.objects.select_related("shop", "listing", "buyer"), pk=order_id)
    return render(request, "web/guest/order.html", order_context(request, order, viewer=order.buyer))


def guest_lookup(request):
    """查单: order number + query password. Wrong or unknown: one answer, never "wrong password"."""
    form = GuestLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"].strip().upper()
        try:
            ratelimit.enforce(("guest_lookup_ip", ratelimit.client_ip(request)), ("guest_lookup_order", number))
            order, _token = guest.look_up(number=number, query_password=form.cleaned_data["query_password"])
        except DomainError as exc:  # a RateLimited too
            attach_error(form, exc)
        else:
            remember(request, order)
            messages.success(request, _("已找到订单。"))
            return redirect("guest-order", order_id=order.pk)
    return render(request, "web/guest/lookup.html", {"form": form})
