"""Card-key inventory (库存): reading a batch from pasted text, .txt, .csv or .xlsx with a report of
what was added, what was a duplicate and which lines were invalid; which key a purchase takes;
voiding and exporting unsold keys; telling the merchant when stock runs low.

Files are read by their content, in bounded memory: text and CSV up to MAX_FILE_BYTES, workbooks
through openpyxl's read-only mode (the sheet is streamed, never loaded whole) and only after the
zip's own directory says the sheets unpack to at most MAX_XLSX_UNPACKED bytes.
"""

import csv
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from kameng.accounts.models import User
from kameng.clock.services import now as clock_now
from kameng.compiled import loaded
from kameng.errors import DomainError, Error
from kameng.spreadsheet import csv_document, csv_safe

from .models import DeliveryOrder, Listing, StockItem

MAX_LINES = 10_000  # per import, as POST /listings/{id}/stock
MAX_ITEM_CHARS = 2000
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_XLSX_UNPACKED = 64 * 1024 * 1024  # a zip bomb is refused before openpyxl reads a byte of it
XLSX_COLUMNS = 20  # the first non-empty cell among these is the key, as in a CSV row
HEADER_WORDS = {"卡密", "卡号", "激活码", "兑换码", "card", "key", "code", "card_key", "cardkey", "secret", "items"}


# ---- reading a batch -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line (or row) of the source
    text: str


def lines_from_text(text: str) -> list[Line]:
    return [Line(n, raw.strip()) for n, raw in enumerate((text or "").splitlines(), 1) if raw.strip()]


def lines_from_csv(text: str) -> list[Line]:
    """The first non-empty cell of each row; a header row naming the column is skipped."""
    rows = ((n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), 1))
    return _skip_header([Line(n, cell) for n, row in rows if (cell := _first_cell(row))])


def lines_from_xlsx(data: bytes) -> list[Line]:
    """The first non-empty cell of each row of the first sheet, streamed (openpyxl read-only mode)."""
    from openpyxl import load_workbook  # ~0.2 s to import: only an .xlsx upload needs it

    buffer = io.BytesIO(data)
    try:
        with zipfile.ZipFile(buffer) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED:
                raise DomainError(Error.STOCK_FILE_TOO_LARGE, param="file")
        workbook = load_workbook(buffer, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise DomainError(Error.STOCK_FILE_UNREADABLE, param="file") from None
    try:
        sheet = workbook.worksheets[0]
        lines: list[Line] = []
        for n, row in enumerate(sheet.iter_rows(max_col=XLSX_COLUMNS, values_only=True), 1):
            cell = _first_cell(_cell_text(v) for v in row)
            if cell:
                lines.append(Line(n, cell))
            if len(lines) > MAX_LINES + 1:  # one past the limit is enough to refuse the batch
                break
    finally:
        workbook.close()
    return _skip_header(lines)


def lines_from_upload(name: str, data: bytes) -> list[Line]:
    """A .txt, .csv or .xlsx file by its content: a workbook is a zip, text is UTF-8 or GB18030."""
    lower = (name or "").lower()
    if len(data) > MAX_FILE_BYTES:
        raise DomainError(Error.STOCK_FILE_TOO_LARGE, param="file")
    if lower.endswith(".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise DomainError(Error.STOCK_FILE_UNREADABLE, param="file")
        return lines_from_xlsx(data)
    if not lower.endswith((".txt", ".csv")):
        raise DomainError(Error.STOCK_FILE_TYPE, param="file")
    if data.startswith(b"PK\x03\x04") or b"\x00" in data:
        raise DomainError(Error.STOCK_FILE_UNREADABLE, param="file")  # a binary file renamed to .txt
    text = decode_text(data)
    return lines_from_csv(text) if lower.endswith(".csv") else lines_from_text(text)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; Chinese Excel saves CSV as GBK, so fall back to GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(Error.STOCK_FILE_UNREADABLE, param="file")


def _first_cell(cells: Iterable[str]) -> str:
    return next((c.strip() for c in cells if c and c.strip()), "")


def _cell_text(value: object) -> str:
    """A workbook cell as text: whole numbers (a numeric key) without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _skip_header(lines: list[Line]) -> list[Line]:
    return lines[1:] if lines and lines[0].text.lower() in HEADER_WORDS else lines


def invalid_reason(text: str) -> str | None:
    """Why a line cannot be a card key (None: it can)."""
    if len(text) > MAX_ITEM_CHARS:
        return "too_long"
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch != "\t" for ch in text):
        return "control_character"
    return None


# ---- adding ----------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0
    invalid: list[dict] = field(default_factory=list)  # [{line, reason}]
    available: int = 0

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "available": self.available,
        }


def import_batch(listing: Listing, *, acting_user: User, text: str = "", upload=None) -> ImportReport:
    """An import from the pasted text and/or one uploaded file (`name`, `size`, `read()`), checked
    for size before a byte of it is read."""
    check_may_stock(listing, acting_user)
    lines = lines_from_text(text)
    if upload is not None:
        if (upload.size or 0) > MAX_FILE_BYTES:
            raise DomainError(Error.STOCK_FILE_TOO_LARGE, param="file")
        offset = len(lines) and lines[-1].number
        lines += [Line(offset + line.number, line.text) for line in lines_from_upload(upload.name, upload.read())]
    if not lines:
        raise DomainError(Error.STOCK_IMPORT_EMPTY, param="items")
    return import_lines(listing, acting_user=acting_user, lines=lines)


def check_may_stock(listing: Listing, user: User) -> None:
    if listing.shop.owner_id != user.pk:
        raise DomainError(Error.STOCK_NOT_OWNER)
    if listing.kind != "card_key":
        raise DomainError(Error.STOCK_NOT_CARD_KEY)


def import_lines(listing: Listing, *, acting_user: User, lines: list[Line]) -> ImportReport:
    """Add the valid lines of a batch; invalid ones are reported by line number, nothing else refused."""
    check_may_stock(listing, acting_user)
    if len(lines) > MAX_LINES:
        raise DomainError(Error.STOCK_TOO_MANY_ITEMS, param="items")
    report = ImportReport()
    valid = []
    for line in lines:
        reason = invalid_reason(line.text)
        if reason:
            report.invalid.append({"line": line.number, "reason": reason})
        else:
            valid.append(line.text)
    report.added, report.duplicates = insert(listing, valid, clock_now())
    report.available = available_count(listing)
    return report


def insert(listing: Listing, items: list[str], now: datetime) -> tuple[int, int]:
    """Store the keys not in stock yet (nor earlier in the batch); returns (added, duplicates)."""
    hashes = [hashlib.sha256(i.encode()).hexdigest() for i in items]
    with transaction.atomic():
        existing = existing_hashes(listing, hashes)
        fresh: dict[str, str] = {}
        for item, digest in zip(items, hashes, strict=True):
            if digest not in existing and digest not in fresh:
                fresh[digest] = item
        StockItem.objects.bulk_create(
            StockItem(listing=listing, secret=item, secret_hash=digest, created_at=now)
            for digest, item in fresh.items()
        )
    return len(fresh), len(items) - len(fresh)


def existing_hashes(listing: Listing, hashes: list[str]) -> set[str]:
    unique = list(dict.fromkeys(hashes))
    found: set[str] = set()
    for start in range(0, len(unique), 500):
        found.update(
            StockItem.objects.filter(listing=listing, secret_hash__in=unique[start : start + 500]).values_list(
                "secret_hash", flat=True
            )
        )
    return found


# ---- reading stock ---------------------------------------------------------------------------------


def unsold(listing: Listing | int) -> QuerySet[StockItem]:
    """Keys a purchase may still take: neither sold nor voided (the partial index stock_unsold)."""
    return StockItem.objects.filter(listing=listing, order__isnull=True, voided_at__isnull=True)


def available_count(listing: Listing) -> int:
    return unsold(listing).count()


EXPORT_HEADER = ["卡密", "入库时间"]


def export_unsold(listing: Listing, *, acting_user: User) -> bytes:
    """The unsold keys as CSV for the merchant (Excel-safe: a key starting with = stays text)."""
    check_may_stock(listing, acting_user)
    rows = unsold(listing).order_by("id").values_list("secret", "created_at")
    return csv_document(EXPORT_HEADER, ([csv_safe(secret), at.isoformat()] for secret, at in rows.iterator(2000)))


def void(listing: Listing, *, acting_user: User, items: list[str] | None = None, every: bool = False) -> dict:
    """作废: withdraw unsold keys (the ones named, or all of them); sold keys are never touched."""
    check_may_stock(listing, acting_user)
    if not every and (not isinstance(items, list) or not items):
        raise DomainError(Error.STOCK_VOID_NOTHING, param="items")
    if items is not None and len(items) > MAX_LINES:
        raise DomainError(Error.STOCK_TOO_MANY_ITEMS, param="items")
    now = clock_now()
    with transaction.atomic():
        qs = unsold(listing)
        if not every:
            hashes = [hashlib.sha256(str(i).strip().encode()).hexdigest() for i in items or []]
            qs = qs.filter(secret_hash__in=hashes)
        voided = qs.update(voided_at=now)
    return {"voided": voided, "available": available_count(listing)}


# ---- taking a key for an order ---------------------------------------------------------------------

LowStockListener = Callable[[Listing, int], None]
_low_stock_listeners: list[LowStockListener] = []


def on_low_stock(listener: LowStockListener) -> LowStockListener:
    """Call `listener(listing, available)` when a purchase takes the stock down to the listing's
    threshold, inside the purchase's transaction (apps above register in AppConfig.ready())."""
    if listener not in _low_stock_listeners:
        _low_stock_listeners.append(listener)
    return listener


def take(listing: Listing, quantity: int, order, delivered_at: datetime | None) -> list[StockItem] | None:
    """Give `quantity` unsold keys to `order` in the listing's delivery order, delivered at `delivered_at`
    (None: only reserved, for a direct checkout awaiting payment); None if there are not enough.

    On PostgreSQL the rows are taken with SKIP LOCKED, so two purchases never wait for each other's
    keys; the update's own `order IS NULL` makes a double delivery impossible even without locks.
    """
    if connection.vendor == "postgresql":
        items = _take_in_one_statement(listing, quantity, order, delivered_at)
        if items is None:
            return None
        _tell_if_low(listing, quantity)
        return items
    qs = unsold(listing).order_by("?" if listing.delivery_order == DeliveryOrder.RANDOM else "id")
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    items = list(qs[:quantity])
    if len(items) < quantity:
        return None
    ids = [i.pk for i in items]
    taken = StockItem.objects.filter(pk__in=ids, order__isnull=True, voided_at__isnull=True).update(
        order=order, delivered_at=delivered_at
    )
    if taken != len(ids):
        return None
    _tell_if_low(listing, quantity)
    return items


_ITEM_COLUMNS = tuple(str(f.column) for f in StockItem._meta.concrete_fields)
_ITEM_ATTNAMES = tuple(f.attname for f in StockItem._meta.concrete_fields)


def _take_in_one_statement(
    listing: Listing, quantity: int, order, delivered_at: datetime | None
) -> list[StockItem] | None:
    """`take` on PostgreSQL in one fixed-text statement: the keys picked in delivery order with SKIP
    LOCKED, given to the order only when there are `quantity` of them (else nothing changes), and
    returned as updated. The picked set is materialized once (a CTE read twice)."""
    table = connection.ops.quote_name(StockItem._meta.db_table)
    order_by = "random()" if listing.delivery_order == DeliveryOrder.RANDOM else "id"
    returning = ", ".join(f"s.{connection.ops.quote_name(c)}" for c in _ITEM_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH picked AS MATERIALIZED (SELECT id FROM {table} WHERE listing_id = %s AND order_id IS NULL "
            f"AND voided_at IS NULL ORDER BY {order_by} LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} s SET order_id = %s, delivered_at = %s "
            f"WHERE s.id = ANY(ARRAY(SELECT id FROM picked)) AND s.order_id IS NULL AND s.voided_at IS NULL "
            f"AND (SELECT count(*) FROM picked) = %s RETURNING {returning}",
            [listing.pk, quantity, order.pk, delivered_at, quantity],
        )
        rows = cursor.fetchall()
    if len(rows) != quantity:
        # Too few free keys: none was given (the statement counts them). A key sold between the pick and
        # the update (the update checks again, as `take` elsewhere) leaves the caller's transaction to
        # roll back the others, as there.
        return None
    items = [loaded(StockItem, _ITEM_ATTNAMES, row) for row in rows]
    if listing.delivery_order != DeliveryOrder.RANDOM:
        items.sort(key=lambda item: item.pk)  # the delivery order (RETURNING keeps none)
    return items


def deliver_reserved(order, now: datetime) -> int:
    """The paid direct checkout's reserved keys become delivered."""
    return StockItem.objects.filter(order=order, delivered_at__isnull=True).update(delivered_at=now)


def release_reserved(order) -> int:
    """The unpaid checkout's reserved keys go back on sale."""
    return StockItem.objects.filter(order=order, delivered_at__isnull=True).update(order=None)


def _tell_if_low(listing: Listing, taken: int) -> None:
    """Once per crossing: only the purchase that takes the count from above the threshold to it or below."""
    threshold = listing.low_stock_threshold
    if not threshold or not _low_stock_listeners:
        return
    left = available_count(listing)
    if left <= threshold < left + taken:
        for listener in _low_stock_listeners:
            listener(listing, left)
