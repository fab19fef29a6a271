"""Shops and listings endpoints."""

from typing import Annotated

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kameng.accounts.models import Role
from kameng.catalog import services
from kameng.catalog import stock as inventory
from kameng.catalog.models import DeliveryOrder, Listing, ListingKind, ListingStatus, Shop, ShopStatus, StockItem
from kameng.errors import DomainError, Error
from kameng.policy.defaults import CATEGORIES, CategoryClass
from kameng.policy.services import get_policy
from kameng.trust.checks import three_checks
from kameng.trust.credit import credit_for_shop

from .base import bearer, iso, require_role
from .contract import (
    Amount,
    Currency,
    Cursor,
    Fen,
    Id,
    Integer,
    Limit,
    Out,
    PathId,
    Timestamp,
    download,
    enum_of,
    page_of,
    raises,
)

router = Router(tags=["catalog"])


class ShopIn(Schema):
    name: str
    description: str = ""


Category = Annotated[str, enum_of(*CATEGORIES)]
Kind = Annotated[str, enum_of(ListingKind)]


class ListingIn(Schema):
    title: str
    category: Category
    kind: Kind
    price: Amount
    description: str = ""
    promises: list[str] = []
    after_sale_days: Integer | None = None
    verification_minutes: Integer | None = None
    no_reason_refund: bool = False
    deposit_percent: Integer | None = None
    delivery_order: Annotated[str, enum_of(DeliveryOrder)] = "oldest"  # card keys: which one a purchase takes
    low_stock_threshold: Integer = 0  # card keys: tell the merchant at this many unsold (0: never)
    warranty_days: Integer | None = None  # 找回包赔: default 7 for game_account, else 0
    warranty_amount: Integer | None = None  # fen kept in escrow for the warranty; null: the whole price


class ListingPatch(Schema):
    title: str | None = None
    category: Category | None = None
    kind: Kind | None = None
    price: Amount | None = None
    description: str | None = None
    promises: list[str] | None = None
    after_sale_days: Integer | None = None
    verification_minutes: Integer | None = None
    no_reason_refund: bool | None = None
    deposit_percent: Integer | None = None
    status: Annotated[str, enum_of(ListingStatus)] | None = None
    delivery_order: Annotated[str, enum_of(DeliveryOrder)] | None = None
    low_stock_threshold: Integer | None = None
    warranty_days: Integer | None = None
    warranty_amount: Integer | None = None


class StockIn(Schema):
    items: list[str]


class StockVoidIn(Schema):
    items: list[str] | None = None
    all: bool = False


class CreditPart(Out):
    code: str
    points: float
    text: str
    cases: list[Id] = []  # the refund cases behind this part (their pages: the merchant and staff only)


class Credit(Out):
    """A shop's credit (信用分) as published: score, grade and the figures it is computed from."""

    score: int
    grade: Annotated[str, enum_of("A", "B", "C", "D", "E")]
    orders_90d: int
    cases_90d: int
    dispute_rate: float
    merchant_fault_rate: float
    timeouts_90d: int
    median_response_seconds: int | None
    tenure_days: int
    rating_average: float | None
    rating_count: int
    refund_rate: float
    refunds_90d: int
    merchant_faults_90d: int
    off_platform_90d: int
    overturned_refusals_90d: int
    reasons: list[str]
    parts: list[CreditPart]
    formula_version: str
    computed_at: Timestamp | None


class ShopOut(Out):
    id: Id
    name: str
    description: str
    status: Annotated[str, enum_of(ShopStatus)]
    created_at: Timestamp
    credit: Credit
    response_promise_hours: int | None
    refund_promise_hours: int | None


class ListingWarning(Out):
    code: Annotated[str, enum_of("unfair_clause")]
    text: str
    law: str
    notice: str


class ListingOut(Out):
    id: Id
    shop: Id
    version: int
    title: str
    category: Category
    category_class: Annotated[str, enum_of(CategoryClass)]
    kind: Kind
    price: Fen
    currency: Currency
    description: str
    promises: list[str]
    after_sale_days: int
    verification_minutes: int
    no_reason_refund: bool
    deposit_percent: int | None
    special_terms: list[str]
    warnings: list[ListingWarning]
    status: Annotated[str, enum_of(ListingStatus)]
    created_at: Timestamp
    updated_at: Timestamp
    warranty_days: int  # 找回包赔
    warranty_amount: Fen  # kept in escrow until the warranty ends
    stock_available: int | None = None  # card_key listings only
    restocking: bool | None = None  # card_key: 补货中 (no stock; orders answer out_of_stock)
    delivery_order: Annotated[str, enum_of(DeliveryOrder)] | None = None  # card_key
    low_stock_threshold: int | None = None  # card_key


class ThreeChecksPlatform(Out):
    rules_url: str
    policies_url: str
    stats_url: str
    window_days: int
    dispute_rate: float | None
    median_resolution_seconds: float | None
    decided_within_sla_share: float | None
    protections: list[str]


class ReviewSummary(Out):
    count: int
    average: float | None


class ReviewOut(Out):
    id: Id
    order: Id
    shop: Id
    buyer: str  # masked
    stars: int
    text: str
    listing_title: str
    created_at: Timestamp


class LatestReviews(ReviewSummary):
    latest: list[ReviewOut]


class GradeOut(Out):
    score: int
    grade: str


class ThreeChecksMerchant(Out):
    shop: Id
    name: str
    status: Annotated[str, enum_of(ShopStatus)]
    profile_url: str
    tenure_days: int
    refund_rate: float
    dispute_rate: float
    merchant_fault_rate: float
    credit: GradeOut
    reviews: LatestReviews


class RefundRatio(Out):
    scenario: str
    scenario_en: str
    ratio: str


class AfterSaleContact(Out):
    channel: str
    text: str
    contact: str | None
    response_promise_hours: int | None
    refund_promise_hours: int | None


class UnfairClause(Out):
    text: str
    law: str


class ThreeChecksListing(Out):
    category: Category
    category_name: str
    category_class: Annotated[str, enum_of(CategoryClass)]
    refund_rule: str
    refund_standards: list[RefundRatio]
    no_reason_refund: bool
    after_sale_days: int
    trial_window_minutes: int
    deposit_percent: int | None
    special_terms: list[str]
    unfair_clauses: list[ListingWarning]
    used_goods_rule: str
    after_sale_contact: AfterSaleContact


class ThreeChecks(Out):
    """三查: the platform, the merchant and the listing, before paying."""

    platform: ThreeChecksPlatform
    merchant: ThreeChecksMerchant
    listing: ThreeChecksListing


class ListingDetail(ListingOut):
    three_checks: ThreeChecks


class StockOut(Out):
    added: int
    duplicates: int
    available: int


class InvalidLine(Out):
    line: int
    reason: Annotated[str, enum_of("too_long", "control_character")]


class StockImportOut(StockOut):
    invalid: list[InvalidLine]


class StockVoidOut(Out):
    voided: int
    available: int


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


@router.post("/shops", response={201: ShopOut})
@raises(Error.SHOP_MERCHANT_ONLY, Error.SHOP_NAME_INVALID, Error.SHOP_NAME_REQUIRED, Error.SHOP_EXISTS)
def create_shop(request, payload: ShopIn):
    """A merchant opens their one shop."""
    shop = services.create_shop(acting_user=request.auth, name=payload.name, description=payload.description)
    return Status(201, shop_out(shop))


@router.get("/shops/{shop_id}", response=ShopOut, auth=None)
def get_shop(request, shop_id: PathId):
    """A shop with its published credit."""
    try:
        shop = Shop.objects.get(pk=int(shop_id))
    except (ValueError, Shop.DoesNotExist):
        raise DomainError(Error.SHOP_NOT_FOUND) from None
    return shop_out(shop)


LISTING_INPUT_ERRORS = (
    Error.LISTING_CATEGORY_UNKNOWN,
    Error.LISTING_KIND_UNKNOWN,
    Error.LISTING_TITLE_INVALID,
    Error.LISTING_PRICE_INVALID,
    Error.LISTING_AFTER_SALE_DAYS_INVALID,
    Error.LISTING_VERIFICATION_MINUTES_INVALID,
    Error.LISTING_DEPOSIT_PERCENT_INVALID,
    Error.LISTING_PROMISES_INVALID,
    Error.LISTING_DELIVERY_ORDER_INVALID,
    Error.LISTING_LOW_STOCK_THRESHOLD_INVALID,
    Error.LISTING_WARRANTY_DAYS_INVALID,
    Error.LISTING_WARRANTY_AMOUNT_INVALID,
    Error.WRONG_ROLE,
)


@router.post("/listings", response={201: ListingOut})
@raises(*LISTING_INPUT_ERRORS, Error.LISTING_SHOP_REQUIRED)
def create_listing(request, payload: ListingIn):
    """A merchant lists something for sale (version 1); unfair clauses come back as `warnings`."""
    require_role(request, Role.MERCHANT)
    listing = services.create_listing(acting_user=request.auth, **payload.dict())
    return Status(201, listing_out(listing))


@router.patch("/listings/{listing_id}", response=ListingOut)
@raises(*LISTING_INPUT_ERRORS, Error.LISTING_STATUS_INVALID, Error.LISTING_NOT_OWNER)
def update_listing(request, listing_id: PathId, payload: ListingPatch):
    """The owner changes a listing: `version` + 1; orders keep the version they bought."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    listing = services.update_listing(listing, acting_user=request.auth, **payload.dict(exclude_unset=True))
    return listing_out(listing)


@router.get("/listings/{listing_id}", response=ListingDetail, auth=None)
def get_listing(request, listing_id: PathId):
    """A listing with its 三查 (platform, merchant and listing checks)."""
    listing = services.get_listing_for(listing_id, optional_user(request))
    return {**listing_out(listing), "three_checks": three_checks(listing)}  # 三查, before purchase


@router.get("/listings", response=page_of(ListingOut), auth=None)
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def search_listings(
    request, q: str = "", category: str = "", shop: str = "", limit: Limit = 20, starting_after: Cursor = None
):
    """Public search of active listings (`q` in title and description), newest first."""
    qs = services.search(q, category)
    if shop:
        # A foreign-key filter is not range-checked by Django: an id past 64 bits would reach the database.
        qs = qs.filter(shop_id=int(shop) if shop.isascii() and shop.isdigit() and len(shop) <= 18 else -1)
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


@router.post("/listings/{listing_id}/stock", response=StockOut)
@raises(Error.WRONG_ROLE, Error.STOCK_NOT_OWNER, Error.STOCK_NOT_CARD_KEY, Error.STOCK_TOO_MANY_ITEMS)
@raises(Error.STOCK_ITEM_TOO_LONG)
def add_stock(request, listing_id: PathId, payload: StockIn):
    """The owner adds card keys to a `card_key` listing's stock (blank lines ignored, duplicates counted)."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return services.add_stock(listing, acting_user=request.auth, items=payload.items)


STOCK_FILE_ERRORS = (Error.STOCK_FILE_TYPE, Error.STOCK_FILE_UNREADABLE, Error.STOCK_FILE_TOO_LARGE)


@router.post("/listings/{listing_id}/stock/import", response=StockImportOut)
@raises(Error.WRONG_ROLE, Error.STOCK_NOT_OWNER, Error.STOCK_NOT_CARD_KEY, Error.STOCK_TOO_MANY_ITEMS)
@raises(Error.STOCK_IMPORT_EMPTY, *STOCK_FILE_ERRORS)
def import_stock(
    request,
    listing_id: PathId,
    file: File[UploadedFile] = None,  # type: ignore[assignment]  # pasted text alone is an import too
    text: Form[str] = "",
):
    """Card keys from pasted text and/or a .txt, .csv or .xlsx file, with a report of invalid lines."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return inventory.import_batch(listing, acting_user=request.auth, text=text, upload=file).as_dict()


@router.post("/listings/{listing_id}/stock/void", response=StockVoidOut)
@raises(Error.WRONG_ROLE, Error.STOCK_NOT_OWNER, Error.STOCK_NOT_CARD_KEY, Error.STOCK_VOID_NOTHING)
@raises(Error.STOCK_TOO_MANY_ITEMS)
def void_stock(request, listing_id: PathId, payload: StockVoidIn):
    """作废: the owner withdraws unsold keys (those listed, or `all`); sold keys are never touched."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    return inventory.void(listing, acting_user=request.auth, items=payload.items, every=payload.all)


@router.get("/listings/{listing_id}/stock/export", openapi_extra=download("text/csv", "The unsold card keys (CSV)"))
@raises(Error.WRONG_ROLE, Error.STOCK_NOT_OWNER, Error.STOCK_NOT_CARD_KEY)
def export_stock(request, listing_id: PathId):
    """The owner's unsold card keys as an Excel-safe CSV."""
    require_role(request, Role.MERCHANT)
    listing = services.get_listing_for(listing_id, request.auth)
    body = inventory.export_unsold(listing, acting_user=request.auth)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kameng-stock-{listing.pk}.csv"'
    return response
