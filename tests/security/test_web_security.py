"""Web security of the pages: a strict Content-Security-Policy header, no inline code, CSRF on
every form, escaped user text (script payloads in listings, chat, card keys, evidence file
names, case text, reviews and sanction reasons), cookie flags, HSTS behind TLS, and a CSV
export that spreadsheets cannot turn into formulas.

The pages are found by crawling: each kind of user starts from its landing pages and follows
every link of the site, so new pages are covered as soon as something links to them. Every
page route must be reached by the crawl, be the target of a crawled form, or be listed in
NOT_PAGES below.
"""

import copy
import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import Resolver404, get_resolver, resolve
from django.urls.resolvers import URLPattern, URLResolver

import builders
from kameng.accounts import email_change

from .conftest import PASSWORD, tiny_png, upload

SKIP_PREFIXES = ("/api/", "/django-admin/", "/static/", "/i18n/", "/healthz", "/metrics")
# Routes that are not pages: POST-only endpoints, downloads, machine endpoints.
NOT_PAGES = {
    *("set_language", "healthz", "metrics", "logout", "language", "download"),
    *("order-message", "order-deliver", "order-pay-balance"),  # POST-only actions of the order page
    "guest-order",  # shown only to the browser that bought or looked up that guest order (test_checkout_pages.py)
    *("merchant-channel-test", "merchant-channel-delete"),  # POST-only buttons (formaction) of /shop/integrations/
}
# Forms whose target is deliberately not CSRF-protected, and why.
CSRF_EXEMPT = {
    # The sandbox payment gateway's own page: it stands for the gateway's external site (a real
    # gateway's page is not ours), needs no login, and "paying" only credits the top-up's owner.
    "sandbox-pay",
}
MAX_PER_ROUTE = 3
PAYLOADS = {
    "script": '<script>alert("xss-script")</script>',
    "img": '"><img src=x onerror=alert("xss-img")>',
    "svg": "'><svg onload=alert('xss-svg')>",
}


class Page(HTMLParser):
    """Links, forms and anything the CSP would refuse (inline scripts, handlers, style attributes)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms, self.problems, self.images = [], [], [], []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        resource = (
            attrs.get("src")
            if tag in ("script", "img", "iframe")
            else (attrs.get("href") if tag == "link" and "stylesheet" in (attrs.get("rel") or "") else None)
        )
        if resource and resource.strip().lower().startswith(("http:", "https:", "//")):
            self.problems.append(f"<{tag}> loads {resource[:60]} from another origin (the CSP refuses it)")
        if tag == "script" and not attrs.get("src") and attrs.get("type") not in ("application/json",):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "form":
            self._form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action"),
                "fields": {},
                "files": [],
            }
            self.forms.append(self._form)
        if self._form is not None and tag in ("input", "textarea", "select", "button") and attrs.get("name"):
            if attrs.get("type") == "file":
                self._form["files"].append(attrs["name"])
            elif attrs.get("type") not in ("submit", "button") or attrs["name"] not in self._form["fields"]:
                self._form["fields"].setdefault(attrs["name"], attrs.get("value") or "1")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def page_routes() -> dict[str, str]:
    """name → route for every page URL (not the API, not the Django admin)."""
    found = {}

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name

    for route, name in walk(get_resolver().url_patterns):
        if not route.startswith(("api/", "django-admin/")):
            found[name or route] = route
    return found


def route_of(path: str) -> str | None:
    try:
        return resolve(urlsplit(path).path).url_name
    except Resolver404:
        return None


def crawl(client: Client, starts: list[str], limit: int = 60):
    """GET every page reachable from `starts`; returns {path: (response, Page)}."""
    seen, per_route, queue, pages = set(), defaultdict(int), list(starts), {}
    while queue and len(pages) < limit:
        path = queue.pop(0)
        split = urlsplit(path)
        if split.netloc or not split.path.startswith("/") or split.path.startswith(SKIP_PREFIXES):
            continue
        path = split.path + (f"?{split.query}" if split.query else "")
        name = route_of(path)
        if path in seen or name in NOT_PAGES or path.endswith("/download"):
            continue
        seen.add(path)
        if per_route[name] >= MAX_PER_ROUTE:
            continue
        per_route[name] += 1
        response = client.get(path)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            pages[path] = (response, None)
            continue
        page = Page()
        page.feed(response.content.decode())
        pages[path] = (response, page)
        queue += [urljoin(path, href) for href in page.links]
    return pages


def as_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def build_payloads(world, api, make_listing, buy) -> dict:
    """The world, plus user text full of script payloads everywhere a page may show it."""
    p = PAYLOADS
    merchant, buyer, admin = world["merchant2"], world["buyer"], world["admin"]
    api.patch(
        f"/listings/{world['listing']['id']}", {"description": f"正版授权 {p['svg']}"}, token=world["merchant"].token
    )
    listing = make_listing(
        merchant,
        title=f"Steam 点卡 {p['script']}",
        description=f"描述 {p['img']}",
        promises=[f"承诺 {p['svg']}"],
        price=3000,
        stock=[f"KEY{p['img']}", f"KEY{p['script']}", "KEY-3"],
    )
    order = buy(buyer, listing)
    api.post(f"/orders/{order['id']}/messages", {"body": f"你好 {p['script']} {p['img']}"}, token=buyer.token)
    api.post(f"/orders/{order['id']}/messages", {"body": f"回复 {p['svg']}"}, token=merchant.token)
    case = api.post(
        "/refunds",
        {"order": order["id"], "reason": "not_as_described", "description": f"不符 {p['script']}", "amount": 3000},
        token=buyer.token,
    ).data
    upload(api, case["id"], buyer, tiny_png(7), f"{p['img']}.png")
    upload(api, case["id"], buyer, "文字证据".encode(), f"{p['script']}.txt")
    api.post(f"/refunds/{case['id']}/reject", {"reason": f"拒绝 {p['img']}"}, token=merchant.token)
    api.post(f"/refunds/{case['id']}/escalate", token=buyer.token)  # to the arbitration queue
    reviewed = buy(buyer, listing)
    api.post(f"/orders/{reviewed['id']}/confirm", token=buyer.token)
    api.post(f"/orders/{reviewed['id']}/review", {"stars": 1, "text": f"差评 {p['svg']}"}, token=buyer.token)
    api.post(
        f"/shops/{merchant.shop_id}/sanction",
        {"status": "restricted", "reason": f"处罚 {p['script']}"},
        token=admin.token,
    )
    # The link of an e-mail change the buyer asked for (its page is reached only from the mail).
    token = email_change.request_change(buyer, PASSWORD, "changed@example.com")
    return {**world, "xss_listing": listing, "xss_order": order, "xss_case": case, "email_token": token}


START_PAGES = {
    "anon": lambda w: [
        "/",
        "/login/",
        "/register/",
        "/rules/",
        f"/merchants/{w['merchant2'].shop_id}/",
        f"/listings/{w['xss_listing']['id']}",
    ],
    "buyer": lambda w: [
        "/",
        "/orders/",
        "/wallet/",
        f"/orders/{w['xss_order']['id']}",
        f"/orders/{w['o1']['id']}",
        f"/orders/{w['o3']['id']}",
        f"/refunds/{w['xss_case']['id']}/complaint/",
        f"/sandbox/pay/{w['topup']['id']}",
        f"/account/email/confirm/{w['email_token']}",
    ],
    "merchant": lambda w: ["/shop/", "/shop/listings/", "/orders/", f"/orders/{w['o3']['id']}"],
    "merchant2": lambda w: [
        "/shop/",
        "/shop/listings/",
        "/orders/",
        f"/orders/{w['xss_order']['id']}",
        f"/shop/listings/{w['xss_listing']['id']}/stock",
    ],
    "arbitrator": lambda w: ["/", "/arbitration/", "/orders/", f"/orders/{w['xss_order']['id']}"],
    "admin": lambda w: ["/", "/staff/", "/orders/", "/staff/sanctions/", "/staff/audit/", "/staff/audit/?q=xss"],
}


def crawl_as_every_role(payload_world) -> dict:
    results = {}
    for role, starts in START_PAGES.items():
        results[role] = crawl(as_client(payload_world[role] if role != "anon" else None), starts(payload_world))
    return results


@pytest.fixture(scope="module")
def _payloads_crawled(_world_built, django_db_blocker):
    """The payloads on top of the module's world and the crawl of them, made once for the two tests that
    read them (they run after the module's other world tests, tests/conftest.py), in a savepoint rolled
    back when they are done. The crawl's pages are only read."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        world = copy.deepcopy(_world_built["world"])
        api = builders.Api(Client())
        payloads = build_payloads(world, api, builders.listing_maker(api), builders.purchaser(api))
        yield payloads, crawl_as_every_role(payloads)
        transaction.set_rollback(True)


@pytest.fixture
def payload_world(_payloads_crawled, db):
    return copy.deepcopy(_payloads_crawled[0])


@pytest.fixture
def crawled(_payloads_crawled, payload_world):
    return _payloads_crawled[1]


def test_pages_send_a_strict_csp_and_carry_no_inline_code_or_unescaped_user_text(crawled):
    """Every crawled page: the CSP header, no inline code, no raw payload; and the crawl covered the site."""
    problems = []
    visited = 0
    for role, pages in crawled.items():
        for path, (response, page) in pages.items():
            if page is None:
                if response.status_code >= 500:
                    problems.append(f"{role} {path}: {response.status_code}")
                continue
            visited += 1
            csp = response.get("Content-Security-Policy", "")
            for directive in (
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "object-src 'none'",
                "frame-ancestors 'none'",
                "base-uri 'self'",
                "form-action 'self'",
            ):
                if directive not in csp:
                    problems.append(f"{role} {path}: CSP lacks {directive!r}: {csp!r}")
            if "unsafe-inline" in csp or "unsafe-eval" in csp:
                problems.append(f"{role} {path}: CSP allows unsafe code: {csp!r}")
            if response.get("X-Frame-Options") != "DENY" or response.get("X-Content-Type-Options") != "nosniff":
                problems.append(f"{role} {path}: framing / sniffing headers missing")
            problems += [f"{role} {path}: {p}" for p in page.problems]
            html = response.content.decode()
            for name, payload in PAYLOADS.items():
                if payload in html:
                    problems.append(f"{role} {path}: payload {name} rendered raw")
    assert visited >= 20, visited
    assert not problems, "\n".join(sorted(set(problems)))

    # The escaped payloads do appear where their text belongs (so the crawl really saw them).
    html = "".join(r.content.decode() for pages in crawled.values() for r, p in pages.values() if p is not None)
    assert "&lt;script&gt;alert(&quot;xss-script&quot;)&lt;/script&gt;" in html
    assert "onerror=alert(&quot;xss-img&quot;)" in html

    # Every page route was reached (as a page, an image, or a form's target) or is declared not a page.
    reached = set()
    for pages in crawled.values():
        for path, (_response, page) in pages.items():
            reached.add(route_of(path))
            for src in page.images if page else []:
                reached.add(route_of(urljoin(path, src)))
            for form in page.forms if page else []:
                reached.add(route_of(urljoin(path, form["action"] or path)))
    missing = sorted(set(page_routes()) - reached - NOT_PAGES)
    assert not missing, (
        f"page routes the crawl never reached (link them, add a start page, or list in NOT_PAGES): {missing}"
    )


def test_the_api_docs_page_loads_everything_from_this_site(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = Page()
    page.feed(response.content.decode())
    assert not page.problems, page.problems
    assert "/static/ninja/" in response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_every_post_form_carries_a_csrf_token_and_fails_without_it(crawled, payload_world):
    forms = {}
    missing_token = []
    for role, pages in crawled.items():
        for path, (_response, page) in pages.items():
            for form in page.forms if page else []:
                if form["method"] != "post":
                    continue
                action = urljoin(path, form["action"] or path)
                if "csrfmiddlewaretoken" not in form["fields"]:
                    missing_token.append(f"{role} {path} → {action}")
                forms.setdefault((role, route_of(action)), (action, form))
    assert not missing_token, missing_token
    assert len({route for _role, route in forms}) >= 10, sorted(forms)
    accepted = []
    for (role, route), (action, form) in sorted(forms.items(), key=lambda kv: str(kv[0])):
        if route in CSRF_EXEMPT:
            continue
        client = Client(enforce_csrf_checks=True)
        if role != "anon":
            client.force_login(payload_world[role])
        data = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
        response = client.post(action, data)
        if response.status_code != 403:
            accepted.append(f"{role} POST {action} without a CSRF token: {response.status_code}")
    assert not accepted, "\n".join(accepted)


def test_session_and_csrf_cookies_are_httponly_and_samesite(client, world):
    page = client.get("/login/")
    token = page.cookies["csrftoken"]
    assert token["httponly"] and token["samesite"] == "Lax" and not token["secure"]
    response = client.post(
        "/login/",
        {"username": world["buyer"].username, "password": "s3cret-pass-123", "csrfmiddlewaretoken": token.value},
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"
    language = client.post("/language/", {"language": "en", "next": "/"}).cookies.get("django_language")
    if language is not None:
        assert language["httponly"] and language["samesite"] == "Lax"


def test_kameng_tls_turns_on_secure_cookies_and_hsts():
    """settings.py reads KAMENG_TLS=1 (a fresh interpreter, since settings are read once)."""
    env = {**os.environ, "KAMENG_TLS": "1", "DJANGO_SETTINGS_MODULE": "kameng.settings"}
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        True,
        True,
        True,
        31536000,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    ]


def test_behind_tls_pages_send_hsts_and_secure_cookies(world):
    client = Client()  # a fresh handler: middleware reads these settings when it is built
    with override_settings(
        SESSION_COOKIE_SECURE=True,
        CSRF_COOKIE_SECURE=True,
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ):
        page = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
        assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert page.cookies["csrftoken"]["secure"]
        response = client.post(
            "/login/",
            {
                "username": world["buyer"].username,
                "password": "s3cret-pass-123",
                "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
            },
            HTTP_X_FORWARDED_PROTO="https",
        )
        assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
        assert "Strict-Transport-Security" not in Client().get("/login/")  # plain HTTP: no HSTS


def test_the_csv_export_neutralises_formulas_and_is_a_download(api, world, make_listing, buy):
    merchant, buyer = world["merchant2"], world["buyer"]
    for title in ('=HYPERLINK("http://evil.example","点我")', "+SUM(A1:A9)", "-2+3", "@cmd", PAYLOADS["script"]):
        buy(buyer, make_listing(merchant, title=title, price=100, stock=["K1"]))
    response = api.client.get("/api/v1/orders/export?format=csv", headers={"Authorization": f"Bearer {buyer.token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    titles = [row[2] for row in rows[1:]]
    for cell in (cell for row in rows[1:] for cell in row):
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
    assert '\'=HYPERLINK("http://evil.example","点我")' in titles
    assert PAYLOADS["script"] in titles  # kept as text: a CSV is not HTML, and it is served as an attachment


def test_downloads_of_user_files_cannot_run_in_the_site_origin(api, world):
    case, item = world["case"], world["text_evidence"]
    response = api.client.get(
        f"/api/v1/refunds/{case['id']}/evidence/{item['id']}/file",
        headers={"Authorization": f"Bearer {world['buyer'].token}"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        "sandbox" in response["Content-Security-Policy"] or "default-src 'none'" in response["Content-Security-Policy"]
    )
