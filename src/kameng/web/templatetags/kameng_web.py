"""Template filters for pages: money in yuan, category and status names in the active language."""

from django import template
from django.utils import translation
from django.utils.translation import gettext, ngettext

from kameng import money
from kameng.accounts.models import Role
from kameng.catalog.models import ListingKind, ShopStatus
from kameng.labels import label
from kameng.ledger import memos
from kameng.policy import laws
from kameng.policy.defaults import CategoryClass
from kameng.policy.services import get_policy

from ..forms import GATEWAY_LABELS

register = template.Library()


@register.simple_tag
def law(name: str) -> str:
    """A citation from the one law table (kameng.policy.laws), e.g. {% law "CPL_25" %}: the short
    Chinese form, or the English one on English pages."""
    entry = getattr(laws, name)
    if not isinstance(entry, laws.Law):
        raise template.TemplateSyntaxError(f"{name} is not a law of kameng.policy.laws")
    return entry.cite_en if (translation.get_language() or "").startswith("en") else entry.short


@register.filter
def memo(text: str) -> str:
    """A journal entry's memo in the active language (kameng.ledger.memos)."""
    return memos.shown(text)


@register.filter
def cite(text: str) -> str:
    """A stored citation (the short Chinese form of kameng.policy.laws, several joined by "；") in
    the active language; a citation the table does not know is shown as stored."""
    text = str(text or "")
    if not (translation.get_language() or "").startswith("en"):
        return text
    for entry in sorted(laws.LAWS, key=lambda e: -len(e.short)):
        text = text.replace(entry.short, entry.cite_en)
    return text.replace("；", "; ")


@register.filter
def platform_text(text: str) -> str:
    """A text the platform wrote and a row keeps a copy of (a listing's special terms): its
    translation in the active language, from the catalogue."""
    return gettext(str(text)) if text else ""


@register.filter
def bilingual(text: str) -> str:
    """A policy value written "中文 / English": the half of the active language (as is otherwise)."""
    zh, sep, en = str(text or "").partition(" / ")
    if not sep:
        return zh
    return en if (translation.get_language() or "").startswith("en") else zh


@register.filter
def yuan(fen) -> str:
    """Integer fen → "¥1,234.56" (kameng.money.yuan); empty for a missing amount."""
    if fen is None or fen == "" or isinstance(fen, bool):
        return ""
    try:
        fen = int(fen)
    except (TypeError, ValueError):
        return ""
    return money.yuan(fen)


@register.filter
def percent(share) -> str:
    """A share in 0..1 as "12.5%"; empty when unknown."""
    if share is None or share == "":
        return ""
    try:
        value = float(share) * 100
    except (TypeError, ValueError):
        return ""
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


@register.filter
def category_name(code: str) -> str:
    """The category's display name from the policy, in Chinese or English."""
    try:
        category = get_policy().category(code)
    except KeyError:
        return code
    if translation.get_language() == "en":
        return category.get("name_en") or category.get("name") or code
    return category.get("name") or code


@register.filter
def category_rule(code: str) -> str:
    try:
        category = get_policy().category(code)
    except KeyError:
        return ""
    if translation.get_language() == "en":
        return category.get("rule_en") or category.get("rule", "")
    return category.get("rule", "")


@register.filter
def kind_label(code: str) -> str:
    return label(ListingKind, code)


@register.filter
def shop_status_label(code: str) -> str:
    return label(ShopStatus, code)


@register.filter
def class_label(code: str) -> str:
    return label(CategoryClass, code)


@register.filter
def role_label(code: str) -> str:
    return label(Role, code)


@register.filter
def minutes_label(minutes) -> str:
    """Verification windows read better as hours or days than as raw minutes."""
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        return ""
    if minutes and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(n)d 天", "%(n)d 天", days) % {"n": days}
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d 小时", "%(n)d 小时", hours) % {"n": hours}
    return ngettext("%(n)d 分钟", "%(n)d 分钟", minutes) % {"n": minutes}


@register.filter
def duration_label(delta) -> str:
    """A timedelta as "2 天 3 小时" / "45 分钟"; empty when already past."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return gettext("已到期")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d 天", "%(n)d 天", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d 小时", "%(n)d 小时", hours) % {"n": hours})
    if not days and (minutes or not parts):
        parts.append(ngettext("%(n)d 分钟", "%(n)d 分钟", max(minutes, 1)) % {"n": max(minutes, 1)})
    return " ".join(parts)


@register.simple_tag(takes_context=True)
def nav_current(context, *prefixes) -> str:
    """aria-current for the nav link whose path prefix matches the current page."""
    request = context.get("request")
    path = getattr(request, "path", "")
    for prefix in prefixes:
        # "=/shop/" matches that page only; "/" matches the home page only; others match as prefixes.
        if prefix.startswith("="):
            if path == prefix[1:]:
                return "aria-current=page"
            continue
        if (prefix == "/" and path == "/") or (prefix != "/" and path.startswith(prefix)):
            return "aria-current=page"
    return ""


@register.filter
def gateway_label(code: str) -> str:
    """A payment gateway's name (支付宝, 微信支付, …) in the active language."""
    return str(GATEWAY_LABELS.get(code, code))
