"""The builders behind tests/conftest.py's fixtures (api, make_user, make_listing, fund, buy) as plain
functions, for fixtures of a wider scope than one test (tests/security's `world`, built once per module)."""

import json
from collections.abc import Callable
from typing import Any

PASSWORD = "s3cret-pass-123"


class Api:
    """Thin JSON client over Django's test client, with bearer tokens."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, body=None, token=None, headers=None, **extra):
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        kwargs = {"headers": hdrs, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        try:
            response.data = response.json()
        except ValueError:
            response.data = None
        return response

    def get(self, path, token=None, **kw):
        return self.call("get", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.call("post", path, body if body is not None else {}, token=token, **kw)

    def patch(self, path, body=None, token=None, **kw):
        return self.call("patch", path, body, token=token, **kw)


def user_maker(made: int = 0) -> Callable[..., Any]:
    """make(role, username=None, password=…) -> a user with a bearer token (user.token), named role + a
    number counted on from `made` (the users an earlier builder of the same database made)."""
    counter = {"n": made}

    def make(role="buyer", username=None, password=PASSWORD):
        from kameng.accounts.services import create_user, issue_token

        counter["n"] += 1
        user = create_user(username or f"{role}{counter['n']}", password, role, validate=False)
        user.token = issue_token(user)
        return user

    make.counter = counter
    return make


def listing_maker(api: Api) -> Callable[..., dict]:
    def make(merchant, **overrides):
        body = {
            "title": "Windows 11 专业版激活码",
            "category": "software_license",
            "kind": "card_key",
            "price": 9900,
            "description": "正版授权，24小时内激活",
            "promises": ["100%稳定激活", "24小时内激活"],
            "after_sale_days": 7,
            "verification_minutes": 1440,
            "no_reason_refund": False,
        }
        body.update(overrides)
        stock = body.pop("stock", None)
        res = api.post("/listings", body, token=merchant.token)
        assert res.status_code == 201, res.data
        if body["kind"] == "card_key":
            items = stock if stock is not None else [f"KEY-{res.data['id']}-{i:04d}" for i in range(5)]
            if items:
                added = api.post(f"/listings/{res.data['id']}/stock", {"items": items}, token=merchant.token)
                assert added.status_code == 200, added.data
        return res.data

    return make


def funder(api: Api) -> Callable[[Any, int], str]:
    """Top up a user's wallet through the real sandbox flow."""

    def top_up(user, amount):
        res = api.post("/wallet/topups", {"amount": amount}, token=user.token)
        assert res.status_code == 201, res.data
        paid = api.client.post(
            f"/sandbox/pay/{res.data['id']}",
            headers={"Accept": "application/json", "Authorization": f"Bearer {user.token}"},
        )
        assert paid.status_code == 200, paid.content
        return res.data["id"]

    return top_up


def purchaser(api: Api) -> Callable[..., dict]:
    def purchase(buyer, listing, **extra):
        res = api.post("/orders", {"listing": listing["id"], **extra}, token=buyer.token)
        assert res.status_code == 201, res.data
        return res.data

    return purchase
