"""Use cases for shops, listings and stock. The only code that writes catalog models."""

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, IntegerField, Q, Value, When

from kameng.accounts.models import Role, User
from kameng.clock.services import now as clock_now
from kameng.compiled import PreparedObjects
from kameng.errors import DomainError, Error
from kameng.policy.defaults import CUSTOMIZED
from kameng.policy.services import get_policy
from kameng.security.offplatform import listing_contact_field

from . import stock
from .clauses import find_unfair_clauses
from .models import DeliveryOrder, Listing, ListingVersion, Shop, ShopStatus
from .rules import KINDS, snapshot_sha256, special_terms_for

EDITABLE = (
    "title",
    "category",
    "kind",
    "price",
    "description",
    "promises",
    "after_sale_days",
    "verification_minutes",
    "no_reason_refund",
    "deposit_percent",
    "status",
    "delivery_order",
    "low_stock_threshold",
    "warranty_days",
    "warranty_amount",
)
WARRANTY_DAYS = {"game_account": 7}  # 找回包赔 by default where accounts can be taken back (rules.md)
MAX_WARRANTY_DAYS = 90


def create_shop(*, acting_user: User, name: str, description: str = "", contact: str = "") -> Shop:
    if acting_user.role != Role.MERCHANT:
        raise DomainError(Error.SHOP_MERCHANT_ONLY)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise DomainError(Error.SHOP_NAME_INVALID, param="name")
    if Shop.objects.filter(owner=acting_user).exists():
        raise DomainError(Error.SHOP_EXISTS)
    try:
        with transaction.atomic():
            return Shop.objects.create(
                owner=acting_user, name=name, description=description or "", contact=contact, created_at=clock_now()
            )
    except IntegrityError:
        raise DomainError(Error.SHOP_EXISTS) from None


def update_shop(shop: Shop, *, acting_user: User, **fields) -> Shop:
    if shop.owner_id != acting_user.pk:
        raise DomainError(Error.PERMISSION_DENIED)
    for key in ("name", "description", "contact", "response_promise_hours", "refund_promise_hours"):
        if fields.get(key) is not None:
            setattr(shop, key, fields[key])
    if not shop.name.strip():
        raise DomainError(Error.SHOP_NAME_REQUIRED, param="name")
    shop.save()
    return shop


def _validate(data: dict) -> None:
    policy = get_policy()
    if data["category"] not in policy.categories:
        raise DomainError(Error.LISTING_CATEGORY_UNKNOWN, param="category")
    if data["kind"] not in KINDS:
        raise DomainError(Error.LISTING_KIND_UNKNOWN, param="kind")
    title = (data.get("title") or "").strip()
    if not title or len(title) > 120:
        raise DomainError(Error.LISTING_TITLE_INVALID, param="title")
    price = data["price"]
    if not isinstance(price, int) or isinstance(price, bool) or price <= 0 or price > 10**10:
        raise DomainError(Error.LISTING_PRICE_INVALID, param="price")
    if not (0 <= data["after_sale_days"] <= 365):
        raise DomainError(Error.LISTING_AFTER_SALE_DAYS_INVALID, param="after_sale_days")
    if not (0 <= data["verification_minutes"] <= 60 * 24 * 30):
        raise DomainError(Error.LISTING_VERIFICATION_MINUTES_INVALID, param="verification_minutes")
    pct = data.get("deposit_percent")
    if pct is not None and not (1 <= pct <= 99):
        raise DomainError(Error.LISTING_DEPOSIT_PERCENT_INVALID, param="deposit_percent")
    if pct is not None and data["kind"] == "card_key":
        raise DomainError(Error.LISTING_DEPOSIT_NOT_FOR_CARD_KEY, param="deposit_percent")
    promises = data.get("promises") or []
    if (
        not isinstance(promises, list)
        or len(promises) > 20
        or any(not isinstance(p, str) or len(p) > 200 for p in promises)
    ):
        raise DomainError(Error.LISTING_PROMISES_INVALID, param="promises")
    # 站外引流: refused, not flagged. A contact in public listing text reaches every buyer before any
    # chat warning could, and a listing that stays up "under review" keeps advertising it; the big
    # platforms (淘宝/闲鱼 "发布信息含联系方式") refuse it at publishing too, naming the field.
    texts = [("title", title), ("description", data.get("description") or "")]
    contact_field = listing_contact_field(texts + [("promises", p) for p in promises])
    if contact_field:
        raise DomainError(Error.LISTING_OFF_PLATFORM_CONTACT, param=contact_field)
    if data.get("status", "active") not in ("active", "inactive"):
        raise DomainError(Error.LISTING_STATUS_INVALID, param="status")
    if data.get("delivery_order", DeliveryOrder.OLDEST) not in DeliveryOrder.values:
        raise DomainError(Error.LISTING_DELIVERY_ORDER_INVALID, param="delivery_order")
    if not _small_count(data.get("low_stock_threshold", 0), stock.MAX_LINES):
        raise DomainError(Error.LISTING_LOW_STOCK_THRESHOLD_INVALID, param="low_stock_threshold")
    if not _small_count(data.get("warranty_days", 0), MAX_WARRANTY_DAYS):
        raise DomainError(Error.LISTING_WARRANTY_DAYS_INVALID, param="warranty_days")
    share = data.get("warranty_amount")
    if share is not None and not (_small_count(share, price) and share > 0):
        raise DomainError(Error.LISTING_WARRANTY_AMOUNT_INVALID, param="warranty_amount")


def _small_count(value, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


def _derive(listing: Listing) -> None:
    policy = get_policy()
    category_class = policy.category_class(listing.category)
    listing.special_terms = special_terms_for(category_class)
    if category_class == CUSTOMIZED:
        listing.no_reason_refund = False  # special goods: never no-reason
    listing.warnings = find_unfair_clauses(listing.title, listing.description, *listing.promises)


def snapshot_data(listing: Listing) -> dict:
    policy = get_policy()
    return {
        "title": listing.title,
        "category": listing.category,
        "category_class": policy.category_class(listing.category),
        "kind": listing.kind,
        "price": listing.price,
        "description": listing.description,
        "promises": list(listing.promises),
        "after_sale_days": listing.after_sale_days,
        "verification_minutes": listing.verification_minutes,
        "no_reason_refund": listing.no_reason_refund,
        "deposit_percent": listing.deposit_percent,
        "special_terms": list(listing.special_terms),
        "warnings": list(listing.warnings),
        "warranty_days": listing.warranty_days,
        "warranty_amount": listing.warranty_amount,
        "shop_name": listing.shop.name,
    }


def _write_version(listing: Listing, now) -> ListingVersion:
    data = snapshot_data(listing)
    return ListingVersion.objects.create(
        listing=listing, version=listing.version, data=data, sha256=snapshot_sha256(data), created_at=now
    )


def create_listing(*, acting_user: User, **data) -> Listing:
    shop = Shop.objects.filter(owner=acting_user).first() if acting_user.role == Role.MERCHANT else None
    if acting_user.role != Role.MERCHANT:
        raise DomainError(Error.LISTING_MERCHANT_ONLY)
    if shop is None:
        raise DomainError(Error.LISTING_SHOP_REQUIRED)
    policy = get_policy()
    data.setdefault("after_sale_days", policy.default_after_sale_days)
    data.setdefault("verification_minutes", policy.default_verification_minutes)
    if data.get("after_sale_days") is None:
        data["after_sale_days"] = policy.default_after_sale_days
    if data.get("verification_minutes") is None:
        data["verification_minutes"] = policy.default_verification_minutes
    if data.get("warranty_days") is None:
        data["warranty_days"] = WARRANTY_DAYS.get(data.get("category") or "", 0)
    data["promises"] = data.get("promises") or []
    data["description"] = data.get("description") or ""
    data["no_reason_refund"] = bool(data.get("no_reason_refund"))
    _validate(data)
    now = clock_now()
    with transaction.atomic():
        listing = Listing(shop=shop, created_at=now, updated_at=now, **{k: data[k] for k in EDITABLE if k in data})
        listing.title = listing.title.strip()
        _derive(listing)
        listing.save()
        _write_version(listing, now)
    return listing


def update_listing(listing: Listing, *, acting_user: User, **changes) -> Listing:
    if listing.shop.owner_id != acting_user.pk:
        raise DomainError(Error.LISTING_NOT_OWNER)
    data = {k: getattr(listing, k) for k in EDITABLE}
    # `changes` holds only the fields the caller sent; deposit_percent may be cleared with null.
    for key, value in changes.items():
        if key in EDITABLE and (value is not None or key in ("deposit_percent", "warranty_amount")):
            data[key] = value
    _validate(data)
    now = clock_now()
    with transaction.atomic():
        locked = Listing.objects.select_for_update().get(pk=listing.pk)
        for key in EDITABLE:
            setattr(locked, key, data[key])
        locked.title = locked.title.strip()
        locked.version += 1
        locked.updated_at = now
        _derive(locked)
        locked.save()
        _write_version(locked, now)
    return locked


def current_version(listing: Listing) -> ListingVersion:
    """The version the listing was read at (every purchase reads it: a fixed statement, kameng.compiled)."""
    found = _CURRENT_VERSION.objects(listing.pk, listing.version)
    if not found:
        raise ListingVersion.DoesNotExist(f"listing {listing.pk} has no version {listing.version}")
    version = found[0]
    assert isinstance(version, ListingVersion)
    return version


# The version's number as an expression: a plain value would be checked against the column's range,
# and the compiled read's stand-in is negative (kameng.compiled).
_CURRENT_VERSION = PreparedObjects(
    lambda listing_id, number: ListingVersion.objects.filter(
        listing_id=listing_id, version=Value(number, output_field=BigIntegerField())
    )[:1],
    arity=2,
)


def add_stock(listing: Listing, *, acting_user: User, items: list[str]) -> dict:
    """Bulk-add card keys; blank lines are ignored, duplicates (in the batch or stock) counted."""
    stock.check_may_stock(listing, acting_user)
    if not isinstance(items, list) or len(items) > stock.MAX_LINES:
        raise DomainError(Error.STOCK_TOO_MANY_ITEMS, param="items")
    cleaned = [i for i in (str(i).strip() for i in items) if i]
    if any(len(i) > stock.MAX_ITEM_CHARS for i in cleaned):
        raise DomainError(Error.STOCK_ITEM_TOO_LONG, param="items")
    added, duplicates = stock.insert(listing, cleaned, clock_now())
    return {"added": added, "duplicates": duplicates, "available": available_stock(listing)}


def available_stock(listing: Listing) -> int:
    return stock.available_count(listing)


def visible_listings():
    """Listings a buyer may find: active, in a shop that is not suspended."""
    return Listing.objects.filter(status="active").exclude(shop__status=ShopStatus.SUSPENDED)


def search(q: str = "", category: str = ""):
    qs = visible_listings().select_related("shop")
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q) | Q(shop__name__icontains=q))
    if category:
        qs = qs.filter(category=category)
    # 限制流量: restricted shops' listings come after everyone else's, newest first in each group.
    return qs.annotate(
        demoted=Case(
            When(shop__status=ShopStatus.RESTRICTED, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    ).order_by("demoted", "-pk")


def paginate_search(qs, limit: int = 20, starting_after: str | None = None, serialize=None) -> dict:
    """Cursor pagination over `search()` that keeps restricted shops last across pages.

    The cursor is the contract's usual one (the last id seen); its group is looked up so the
    next page continues inside it, then moves on to the demoted group.
    """
    if limit < 1 or limit > 100:
        raise DomainError(Error.LIMIT_OUT_OF_RANGE, param="limit")
    if starting_after:
        # Ids are ASCII digits (int() alone takes "１"); a cursor must name a listing (else 400).
        if not (starting_after.isascii() and starting_after.isdigit() and len(starting_after) <= 18):
            raise DomainError(Error.CURSOR_INVALID, param="starting_after")
        cursor = int(starting_after)
        status = Listing.objects.filter(pk=cursor).values_list("shop__status", flat=True).first()
        if status is None:
            raise DomainError(Error.CURSOR_INVALID, param="starting_after")
        rank = 1 if status == ShopStatus.RESTRICTED else 0
        qs = qs.filter(Q(demoted__gt=rank) | Q(demoted=rank, pk__lt=cursor))
    rows = list(qs[: limit + 1])
    data = rows[:limit]
    return {"data": [serialize(r) for r in data] if serialize else data, "has_more": len(rows) > limit}


def get_listing_for(listing_id, user) -> Listing:
    try:
        listing = Listing.objects.select_related("shop").get(pk=int(listing_id))
    except (ValueError, TypeError, Listing.DoesNotExist):
        raise DomainError(Error.LISTING_NOT_FOUND) from None
    owner = user is not None and user.is_authenticated and listing.shop.owner_id == user.pk
    staff = user is not None and user.is_authenticated and user.role in (Role.ARBITRATOR, Role.ADMIN)
    if not owner and not staff and (listing.status != "active" or listing.shop.status == ShopStatus.SUSPENDED):
        raise DomainError(Error.LISTING_NOT_FOUND)
    return listing
