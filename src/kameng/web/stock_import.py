"""The stock page's preview: what adding a batch would do, counted as kameng.catalog.stock counts."""

import hashlib
from dataclasses import dataclass, field

from kameng.catalog import stock
from kameng.catalog.stock import Line


@dataclass
class StockPreview:
    items: list[str]  # the valid lines, as they will be added
    invalid: list[dict] = field(default_factory=list)  # [{line, reason}]
    in_batch_duplicates: int = 0
    already_in_stock: int = 0
    new: int = 0
    sample: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.items) + len(self.invalid)

    @property
    def duplicates(self) -> int:
        return self.in_batch_duplicates + self.already_in_stock


def preview(listing, lines: list[Line]) -> StockPreview:
    """Split the batch into valid and invalid lines, then count the valid ones against the stock."""
    result = StockPreview(items=[])
    for line in lines:
        reason = stock.invalid_reason(line.text)
        if reason:
            result.invalid.append({"line": line.number, "reason": reason})
        else:
            result.items.append(line.text)
    result.sample = result.items[:5]
    hashes = [hashlib.sha256(i.encode()).hexdigest() for i in result.items]
    existing = stock.existing_hashes(listing, hashes)
    seen: set[str] = set()
    for digest in hashes:
        if digest in existing:
            result.already_in_stock += 1
        elif digest in seen:
            result.in_batch_duplicates += 1
        else:
            seen.add(digest)
            result.new += 1
    return result
