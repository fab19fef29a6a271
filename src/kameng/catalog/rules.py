"""Pure rules about listings: validation, special terms, the snapshot and its hash."""

import hashlib
import json

from kameng.policy.defaults import CUSTOMIZED, SPECIAL_TERMS

from .models import ListingKind

SNAPSHOT_FIELDS = (
    "title",
    "category",
    "category_class",
    "kind",
    "price",
    "description",
    "promises",
    "after_sale_days",
    "verification_minutes",
    "no_reason_refund",
    "deposit_percent",
    "special_terms",
    "warnings",
    "shop_name",
)
KINDS = {k.value for k in ListingKind}


def special_terms_for(category_class: str) -> list[str]:
    """Customized goods are on the special-goods list: no no-reason refund, confirmed at purchase."""
    return list(SPECIAL_TERMS) if category_class == CUSTOMIZED else []


def snapshot_sha256(data: dict) -> str:
    canonical = json.dumps(
        {k: data.get(k) for k in SNAPSHOT_FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
