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


def terms_confirmation(terms: list[str], at) -> dict:
    """The record of a buyer's per-order confirmation of special terms: the exact texts shown, their
    SHA-256 (of the terms joined by newlines, UTF-8) and the moment; proof that the exclusion of
    no-reason returns was confirmed, not defaulted (实施条例第十九条, 合同编通则司法解释第十条)."""
    digest = hashlib.sha256("\n".join(terms).encode("utf-8")).hexdigest()
    return {"terms": list(terms), "sha256": digest, "confirmed_at": at.isoformat()}


def no_reason_return_excluded(snapshot: dict, terms_confirmed: bool) -> bool:
    """Whether a no-reason return may be refused for goods bought as `snapshot` describes.

    Refused only where the listing does not offer it and, if the exclusion came with special
    terms, the buyer confirmed them at purchase: unconfirmed, they do not bind (实施条例第十九条).
    """
    if snapshot.get("no_reason_refund"):
        return False
    return not snapshot.get("special_terms") or terms_confirmed


def snapshot_sha256(data: dict) -> str:
    canonical = json.dumps(
        {k: data.get(k) for k in SNAPSHOT_FIELDS}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
