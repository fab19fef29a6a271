"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, nothing to download.

Only presentation attributes (fill, stroke …), never `style`, so the pages keep their strict
Content-Security-Policy. Every chart carries a <title> and a <desc> with its numbers in text.
"""

from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#2563eb"
GRID = "#e5e7eb"
INK = "#374151"
MUTED = "#6b7280"


def bar_chart(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    fmt: Callable[[float], str],
    chart_id: str,
    max_value: float | None = None,
    width: int = 480,
    height: int = 230,
    color: str = BAR,
    reference: tuple[float, str] | None = None,
) -> SafeString:
    """Vertical bars with their value above each and the label below; None is drawn as "—". A y-axis
    with its values at 0, half and the top; `reference` (value, label) is a dashed line across (the
    overall figure the weekly bars are read against). The 480-wide box and 13 px text stay readable
    when a phone shrinks the chart to ~340 px."""
    left, right, top, bottom = 44, 8, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _label, v in bars if v is not None]
    ceiling = max_value if max_value is not None else max(values, default=0)
    ceiling = ceiling or 1
    slot = plot_w / max(1, len(bars))
    bar_w = max(4.0, slot * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'preserveAspectRatio="xMidYMid meet" font-family="sans-serif" font-size="13">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape("; ".join(f"{name}: {fmt(v) if v is not None else '—'}" for name, v in bars))}</desc>',
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" class="y-tick">'
            f"{escape(fmt(ceiling * frac))}</text>"
        )
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{MUTED}" stroke-width="1"/>')
    if reference is not None and reference[0] is not None:
        ref_y = top + plot_h * (1 - min(1.0, max(0.0, reference[0] / ceiling)))
        parts.append(
            f'<line x1="{left}" y1="{ref_y:.1f}" x2="{width - right}" y2="{ref_y:.1f}" stroke="{INK}" '
            f'stroke-width="1" stroke-dasharray="4 3" class="reference"><title>{escape(reference[1])}</title></line>'
        )
        parts.append(f'<text x="{left + 4}" y="{max(12, ref_y - 4):.1f}" fill="{INK}">{escape(reference[1])}</text>')
    for i, (label, value) in enumerate(bars):
        x = left + slot * i + (slot - bar_w) / 2
        cx = x + bar_w / 2
        if value is not None:
            h = plot_h * min(1.0, max(0.0, value / ceiling))
            y = top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}" rx="2">'
                f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            )
            parts.append(
                f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="{INK}">{escape(fmt(value))}</text>'
            )
        else:
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h - 4:.1f}" text-anchor="middle" fill="{MUTED}">—</text>')
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 16:.1f}" text-anchor="middle" fill="{MUTED}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def hbar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    fmt: Callable[[float], str],
    chart_id: str,
    width: int = 480,
    row_h: int = 28,
    color: str = BAR,
) -> SafeString:
    """Horizontal bars, one row per label (counts by outcome or category)."""
    label_w, right = 130, 50
    height = max(1, len(rows)) * row_h + 8
    top_value = max((v for _l, v in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" font-family="sans-serif" font-size="13">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape("; ".join(f"{name}: {fmt(v)}" for name, v in rows))}</desc>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        w = (width - label_w - right) * (value / top_value)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="{INK}">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{color}" rx="2"/>')
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="{INK}">{escape(fmt(value))}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def hours(seconds: float) -> str:
    """A duration on a chart: minutes under an hour (never "0.0h"), else hours."""
    if seconds < 3600:
        return f"{round(seconds / 60):d}m" if seconds else "0"
    return f"{seconds / 3600:.1f}h"


def count(value: float) -> str:
    return f"{value:g}"
