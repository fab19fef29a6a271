"""Trust endpoints: published policies and statistics, shop credit, reviews, sanctions."""

from ninja import Router, Schema, Status
from pydantic import StrictInt

from kameng.accounts.models import Role
from kameng.catalog.models import Shop
from kameng.errors import DomainError, Error
from kameng.orders.services import get_order_for
from kameng.trust import services
from kameng.trust.models import Review, SanctionEvent
from kameng.trust.policies import published_policies
from kameng.trust.stats import platform_stats

from .base import paginate, require_role

router = Router(tags=["trust"])


class ReviewIn(Schema):
    stars: StrictInt  # 1–5; true/"5" are not stars
    text: str = ""


class SanctionIn(Schema):
    status: str
    reason: str


def _shop(shop_id: str) -> Shop:
    try:
        return Shop.objects.get(pk=int(shop_id))
    except (ValueError, Shop.DoesNotExist):
        raise DomainError(Error.SHOP_NOT_FOUND) from None


@router.get("/policies", response=dict, auth=None)
def policies(request):
    return published_policies()


@router.get("/stats", response=dict, auth=None)
def stats(request, days: int = 90, weeks: int = 12):
    if not (1 <= days <= 365):
        raise DomainError(Error.STATS_DAYS_INVALID, param="days")
    if not (1 <= weeks <= 52):
        raise DomainError(Error.STATS_WEEKS_INVALID, param="weeks")
    return platform_stats(days=days, weeks=weeks)


@router.get("/shops/{shop_id}/credit", response=dict, auth=None)
def shop_credit(request, shop_id: str):
    shop = _shop(shop_id)
    data = services.credit_for_shop(shop)
    return {"shop": str(shop.pk), "status": shop.status, **data}


@router.get("/shops/{shop_id}/reviews", response=dict, auth=None)
def shop_reviews(request, shop_id: str, limit: int = 20, starting_after: str | None = None):
    shop = _shop(shop_id)
    qs = Review.objects.filter(shop=shop).select_related("buyer", "order")
    page = paginate(qs, limit, starting_after, services.review_out)
    page["summary"] = services.review_summary(shop)
    return page


@router.post("/orders/{order_id}/review", response={201: dict})
def create_review(request, order_id: str, payload: ReviewIn):
    order = get_order_for(order_id, request.auth)
    review = services.add_review(order, acting_user=request.auth, stars=payload.stars, text=payload.text)
    return Status(201, services.review_out(review))


@router.get("/orders/{order_id}/review", response=dict)
def get_review(request, order_id: str):
    order = get_order_for(order_id, request.auth)
    review = Review.objects.filter(order=order).select_related("buyer", "order").first()
    if review is None:
        raise DomainError(Error.REVIEW_NOT_FOUND)
    return services.review_out(review)


@router.post("/shops/{shop_id}/sanction", response=dict)
def sanction(request, shop_id: str, payload: SanctionIn):
    require_role(request, Role.ADMIN)
    shop = _shop(shop_id)
    event = services.set_sanction(shop, acting_user=request.auth, status=payload.status, reason=payload.reason)
    shop.refresh_from_db()
    return {"shop": str(shop.pk), "status": shop.status, "event": services.sanction_out(event)}


@router.get("/shops/{shop_id}/sanctions", response=dict)
def shop_sanctions(request, shop_id: str, limit: int = 20, starting_after: str | None = None):
    shop = _shop(shop_id)
    if not services.can_see_sanctions(shop, request.auth):
        require_role(request, Role.ADMIN)  # 403: the shop is public, its audit log is not
    return paginate(SanctionEvent.objects.filter(shop=shop), limit, starting_after, services.sanction_out)


@router.get("/sanctions", response=dict)
def all_sanctions(request, limit: int = 20, starting_after: str | None = None):
    require_role(request, Role.ADMIN, Role.ARBITRATOR)
    return paginate(SanctionEvent.objects.all(), limit, starting_after, services.sanction_out)
