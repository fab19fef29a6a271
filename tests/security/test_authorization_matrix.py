"""Authorization matrix: every API route × every kind of caller.

The routes come from the URL configuration (every django-ninja operation mounted under
/api/v1/, including those hidden from the OpenAPI document); the expected answer for each
caller comes from MATRIX below. A route missing from MATRIX fails the test, so a new route
cannot ship without saying who may call it.

Callers: anon, buyer (the owner of the order and case), buyer2 (another buyer), merchant (the
shop's owner), merchant2 (another merchant), arbitrator, admin. Expected answers:
  OK   the call passes authorization: 2xx for reads; for actions anything but 401/403/404
       (a 409 because the state does not allow it still means the caller was allowed to try)
  401  no token
  403  the caller can see the object but may not do this
  404  the caller may not see the object
And whatever the answer, no body carries a secret its caller may not see (card keys, delivery
content, chat, evidence bytes, the buyer's phone number, order numbers, tokens, password hashes).
"""

import json
from itertools import count

from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver
from ninja.operation import PathView

from .conftest import (
    CHAT_SECRET,
    DELIVERY_SECRET,
    EVIDENCE_SECRET,
    PARTIES_AND_STAFF,
    PASSWORD,
    PHONE,
    ROLES,
    SOLD_KEY,
    UNSOLD_KEYS,
    tiny_png,
)

OK = "ok"
EVERYONE = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**EVERYONE, "anon": 401}


def only(*allowed, seen_by=(), hidden_from=()):
    """`allowed` may act; callers in `hidden_from` get 404; every other signed-in caller 403."""
    table = {"anon": 401}
    for role in ROLES[1:]:
        table[role] = OK if role in allowed else 404 if role in hidden_from else 403
    return table


OUTSIDERS = ("buyer2", "merchant2")
ORDER_READ = only("buyer", "merchant", "arbitrator", "admin", hidden_from=OUTSIDERS)
CASE_READ = ORDER_READ
MERCHANT_ACTION = only("merchant", hidden_from=OUTSIDERS)
BUYER_ACTION = only("buyer", hidden_from=OUTSIDERS)
PARTY_ACTION = only("buyer", "merchant", hidden_from=OUTSIDERS)
ARBITRATOR_ACTION = only("arbitrator", hidden_from=OUTSIDERS)
STAFF_ONLY = only("arbitrator", "admin")
ADMIN_ONLY = only("admin")
SHOP_OWNER = only("merchant")  # listings are public: anyone else signed in gets 403

MATRIX = {
    ("POST", "/auth/register"): EVERYONE,
    ("POST", "/auth/token"): EVERYONE,
    ("GET", "/me"): SIGNED_IN,
    ("GET", "/auth/challenge"): EVERYONE,
    ("POST", "/auth/logout"): SIGNED_IN,
    ("POST", "/me/password"): SIGNED_IN,
    ("POST", "/shops"): only("merchant", "merchant2"),
    ("GET", "/shops/{shop_id}"): EVERYONE,
    ("POST", "/listings"): only("merchant", "merchant2"),
    ("GET", "/listings"): EVERYONE,
    ("PATCH", "/listings/{listing_id}"): SHOP_OWNER,
    ("GET", "/listings/{listing_id}"): EVERYONE,
    ("POST", "/listings/{listing_id}/stock"): SHOP_OWNER,
    ("GET", "/wallet"): SIGNED_IN,
    ("POST", "/wallet/topups"): SIGNED_IN,
    ("POST", "/wallet/withdrawals"): only("buyer", "buyer2", "merchant", "merchant2"),
    ("GET", "/wallet/topups/{topup_id}"): only("buyer", hidden_from=ROLES[2:]),
    ("GET", "/wallet/withdrawals/{withdrawal_id}"): only("merchant", hidden_from=ROLES[1:]),
    ("POST", "/payments/notify/{gateway}"): EVERYONE,  # signed by the gateway, not by a user
    ("GET", "/payments/notify/{gateway}"): dict.fromkeys(ROLES, 404),
    ("POST", "/payments/{out_trade_no}/recheck"): ADMIN_ONLY,  # by GET only 易支付 (off until configured)
    ("POST", "/orders"): only("buyer", "buyer2"),
    ("GET", "/orders"): SIGNED_IN,
    ("GET", "/orders/export"): SIGNED_IN,
    ("GET", "/orders/{order_id}"): ORDER_READ,
    ("POST", "/orders/{order_id}/deliver"): only("merchant", hidden_from=OUTSIDERS),
    ("POST", "/orders/{order_id}/confirm"): BUYER_ACTION,
    ("POST", "/orders/{order_id}/pay_balance"): BUYER_ACTION,
    ("POST", "/guest/orders"): EVERYONE,  # no token: a guest's direct checkout (tests/orders/test_guest_checkout.py)
    ("POST", "/guest/lookup"): EVERYONE,  # 查单 by number + query password; wrong → 404
    ("POST", "/orders/{order_id}/messages"): PARTY_ACTION,
    ("GET", "/orders/{order_id}/messages"): ORDER_READ,
    ("POST", "/refunds"): {**only("buyer", hidden_from=("buyer2",))},
    ("GET", "/refunds"): SIGNED_IN,
    ("GET", "/arbitration/queue"): STAFF_ONLY,
    ("GET", "/refunds/{case_id}"): CASE_READ,
    ("POST", "/refunds/{case_id}/accept"): MERCHANT_ACTION,
    ("POST", "/refunds/{case_id}/offer"): MERCHANT_ACTION,
    ("POST", "/refunds/{case_id}/reject"): MERCHANT_ACTION,
    ("POST", "/refunds/{case_id}/accept_offer"): BUYER_ACTION,
    ("POST", "/refunds/{case_id}/replace"): MERCHANT_ACTION,
    ("POST", "/refunds/{case_id}/accept_replacement"): BUYER_ACTION,
    ("POST", "/refunds/{case_id}/escalate"): BUYER_ACTION,
    ("POST", "/refunds/{case_id}/withdraw"): BUYER_ACTION,
    ("POST", "/refunds/{case_id}/claim"): ARBITRATOR_ACTION,
    ("POST", "/refunds/{case_id}/decide"): ARBITRATOR_ACTION,
    ("POST", "/refunds/{case_id}/respond_compromise"): PARTY_ACTION,
    ("POST", "/refunds/{case_id}/appeal"): PARTY_ACTION,
    ("POST", "/refunds/{case_id}/accept_decision"): PARTY_ACTION,
    ("POST", "/refunds/{case_id}/evidence"): only("buyer", "merchant", "arbitrator", hidden_from=OUTSIDERS),
    ("GET", "/refunds/{case_id}/evidence/manifest"): CASE_READ,
    ("GET", "/refunds/{case_id}/evidence/{evidence_id}/file"): CASE_READ,
    ("GET", "/refunds/{case_id}/evidence/{evidence_id}/preview"): CASE_READ,
    ("GET", "/notifications"): SIGNED_IN,
    ("GET", "/refunds/{case_id}/assist"): only("arbitrator", "admin", hidden_from=OUTSIDERS),
    ("GET", "/refunds/{case_id}/complaint"): BUYER_ACTION,
    ("GET", "/refunds/{case_id}/complaint/channels"): BUYER_ACTION,
    ("GET", "/policies"): EVERYONE,
    ("GET", "/stats"): EVERYONE,
    ("GET", "/precedents"): EVERYONE,  # anonymized: no names, shops, orders, contacts or evidence
    ("GET", "/arbitration/consistency"): ADMIN_ONLY,
    ("GET", "/shops/{shop_id}/credit"): EVERYONE,
    ("GET", "/shops/{shop_id}/reviews"): EVERYONE,
    # Reviews are on O2, which never had a case: arbitrators do not see it at all.
    ("POST", "/orders/{order_id}/review"): only("buyer", hidden_from=(*OUTSIDERS, "arbitrator")),
    ("GET", "/orders/{order_id}/review"): only("buyer", "merchant", "admin", hidden_from=(*OUTSIDERS, "arbitrator")),
    ("POST", "/shops/{shop_id}/sanction"): ADMIN_ONLY,
    ("GET", "/shops/{shop_id}/sanctions"): only("merchant", "arbitrator", "admin"),
    ("GET", "/sanctions"): STAFF_ONLY,
    ("GET", "/test/clock"): ADMIN_ONLY,
    ("POST", "/test/clock/advance"): ADMIN_ONLY,
    ("GET", "/audit"): ADMIN_ONLY,
    # Card-key inventory (issue 17.2)
    ("POST", "/listings/{listing_id}/stock/import"): SHOP_OWNER,
    ("POST", "/listings/{listing_id}/stock/void"): SHOP_OWNER,
    ("GET", "/listings/{listing_id}/stock/export"): SHOP_OWNER,
    # Merchants' integrations (issue 17.4, 17.5): each merchant has their own channels and webhooks
    ("GET", "/notifications/channels"): only("merchant", "merchant2"),
    ("PUT", "/notifications/channels/{kind}"): only("merchant", "merchant2"),
    ("DELETE", "/notifications/channels/{kind}"): only("merchant", "merchant2"),
    ("POST", "/notifications/channels/{kind}/test"): only("merchant", "merchant2"),
    ("GET", "/notifications/dispatches"): only("merchant", "merchant2"),
    ("POST", "/notifications/dispatches/{dispatch_id}/resend"): only("merchant", hidden_from=("merchant2",)),
    ("POST", "/webhooks"): only("merchant", "merchant2"),
    ("GET", "/webhooks"): only("merchant", "merchant2"),
    ("DELETE", "/webhooks/{webhook_id}"): only("merchant", hidden_from=("merchant2",)),
    ("GET", "/webhooks/{webhook_id}/deliveries"): only("merchant", hidden_from=("merchant2",)),
    ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"): only("merchant", hidden_from=("merchant2",)),
    # Statements and commission (issue 17.6): every wallet has its own statement
    ("GET", "/wallet/statement"): SIGNED_IN,
    ("GET", "/stats/commission"): ADMIN_ONLY,
}


# Secrets and who may see them (anyone else must never find them in any answer).
def secrets(world) -> dict[str, set[str]]:
    tokens = {world[r].token: set() for r in ROLES[1:]}
    return {
        SOLD_KEY: {"buyer", "merchant"},
        **{key: set() for key in UNSOLD_KEYS},
        DELIVERY_SECRET: {"buyer", "merchant"},
        CHAT_SECRET: PARTIES_AND_STAFF,
        EVIDENCE_SECRET: PARTIES_AND_STAFF,
        PHONE: {"buyer"},
        world["o1"]["number"]: PARTIES_AND_STAFF,
        world["o3"]["number"]: {"buyer", "merchant", "admin"},
        **tokens,
        "md5$": set(),
        "pbkdf2_sha256$": set(),
        "argon2$": set(),
        world["webhook"]["secret"]: set(),  # shown once, to its merchant, when it was made
        world["channel_url"]: set(),  # shown masked only
    }


def api_routes() -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) for every django-ninja operation mounted under /api/v1/."""
    found = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback

    for route, view in walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        cells = [c.cell_contents for c in (getattr(view, "__closure__", None) or ())]
        path_view = next((c for c in cells if isinstance(c, PathView)), None)
        if path_view is None:
            continue  # the OpenAPI document and the docs page
        path = "/" + route.removeprefix("api/v1/").replace("<", "{").replace(">", "}")
        for operation in path_view.operations:
            for method in operation.methods:
                found.add((method.upper(), path))
    return found


def test_every_api_route_has_a_row_in_the_matrix():
    routes = api_routes()
    assert len(routes) > 50, routes  # the walk really found the API
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an authorization row in MATRIX (add one): {missing}"
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"


def _params(world, path):
    order = world["o2"] if path.startswith("/orders/{order_id}/review") else world["o1"]
    return {
        "shop_id": world["merchant"].shop_id,
        "listing_id": world["listing"]["id"],
        "topup_id": world["topup"]["id"],
        "withdrawal_id": world["withdrawal"]["id"],
        "out_trade_no": world["topup"]["out_trade_no"],
        "gateway": "sandbox",
        "order_id": order["id"],
        "case_id": world["case"]["id"],
        "evidence_id": world["png_evidence"]["id"] if path.endswith("preview") else world["text_evidence"]["id"],
        "kind": "json",
        # the one the DELETE removes is not the one whose deliveries the other rows read
        "webhook_id": world["spare_webhook"]["id"] if path == "/webhooks/{webhook_id}" else world["webhook"]["id"],
        "delivery_id": world["delivery_id"],
        "dispatch_id": world["dispatch_id"],
    }


_n = count()


def _body(method, path, world, role):
    n = next(_n)
    bodies = {
        "/auth/register": {"username": f"matrix-{role}-{n}", "password": "a-long-passphrase-9", "role": "buyer"},
        "/auth/token": {"username": world["buyer"].username, "password": PASSWORD},
        # A wrong current password: authorized to try (400), and every caller keeps its token.
        "/me/password": {"current_password": "not-the-password", "new_password": "another-passphrase-7"},
        "/shops": {"name": "又一家店", "description": ""},
        "/listings": {
            "title": "Steam 充值卡",
            "category": "gift_card",
            "kind": "card_key",
            "price": 1000,
            "description": "自动发卡",
            "promises": [],
            "after_sale_days": 7,
            "verification_minutes": 60,
            "no_reason_refund": False,
        },
        "/listings/{listing_id}": {"price": 9900},
        "/listings/{listing_id}/stock": {"items": [f"NEW-KEY-{role}-{n}"]},
        "/wallet/topups": {"amount": 100},
        "/wallet/withdrawals": {"amount": 1},
        "/orders": {"listing": world["listing"]["id"]},
        "/orders/{order_id}/deliver": {"content": "已交付"},
        "/orders/{order_id}/messages": {"body": "你好"},
        "/refunds": {"order": world["o1"]["id"], "reason": "defective", "description": "无法激活", "amount": 100},
        "/refunds/{case_id}/offer": {"amount": 100},
        "/refunds/{case_id}/reject": {"reason": "卡密已被使用，无法退款"},
        "/refunds/{case_id}/decide": {"outcome": "no_refund", "rationale": "依据类目规则与双方证据作出裁决，不予退款"},
        "/refunds/{case_id}/respond_compromise": {"accept": True},
        "/refunds/{case_id}/appeal": {"reason": "有新证据"},
        "/orders/{order_id}/review": {"stars": 4, "text": "还行"},
        "/shops/{shop_id}/sanction": {"status": "active", "reason": "授权矩阵检查"},
        "/test/clock/advance": {"seconds": 0},
        "/listings/{listing_id}/stock/void": {"items": ["NO-SUCH-KEY"]},
        "/notifications/channels/{kind}": {"url": "jsons://1.1.1.1/notify"},
        "/webhooks": {"url": "https://1.1.1.1/hook", "events": ["order.paid"]},
    }
    return bodies.get(path, {})


def _call(api, world, role, method, path):
    url = "/api/v1" + path.format(**_params(world, path))
    headers = {"Authorization": f"Bearer {world[role].token}"} if role != "anon" else {}
    if path == "/auth/logout" and role != "anon":  # log out a token of its own, not the one the walk uses
        from kameng.accounts.services import issue_token

        headers = {"Authorization": f"Bearer {issue_token(world[role])}"}
    if path == "/refunds/{case_id}/complaint":
        url += "?channel=12315"
    if path == "/refunds/{case_id}/evidence":
        from django.core.files.uploadedfile import SimpleUploadedFile

        return api.client.post(
            url, {"file": SimpleUploadedFile("shot.png", tiny_png(next(_n))), "category": "problem"}, headers=headers
        )
    if path == "/payments/notify/{gateway}" and method == "POST":
        return api.client.post(
            url,
            data=b'{"topup": "1", "amount": 1}',
            content_type="application/json",
            headers={**headers, "X-Sandbox-Signature": "forged"},
        )
    if method == "GET":
        return api.client.get(url, headers=headers)
    return getattr(api.client, method.lower())(
        url, data=json.dumps(_body(method, path, world, role)), content_type="application/json", headers=headers
    )


def _body_bytes(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_each_caller_gets_exactly_what_the_matrix_says_and_nothing_leaks(api, world):
    hidden = secrets(world)
    failures, leaks = [], []
    # Denied callers first: the allowed ones may change the state (a merchant's accept closes the case).
    order = sorted(ROLES, key=lambda r: 0 if r == "anon" else 1)
    for (method, path), table in sorted(MATRIX.items(), key=lambda kv: (kv[0][0] != "GET", kv[0][1])):
        for role in sorted(order, key=lambda r: table[r] == OK):
            response = _call(api, world, role, method, path)
            body = _body_bytes(response)
            expected = table[role]
            status = response.status_code
            if status >= 500:
                failures.append(f"{method} {path} as {role}: {status} {body[:200]!r}")
            elif expected == OK:
                if status in (401, 403, 404) or (method == "GET" and status != 200):
                    failures.append(f"{method} {path} as {role}: {status}, expected to pass {body[:200]!r}")
            elif status != expected:
                failures.append(f"{method} {path} as {role}: {status}, expected {expected} {body[:200]!r}")
            if status >= 400 and response.get("Content-Type", "").startswith("application/json"):
                error = json.loads(body).get("error", {})
                if set(error) != {"type", "code", "message", "param", "request_id"}:
                    failures.append(f"{method} {path} as {role}: error not in the contract's shape: {body[:200]!r}")
            text = body.decode("utf-8", "replace")
            for secret, allowed in hidden.items():
                if role not in allowed and secret in text:
                    leaks.append(f"{method} {path} as {role} shows {secret[:20]!r}")
    assert not failures, "\n".join(failures)
    assert not leaks, "\n".join(leaks)
