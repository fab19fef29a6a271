"""Pages anyone may see: the market, and a listing with the buyer's three checks (三查).

The published rules (/rules/) and merchant credit profiles are in views/trust.py."""

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from kameng.accounts import services as account_services
from kameng.catalog import services as catalog_services
from kameng.catalog.models import ListingVersion
from kameng.errors import DomainError
from kameng.policy.services import get_policy
from kameng.trust.credit import credit_for_shop
from kameng.wallet import services as wallet_services

from ..forms import BuyForm
from ..pages import not_found_from
from ..templatetags.kameng_web import category_name

PAGE_SIZE = 24


def category_choices() -> list[tuple[str, str]]:
    return [(code, category_name(code)) for code in get_policy().categories]


def home(request):
    policy = get_policy()
    q = (request.GET.get("q") or "").strip()[:100]
    category = request.GET.get("category") or ""
    if category not in policy.categories:
        category = ""
    listings = (
        catalog_services.search(q, category)
        .annotate(stock_available=Count("stock", filter=Q(stock__order__isnull=True, stock__voided_at__isnull=True)))
        .order_by("demoted", "-pk")
    )
    page = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/buyer/home.html",
        {
            "page": page,
            "q": q,
            "category": category,
            "categories": category_choices(),
        },
    )


def listing_context(request, listing, buy_form=None) -> dict:
    """Everything the listing page shows: the goods, the shop's record, the refund terms."""
    user = request.user
    policy = get_policy()
    shop = listing.shop
    is_buyer = user.is_authenticated and user.role == "buyer"
    if buy_form is None and is_buyer:
        buy_form = BuyForm(listing=listing)
    return {
        "listing": listing,
        "shop": shop,
        "credit": credit_for_shop(shop),
        "category_class": policy.category_class(listing.category),
        "stock": catalog_services.available_stock(listing) if listing.kind == "card_key" else None,
        "warranty_amount": listing.warranty_amount or listing.price,  # 找回包赔: held in escrow that long
        "is_owner": user.is_authenticated and shop.owner_id == user.pk,
        "is_buyer": is_buyer,
        "buy_form": buy_form,
        "balance": wallet_services.wallet_balance(user) if is_buyer else None,
        "snapshot_sha256": ListingVersion.objects.filter(listing=listing, version=listing.version)
        .values_list("sha256", flat=True)
        .first(),
    }


def listing_detail(request, listing_id: int):
    try:
        listing = catalog_services.get_listing_for(listing_id, request.user)
    except DomainError as exc:
        raise not_found_from(exc) from None
    return render(request, "web/buyer/listing.html", listing_context(request, listing))


@require_POST
def switch_language(request):
    """Signed-in users keep their choice on their account; everyone gets Django's language cookie."""
    lang = request.POST.get("language", "")
    if request.user.is_authenticated and lang in dict(settings.LANGUAGES):
        account_services.set_language(request.user, lang)
    return django_set_language(request)
