"""Chinese first, English by choice: the switch, the per-user setting, the committed catalog,
and money formatting."""

import gettext as gnu_gettext
import re
from pathlib import Path

import pytest
from django.test import Client

import kameng
from kameng.accounts.models import User
from kameng.errors import Error
from kameng.web.templatetags.kameng_web import yuan

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
LOCALE = Path(kameng.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def _visible_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
    # The language switch names each language in itself (中文 / English) on purpose.
    html = re.sub(r'<button[^>]*lang="zh-Hans"[^>]*>.*?</button>', "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize(
    "yuan_in, shown",
    [
        (0, "¥0.00"),
        (1, "¥0.01"),
        (99, "¥0.99"),
        (100, "¥1.00"),
        (9900, "¥99.00"),
        (123456789, "¥1,234,567.89"),
        (-50, "-¥0.50"),
        ("12345", "¥123.45"),
        (None, ""),
        ("abc", ""),
        (True, ""),
    ],
)
def test_yuan_filter_formats_integer_fen(yuan_in, shown):
    assert yuan(yuan_in) == shown


def test_chinese_is_the_default(client):
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in html and "逛市场" in html


def test_anonymous_visitor_switches_language_with_the_cookie(client):
    response = client.post("/language/", {"language": "en", "next": "/rules/"})
    assert response.status_code == 302 and response["Location"] == "/rules/"
    html = client.get("/rules/").content.decode()
    assert '<html lang="en">' in html and "Platform rules and refund standards" in html
    client.post("/language/", {"language": "zh-hans", "next": "/"})
    assert "平台规则与退款标准" in client.get("/rules/").content.decode()


def test_signed_in_users_keep_their_language_on_their_account(login_as, buyer):
    client = login_as(buyer)
    client.post("/language/", {"language": "en", "next": "/wallet/"})
    buyer.refresh_from_db()
    assert buyer.language == "en"
    # A new session (another device, no cookie) still gets English.
    fresh = Client()
    fresh.force_login(User.objects.get(pk=buyer.pk))
    assert "My wallet" in fresh.get("/wallet/").content.decode()


def test_unknown_language_is_ignored(login_as, buyer):
    client = login_as(buyer)
    client.post("/language/", {"language": "xx", "next": "/"})
    buyer.refresh_from_db()
    assert buyer.language == ""


def test_english_pages_have_no_chinese_left(login_as, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, title="Steam wallet code", description="Global", promises=["Instant"])
    fund(buyer, 20000)
    order = buy(buyer, listing)
    Client_ = Client
    anonymous = Client_(HTTP_ACCEPT_LANGUAGE="en")
    as_buyer = login_as(buyer)
    as_buyer.post("/language/", {"language": "en"})
    as_merchant = login_as(merchant)
    as_merchant.post("/language/", {"language": "en"})
    pages = [
        (anonymous, "/login/"),
        (anonymous, "/register/"),
        (as_buyer, "/wallet/"),
        (as_buyer, "/orders/"),
        (as_buyer, f"/orders/{order['id']}/confirm"),
        (as_merchant, "/shop/listings/"),
        (as_merchant, "/shop/listings/new"),
        (as_merchant, f"/shop/listings/{listing['id']}/stock"),
    ]
    for client, path in pages:
        text = _visible_text(client.get(path))
        # User data (the merchant fixture's shop name, the wallet memo written by the ledger) aside.
        text = text.replace("的小店", "").replace("订单", "").replace("充值", "")
        leftover = CJK.findall(text)
        assert not leftover, (path, "".join(leftover)[:80])


def test_service_errors_are_translated_when_english_is_active(client, buyer):
    client.post("/language/", {"language": "en"})
    html = client.post(
        "/register/",
        {"username": buyer.username, "password": "pass-word-123", "password2": "pass-word-123", "role": "buyer"},
    ).content.decode()
    assert "This username is taken" in html


def test_pages_show_the_error_catalogue_in_the_active_language(login_as, buyer, merchant, make_listing, doc):
    """Pages and the API read the same member of kameng.errors: English when English is active."""
    listing = make_listing(merchant)
    client = login_as(buyer)
    chinese = doc(client.post(f"/listings/{listing['id']}/buy", {"quantity": "1"})).form_errors()
    assert Error.INSUFFICIENT_FUNDS.zh in chinese
    client.post("/language/", {"language": "en"})
    english = doc(client.post(f"/listings/{listing['id']}/buy", {"quantity": "1"})).form_errors()
    assert Error.INSUFFICIENT_FUNDS.en in english and not CJK.search(english)


def test_the_lockout_page_speaks_english_when_english_is_active(client, buyer, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client.post("/language/", {"language": "en"})
    for i in range(2):
        client.post("/login/", {"username": buyer.username, "password": f"guess-{i}"}, REMOTE_ADDR="10.0.9.1")
    page = client.post("/login/", {"username": buyer.username, "password": "guess-3"}, REMOTE_ADDR="10.0.9.1")
    assert page.status_code == 429
    text = page.content.decode()
    assert Error.LOGIN_LOCKED.en in text and "try again in 15 minutes" in text


def _po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr (singular form) read from the .po file."""
    entries, key, current = {}, None, {}
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current.get("msgid"):
                entries[current["msgid"]] = current.get("msgstr", current.get("msgstr[0]", ""))
            current, key = {}, None
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d+\]) "(.*)"$', line)
        if match:
            key = match.group(1)
            current[key] = match.group(2)
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
    return {
        k.encode().decode("unicode_escape").encode("latin-1").decode("utf-8"): v.encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
        for k, v in entries.items()
    }


def test_the_committed_catalog_is_complete_and_compiled():
    assert "#, fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8")  # fuzzy entries are not compiled
    po = _po_entries(LOCALE / "django.po")
    assert len(po) > 100
    untranslated = [msgid for msgid, msgstr in po.items() if not msgstr]
    assert not untranslated, untranslated[:5]
    with open(LOCALE / "django.mo", "rb") as handle:
        mo = gnu_gettext.GNUTranslations(handle)
    stale = [msgid for msgid, msgstr in po.items() if mo.gettext(msgid) != msgstr]
    assert not stale, f"django.mo is older than django.po (run `make compilemessages`): {stale[:3]}"
