"""Reading card keys from pasted text or an uploaded .txt/.csv file, and previewing a batch."""

import csv
import hashlib
import io
from dataclasses import dataclass, field

from kameng.catalog.models import StockItem

HEADER_WORDS = {"卡密", "卡号", "激活码", "兑换码", "card", "key", "code", "card_key", "cardkey", "secret", "items"}


def decode_upload(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; Chinese Excel saves CSV as GBK, so fall back to GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def items_from_text(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def items_from_csv(text: str) -> list[str]:
    """The first non-empty cell of each row; a header row naming the column is skipped."""
    items = []
    for row in csv.reader(io.StringIO(text)):
        cell = next((c.strip() for c in row if c.strip()), "")
        if cell:
            items.append(cell)
    if items and items[0].lower() in HEADER_WORDS:
        items = items[1:]
    return items


def items_from_upload(name: str, data: bytes) -> list[str]:
    text = decode_upload(data)
    return items_from_csv(text) if name.lower().endswith(".csv") else items_from_text(text)


@dataclass
class StockPreview:
    items: list[str]
    in_batch_duplicates: int = 0
    already_in_stock: int = 0
    new: int = 0
    sample: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.items)

    @property
    def duplicates(self) -> int:
        return self.in_batch_duplicates + self.already_in_stock


def preview(listing, items: list[str]) -> StockPreview:
    """What adding these items would do: the service counts the same way when it adds them."""
    hashes = [hashlib.sha256(i.encode()).hexdigest() for i in items]
    existing: set[str] = set()
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        existing.update(
            StockItem.objects.filter(listing=listing, secret_hash__in=unique[start : start + 500]).values_list(
                "secret_hash", flat=True
            )
        )
    seen: set[str] = set()
    result = StockPreview(items=items, sample=items[:5])
    for h in hashes:
        if h in existing:
            result.already_in_stock += 1
        elif h in seen:
            result.in_batch_duplicates += 1
        else:
            seen.add(h)
            result.new += 1
    return result
