"""CSV downloads that Excel opens safely: UTF-8 with a BOM (the Chinese columns read right) and
user text neutralized where a spreadsheet would run it as a formula (CSV injection)."""

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """User text as a cell no spreadsheet evaluates: a leading formula character gets a quote."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The rows under the header as CSV bytes (callers pass user text through `csv_safe`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
