"""In-app notices in the reader's language: a notification stores the Chinese template it was made
from and the raw values it names (ids, fen, moments, codes), and is rendered when it is read, in
the language of whoever reads it. `text` keeps the Chinese rendering (emails, older rows).

Value kinds are told by name: MONEY keys are integer fen, MOMENTS are ISO datetimes shown in the
platform's time zone, `closing` is a case's resolution code (with `refund` in fen)."""

import string
from datetime import datetime

from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from kameng.money import yuan

MONEY = frozenset({"offer", "proposal", "amount", "refund", "balance"})
MOMENTS = frozenset({"due"})


def fields(template: str) -> set[str]:
    """The names a template's `{…}` fields use."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def moment(value: datetime | None) -> str:
    return value.isoformat() if value else ""


class _Shown(dict):
    def __init__(self, params: dict):
        super().__init__()
        self.params = params

    def __missing__(self, key: str) -> str:
        value = self.params.get(key, "")
        if key in MONEY:
            return yuan(int(value or 0))
        if key in MOMENTS:
            at = parse_datetime(str(value)) if value else None
            return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""
        if key == "closing":
            from .lifecycle import CLOSING

            return gettext(CLOSING.get(str(value), "")).format(refund=yuan(int(self.params.get("refund") or 0)))
        return str(value)


def render(template: str, params: dict) -> str:
    """`template` (a Chinese msgid) in the active language, its fields filled from `params`."""
    return gettext(template).format_map(_Shown(params))


def render_in(language: str, template: str, params: dict) -> str:
    with translation.override(language or "zh-hans"):
        return render(template, params)
