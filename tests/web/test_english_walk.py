"""Every page of every role in English: a crawler signs in as each demo user with English chosen,
follows every link of the site it can reach (GET only), and fails on any Chinese character that
is not data a user typed (shop names, listing texts, chat, case descriptions …)."""

import re
from collections import deque
from urllib.parse import urldefrag, urlparse

import pytest
from django.test import Client

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]+")
# Not pages of the site: the API, files, and Django's own admin (the raw database rows, as stored).
SKIP = re.compile(r"^/(logout|language|api|admin|django-admin|static|media|healthz|metrics)|/(download|file|export)\b")


def _visible(html: str) -> str:
    html = re.sub(r"<script.*?</script>|<style.*?</style>|<textarea.*?</textarea>", "", html, flags=re.S)
    # Kept in Chinese on purpose, and marked so (lang="zh" / "zh-Hans"): the language switch's own
    # name, quoted Chinese wording (a void clause), documents filed as they are (evidence files, the
    # complaint to a Chinese authority), a rule's text in the other language next to it (lang="en" on a Chinese page).
    html = re.sub(r'<(\w+)[^>]*\blang="(?:zh|zh-Hans|en)"[^>]*>.*?</\1>', "", html, flags=re.S)
    # <q>: a quotation of what a user wrote (a promise, a finding the assist quotes).
    html = re.sub(r"<q\b[^>]*>.*?</q>", "", html, flags=re.S)
    import html as htmllib

    return htmllib.unescape(re.sub(r"<[^>]+>", "\n", html))


def _typed_data() -> list[str]:
    from kameng.accounts.models import User
    from kameng.aftersales.models import RefundCase
    from kameng.catalog.models import Listing, Shop
    from kameng.evidence.models import CaseAnalysis, EvidenceExtract
    from kameng.orders.models import Message, Order

    found: list[str] = []
    for shop in Shop.objects.all():
        found += [shop.name, shop.description]
    for listing in Listing.objects.all():
        found += [listing.title, listing.description, *listing.promises]
    found += list(Message.objects.values_list("body", flat=True))
    found += [c or "" for c in Order.objects.values_list("delivery_content", flat=True)]
    for case in RefundCase.objects.all():
        found += [case.description, case.rejection_reason]
        found += [(case.decision or {}).get("rationale") or "", (case.appeal or {}).get("reason") or ""]
    # The assist quotes what the buyer wrote or a screenshot showed (findings, promises).
    for analysis in CaseAnalysis.objects.all():
        found += [f.get("text", "") for f in analysis.result.get("findings", [])]
    found += list(EvidenceExtract.objects.values_list("text", flat=True))
    for user in User.objects.all():
        found += [user.real_name, user.address]
    return [s for s in found if s]


def _page_key(path: str) -> str:
    """The page a path shows: `next=` only says where to go after signing in, so /login/?next=A and
    /login/?next=B are one page. (The login and register pages link each other with the current
    `next` nested in a new one: the anonymous walk used to spend 363 of its 400 pages on them.)"""
    parsed = urlparse(path)
    query = "&".join(p for p in parsed.query.split("&") if p and not p.startswith("next="))
    return parsed.path + (f"?{query}" if query else "")


# Pages every signed-in user of a kind sees alike (the market, a listing, a shop's record, the rules):
# walked by the first of the demo's users of that kind only (buyer1 for the three buyers, merchant1 for
# the four merchants, arbitrator for both arbitrators). Their own pages (orders, cases, wallet, …) every
# user walks, and so each merchant its own shop's listings and record (they read differently to their
# owner: is_owner), and the start page. Measured: 499 -> 368 pages in English; every (kind of user,
# view) pair of the full walk (82) and every template it rendered (74) still reached.
PUBLIC_VIEWS = {"home", "listing", "trust-merchant", "trust-rules", "trust-agreement", "trust-precedents", "guest-buy"}


def _public(path: str, username: str) -> bool:
    from django.urls import Resolver404, resolve

    from kameng.catalog.models import Listing, Shop

    try:
        match = resolve(urlparse(path).path)
    except Resolver404:
        return False
    if path == "/" or match.url_name not in PUBLIC_VIEWS:
        return False
    if "listing_id" in match.kwargs:
        return not Listing.objects.filter(pk=match.kwargs["listing_id"], shop__owner__username=username).exists()
    if "shop_id" in match.kwargs:
        return not Shop.objects.filter(pk=match.kwargs["shop_id"], owner__username=username).exists()
    return True


def _walk(
    client: Client, start: list[str], limit: int = 400, walked: set[str] | None = None, username: str = ""
) -> dict[str, str]:
    """Every page reachable from `start` (GET); a public page whose key is in `walked` (a user of the same
    kind walked it) is neither fetched nor followed, and the public pages this walk reaches join `walked`."""
    seen: dict[str, str] = {}
    visited: set[str] = set()
    queue = deque(start)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or _page_key(path) in visited or SKIP.search(path):
            continue
        visited.add(_page_key(path))
        if walked is not None and _public(path, username):
            if _page_key(path) in walked:
                continue
            walked.add(_page_key(path))
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            seen[path] = ""
            continue
        html = response.content.decode()
        seen[path] = html
        for href in re.findall(r'href="([^"]+)"', html):
            href = urldefrag(href)[0]
            parsed = urlparse(href)
            if parsed.netloc or not parsed.path.startswith("/"):
                continue
            target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if target not in seen:
                queue.append(target)
    return seen


def _codes() -> re.Pattern:
    """The stored codes a person must never read: every status, phase, reason, resolution, outcome,
    event, category and class code that is a snake_case word (plain words such as `paid` or
    `frozen` are English too, and are checked on Chinese pages by RAW_WORDS)."""
    from kameng.aftersales import lifecycle as case_lifecycle
    from kameng.aftersales.models import CaseStatus, Outcome, Phase, Reason, Resolution
    from kameng.orders.lifecycle import EscrowStatus, Event, OrderStatus
    from kameng.policy.defaults import CATEGORIES

    codes = {
        str(c)
        for enum in (CaseStatus, Outcome, Phase, Reason, Resolution, EscrowStatus, Event, OrderStatus)
        for c in enum
    }
    codes |= {str(r.event) for r in case_lifecycle.ROWS if r.event}
    codes |= set(CATEGORIES) | {str(c.get("class", "")) for c in CATEGORIES.values()}
    snake = sorted((c for c in codes if "_" in c), key=len, reverse=True)
    return re.compile(r"(?<![\w/.#-])(" + "|".join(map(re.escape, snake)) + r")(?![\w/.-])")


# On Chinese pages an English status word is a code shown raw (`delivered`, `frozen`, `system`).
RAW_WORDS = re.compile(
    r"(?<![\w/.#-])(paid|delivered|completed|refunded|frozen|held|released|escrow|system|standardized|customized)(?![\w/.-])"
)


def _roles():
    from kameng.demo import BUYERS, MERCHANTS, STAFF

    return ["", *BUYERS, *MERCHANTS, *(s for s, _ in STAFF)]


@pytest.fixture(scope="module")
def demo_pages(django_db_setup, django_db_blocker):
    """The demo marketplace, walked once per language when a test first asks for that language:
    {"walk": language -> {(user, path): html}, …} plus the typed data to allow. Loaded in a
    transaction rolled back at the end of the module. Walking lazily lets xdist give the English
    and the Chinese tests to different workers, each walking only its own language."""
    from django.db import transaction

    from kameng.demo import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        pages: dict[str, dict[tuple[str, str], str]] = {}

        def walk(language: str) -> dict[tuple[str, str], str]:
            if language not in pages:
                with django_db_blocker.unblock():
                    pages[language] = _walk_as_every_role(language)
            return pages[language]

        typed = sorted(set(_typed_data()), key=len, reverse=True)
        evidence_texts = _system_evidence_texts()
        codes = _codes()
        yield {"walk": walk, "typed": typed, "evidence": evidence_texts, "codes": codes}
        transaction.set_rollback(True)


def _kind(username: str) -> str | None:
    """The kind of user whose public pages read alike (None: the anonymous walk)."""
    from kameng.demo import BUYERS, MERCHANTS, STAFF

    if username in BUYERS:
        return "buyer"
    if username in MERCHANTS:
        return "merchant"
    return next((role for name, role in STAFF if name == username), None)


def _walk_as_every_role(language: str) -> dict[tuple[str, str], str]:
    from kameng.accounts.models import User

    walked: dict[tuple[str, str], str] = {}
    public_walked: dict[str, set[str]] = {}  # kind of user -> the public pages one of them walked
    for username in _roles():
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        if username:
            user = User.objects.get(username=username)
            user.language = language
            user.save(update_fields=["language"])
            client.force_login(user)
        client.cookies["django_language"] = language
        kind = _kind(username)
        shared = public_walked.setdefault(kind, set()) if kind else None
        for path, html in _walk(client, ["/"], walked=shared, username=username).items():
            walked[(username or "anon", path)] = html
    return walked


def _system_evidence_texts() -> dict[str, str]:
    """The text files the platform itself wrote as evidence (snapshots, transactions, chat logs)."""
    from kameng.evidence.models import Evidence

    texts = {}
    for item in Evidence.objects.filter(source="system", content_type__startswith="text/"):
        with item.open() as handle:
            texts[f"evidence {item.pk} {item.filename}"] = handle.read().decode("utf-8-sig")
    return texts


def _lines(demo, language: str, strip_typed: bool):
    for (who, path), html in demo["walk"](language).items():
        text = _visible(html)
        if strip_typed:
            for chunk in demo["typed"]:
                text = text.replace(chunk, " ")
        for line in text.splitlines():
            if line.strip():
                yield f"{who} {path}", line.strip()


def _report(hits: dict[str, set[str]]) -> str:
    return "\n".join(f"{line[:140]}   <- {sorted(where)[:3]}" for line, where in sorted(hits.items()))


def test_every_page_of_every_role_is_english(demo_pages):
    assert len(demo_pages["walk"]("en")) > 150  # the walk reached the site, not just the home page
    hits: dict[str, set[str]] = {}
    for where, line in _lines(demo_pages, "en", strip_typed=True):
        if CJK.search(line):
            hits.setdefault(line, set()).add(where)
    assert not hits, _report(hits)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_shows_a_raw_code(demo_pages, language):
    codes = demo_pages["codes"]
    hits: dict[str, set[str]] = {}
    for where, line in _lines(demo_pages, language, strip_typed=True):
        found = codes.search(line) or (language == "zh-hans" and RAW_WORDS.search(line))
        if found:
            hits.setdefault(f"[{found[0]}] {line}", set()).add(where)
    assert not hits, _report(hits)


def test_the_evidence_files_the_platform_writes_show_no_raw_code(demo_pages):
    assert demo_pages["evidence"], "the demo's cases carry snapshots, transactions and chat logs"
    codes = demo_pages["codes"]
    hits = {
        line: {name}
        for name, text in demo_pages["evidence"].items()
        for line in text.splitlines()
        if codes.search(line) or RAW_WORDS.search(line)
    }
    assert not hits, _report(hits)
