"""免注册购买 and 查单: buying without an account, and finding the order again.

A guest order is a direct checkout (a gateway only) whose buyer is a user made for it that can never
log in (no usable password, no API token). The guest gives a contact (email or mobile) and a query
password; the password is stored with Django's password hasher and checked in constant time, an
unknown order number costing the same hashing as a known one. A lookup either finds the order or
answers "not found": it never says the password was wrong. Each creation and lookup issues a
`lookup_token`, a bearer token for that one order (kameng.api.guest accepts it on the order's page,
its chat and POST /refunds, nowhere else). The rate limits are the API's (per order, per address).
"""

import re
import secrets
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import hashers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from kameng.accounts.models import ApiToken, Role, User
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error

from . import checkout
from .models import GuestAccess, GuestToken, Order

TOKEN_LIFETIME = timedelta(days=30)
PASSWORD_LENGTH = (6, 64)
MOBILE = re.compile(r"1[3-9]\d{9}")


def place_order(
    *, listing_id, contact: str, query_password: str, pay_with: str, language: str = "", **terms
) -> tuple[Order, str]:
    """A guest's direct checkout: the order (awaiting payment at `pay_with`) and its lookup_token.
    `language` is the one the guest bought in (zh-hans / en): their emails and notices are in it."""
    email, phone = _contact(contact)
    _check_password(query_password)
    if pay_with not in checkout.GATEWAYS:
        raise DomainError(Error.ORDER_PAY_WITH_INVALID, param="pay_with")
    now = clock_now()
    with transaction.atomic():
        guest = User(
            username=f"guest:{secrets.token_hex(8)}",
            role=Role.BUYER,
            email=email,
            phone=phone,
            language=language if language in dict(settings.LANGUAGES) else "",
        )
        guest.set_unusable_password()
        guest.save()
        order = checkout.start_checkout(acting_user=guest, listing_id=listing_id, pay_with=pay_with, **terms)
        access = GuestAccess.objects.create(
            order=order, contact=email or phone, password_hash=hashers.make_password(query_password), created_at=now
        )
        token = _issue(access, now)
    return order, token


def look_up(*, number: str, query_password: str) -> tuple[Order, str]:
    """查单: the order with this number and query password, and a fresh lookup_token; else not found."""
    number, password = str(number or "").strip()[:32], str(query_password or "")[: PASSWORD_LENGTH[1]]
    access = GuestAccess.objects.select_related("order").filter(order__number=number).first() if number else None
    # The same hashing whether or not the number exists: the answer's timing tells nothing either.
    encoded = access.password_hash if access is not None else _decoy_hash()
    matches = hashers.check_password(password, encoded)
    if access is None or not matches:
        raise DomainError(Error.GUEST_ORDER_NOT_FOUND)
    return access.order, _issue(access, clock_now())


def order_for_token(raw: str) -> tuple[User, Order] | None:
    """The guest buyer and the one order a lookup_token opens (None: unknown or expired)."""
    token = (
        GuestToken.objects.select_related("access__order__buyer")
        .filter(token_hash=ApiToken.hash(raw), expires_at__gt=clock_now())
        .first()
    )
    if token is None:
        return None
    order = token.access.order
    return order.buyer, order


def is_guest_order(order: Order) -> bool:
    return GuestAccess.objects.filter(order=order).exists()


def _issue(access: GuestAccess, now) -> str:
    raw = "gk_" + secrets.token_urlsafe(32)
    GuestToken.objects.create(
        access=access, token_hash=ApiToken.hash(raw), created_at=now, expires_at=now + TOKEN_LIFETIME
    )
    return raw


def _contact(contact: str) -> tuple[str, str]:
    """(email, phone): one of them, from what the guest typed."""
    contact = str(contact or "").strip()
    if MOBILE.fullmatch(contact):
        return "", contact
    try:
        validate_email(contact)
    except ValidationError:
        raise DomainError(Error.GUEST_CONTACT_INVALID, param="contact") from None
    if len(contact) > 120:
        raise DomainError(Error.GUEST_CONTACT_INVALID, param="contact")
    return contact, ""


def _check_password(password) -> None:
    low, high = PASSWORD_LENGTH
    if not isinstance(password, str) or not low <= len(password) <= high or not password.strip():
        raise DomainError(Error.GUEST_PASSWORD_INVALID, param="query_password")


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash no password matches, made by the current hasher (so checking it costs what a real one does)."""
    return hashers.make_password(secrets.token_urlsafe(16))
