"""Shops and listings endpoints."""

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kameng.accounts.models import Role
from kameng.catalog import services
from kameng.catalog import stock as inventory
from kameng.catalog.models import Listing, Shop, StockItem
from kameng.errors import DomainError, Error
from kameng.policy.services import get_policy
from kameng.trust.checks import three_checks
from kameng.trust.credit import credit_for_shop

from .base import bearer, iso, require_role

router = Router(tags=["catalog"])


class ShopIn(Schema):
    name: str
    description: str = ""


class ListingIn(Schema):
    title: str
    category: str
    kind: str
    price: int
    description: str = ""
    promises: list[str] = []
    after_sale_days: int | None = None
    verification_minutes: int | None = None
    no_reason_refund: bool = False
    deposit_percent: int | None = None
    delivery_order: str = "oldest"
    low_stock_threshold: int = 0
    warranty_days: int | None = None  # 找回包赔: default 7 for game_account, else 0
    warranty_amount: int | None = None  # fen held for the warranty; null: the whole price


class ListingPatch(Schema):
    title: str | None = None
    category: str | None = None
    kind: str | None = None
    price: int | None = None
    description: str | None = None
    promises: list[str] | None = None
    after_sale_days: int | None = None
    verification_minutes: int | None = None
    no_reason_refund: bool | None = None
    deposit_percent: int | None = None
    status: str | None = None
    delivery_order: str | None = None
    low_stock_threshold: int | None = None
    warranty_days: int | None = None
    warranty_amount: int | None = None


class StockIn(Schema):
    items: list[str]


class StockVoidIn(Schema):
    items: list[str] | None = None
    all: bool = False


def optional_user(request):
    """The caller if a valid bearer token was sent (public endpoints that show owners more)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return bearer.authenticate(request, header[7:].strip())
    return None


def shop_out(shop: Shop) -> dict:
    credit = credit_for_shop(shop)  # first: bringing credit up to date may change the status
    return {
        "id": str(shop.pk),
        "name": shop.name,
        "description": shop.description,
        "status": shop.status,
        "created_at": iso(shop.created_at),
        "credit": credit,
        "response_promise_hours": shop.response_promise_hours,
        "refund_promise_hours": shop.refund_promise_hours,
    }


def listing_out(listing: Listing, *, stock: int | None = None, policy=None) -> dict:
    policy = policy or get_policy()
    data = {
        "id": str(listing.pk),
        "shop": str(listing.shop_id),
        "version": listing.version,
        "title": listing.title,
        "category": listing.category,
        "category_class": policy.category_class(listing.category),
        "kind": listing.kind,
        "price": listing.price,
        "currency": "CNY",
        "description": listing.description,
        "promises": listing.promises,
        "after_sale_days": listing.after_sale_days,
        "verification_minutes": listing.verification_minutes,
        "no_reason_refund": listing.no_reason_refund,
        "deposit_percent": listing.deposit_percent,
        "special_terms": listing.special_terms,
        "warnings": listing.warnings,
        "status": listing.status,
        "warranty_days": listing.warranty_days,
        "warranty_amount": listing.warranty_amount if listing.warranty_amount is not None else listing.price,
        "created_at": iso(listing.created_at),
        "updated_at": iso(listing.updated_at),
    }
    if listing.kind == "card_key":
        available = stock if stock is not None else services.available_stock(listing)
        data["stock_available"] = available
        data["restocking"] = available == 0  # 补货中: shown instead of a buy button; orders answer out_of_stock
        data["delivery_order"] = listing.delivery_order
        data["low_stock_threshold"] = listing.low_stock_threshold
    return data


@router.post("/shops", response={201: dict})
def create_shop(request, payload: ShopIn):
    shop = services.create_shop(acting_user=request.auth, name=payload.name, description=payload.description)
    return Status(201, shop_out(shop))


@router.get("/shops/{shop_id}", response=dict, auth=None)
def get_shop(request, shop_id: str):
    try:
        shop = Shop.objects.get(pk=int(shop_id))
    except (ValueError, Shop.DoesNotExist):
        raise DomainError(Error.SHOP_NOT_FOUND) from None
    return shop_out(shop)


@router.post("/listings", response={201: dict})
def create_listing(request, payload: ListingIn):
    require_role(request, Role.MERCHANT)
    listing = services.create_listing(acting_user=request.auth, **payload.dict())
    return Status(201, listing_out(listing))


@router.patch("/listings/{listing_id}", response=dict)
def update_listing(request, listing_id: str, payload: ListingPatch):
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    listing = services.update_listing(listing, acting_user=request.auth, **payload.dict(exclude_unset=True))
    return listing_out(listing)


@router.get("/listings/{listing_id}", response=dict, auth=None)
def get_listing(request, listing_id: str):
    listing = services.get_listing_for(listing_id, optional_user(request))
    return {**listing_out(listing), "three_checks": three_checks(listing)}  # 三查, before purchase


@router.get("/listings", response=dict, auth=None)
def search_listings(
    request, q: str = "", category: str = "", shop: str = "", limit: int = 20, starting_after: str | None = None
):
    qs = services.search(q, category)
    if shop:
        # A foreign-key filter is not range-checked by Django: an id past 64 bits would reach the database.
        qs = qs.filter(shop_id=int(shop) if shop.isdigit() and len(shop) <= 18 else -1)
    policy = get_policy()  # once per page, not per listing
    return services.paginate_search(
        qs.annotate(stock_left=_stock_left()),
        limit,
        starting_after,
        lambda item: listing_out(item, stock=item.stock_left, policy=policy),
    )


def _stock_left():
    """Unsold stock per listing inside the search query (the partial index stock_unsold)."""
    unsold = (
        StockItem.objects.filter(listing=OuterRef("pk"), order__isnull=True, voided_at__isnull=True)
        .order_by()
        .values("listing")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(unsold, output_field=IntegerField()), Value(0))


@router.post("/listings/{listing_id}/stock", response=dict)
def add_stock(request, listing_id: str, payload: StockIn):
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return services.add_stock(listing, acting_user=request.auth, items=payload.items)


@router.post("/listings/{listing_id}/stock/import", response=dict)
def import_stock(
    request,
    listing_id: str,
    file: File[UploadedFile] = None,  # type: ignore[assignment]  # pasted text alone is an import too
    text: Form[str] = "",
):
    """Card keys from pasted text and/or a .txt, .csv or .xlsx file: {added, duplicates, invalid, available}."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return inventory.import_batch(listing, acting_user=request.auth, text=text, upload=file).as_dict()


@router.post("/listings/{listing_id}/stock/void", response=dict)
def void_stock(request, listing_id: str, payload: StockVoidIn):
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return inventory.void(listing, acting_user=request.auth, items=payload.items, every=payload.all)


@router.get("/listings/{listing_id}/stock/export")
def export_stock(request, listing_id: str):
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    response = HttpResponse(
        inventory.export_unsold(listing, acting_user=request.auth), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="kameng-stock-{listing.pk}.csv"'
    return response
