"""API-wide conventions under /api/v1: the error shape (404/405/500 too), Idempotency-Key, cursor pagination."""

import json

import pytest
from django.test import Client

ERROR_KEYS = {"type", "code", "message", "param", "request_id"}


def assert_error_shape(res, status):
    assert res.status_code == status
    assert res["Content-Type"].startswith("application/json")
    body = json.loads(res.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["message"]
    return body["error"]


def test_unknown_path_is_404_in_the_error_shape(api, db):
    err = assert_error_shape(api.get("/no/such/thing"), 404)
    assert err["type"] == "not_found"
    assert assert_error_shape(api.get("/listings/999999"), 404)["type"] == "not_found"
    assert assert_error_shape(api.get("/listings/not-a-number"), 404)["type"] == "not_found"


def test_wrong_method_is_405_in_the_error_shape(api, db):
    res = api.call("delete", "/listings")
    err = assert_error_shape(res, 405)
    assert err["type"] == "invalid_request"
    assert "GET" in res["Allow"] and "POST" in res["Allow"]
    assert_error_shape(api.call("put", "/wallet/topups"), 405)


def test_unhandled_error_is_500_in_the_error_shape(api, buyer, monkeypatch):
    import kameng.api.accounts as accounts_api

    def explode(user):
        raise RuntimeError("boom: internal detail that must not leak")

    monkeypatch.setattr(accounts_api, "user_out", explode)
    client = Client(raise_request_exception=False)
    res = client.get("/api/v1/me", headers={"Authorization": f"Bearer {buyer.token}"})
    err = assert_error_shape(res, 500)
    assert err["type"] == "api_error"
    assert b"boom" not in res.content


def test_validation_errors_name_the_field(api, buyer):
    err = assert_error_shape(api.post("/wallet/topups", {"amount": "lots"}, token=buyer.token), 400)
    assert err["type"] == "invalid_request"
    assert err["param"] == "amount"
    res = api.client.post(
        "/api/v1/wallet/topups",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    assert_error_shape(res, 400)


def test_pages_outside_the_api_keep_their_own_404(db, client):
    res = client.get("/definitely-not-a-page/")
    assert res.status_code == 404
    assert not res["Content-Type"].startswith("application/json")


# ---- Idempotency-Key ----------------------------------------------------------------------


def test_repeated_post_with_the_same_key_replays_the_first_answer(api, buyer, merchant, make_listing, fund):
    listing = make_listing(merchant, price=1000)
    fund(buyer, 5000)
    headers = {"Idempotency-Key": "order-abc-1"}
    first = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    assert first.status_code == 201
    second = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    assert second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert len(api.get("/orders", token=buyer.token).data["data"]) == 1
    assert api.get("/wallet", token=buyer.token).data["balance"] == 4000


def test_same_key_with_a_different_body_is_an_idempotency_error(api, buyer, merchant, make_listing, fund):
    listing = make_listing(merchant, price=1000)
    fund(buyer, 5000)
    headers = {"Idempotency-Key": "order-abc-2"}
    api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    res = api.post("/orders", {"listing": listing["id"], "quantity": 2}, token=buyer.token, headers=headers)
    err = assert_error_shape(res, 409)
    assert err["type"] == "idempotency_error"
    assert len(api.get("/orders", token=buyer.token).data["data"]) == 1


def test_error_answers_are_replayed_too(api, buyer, merchant, make_listing):
    listing = make_listing(merchant, price=1000)
    headers = {"Idempotency-Key": "poor-1"}
    first = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    assert first.status_code == 402
    second = api.post("/orders", {"listing": listing["id"]}, token=buyer.token, headers=headers)
    assert second.status_code == 402
    assert second.content == first.content


def test_keys_are_per_caller(api, make_user):
    alice, bob = make_user("buyer"), make_user("buyer")
    headers = {"Idempotency-Key": "shared-key"}
    a = api.post("/wallet/topups", {"amount": 100}, token=alice.token, headers=headers)
    b = api.post("/wallet/topups", {"amount": 100}, token=bob.token, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.data["id"] != b.data["id"]


def test_without_a_key_each_post_acts(api, buyer):
    a = api.post("/wallet/topups", {"amount": 100}, token=buyer.token)
    b = api.post("/wallet/topups", {"amount": 100}, token=buyer.token)
    assert a.data["id"] != b.data["id"]


def test_confirm_with_a_key_releases_once(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=1000)
    fund(buyer, 1000)
    order = buy(buyer, listing)
    headers = {"Idempotency-Key": "confirm-1"}
    for _ in range(3):
        res = api.post(f"/orders/{order['id']}/confirm", token=buyer.token, headers=headers)
        assert res.status_code == 200
    assert api.get("/wallet", token=merchant.token).data["balance"] == 1000


# ---- cursor pagination ----------------------------------------------------------------------


def test_cursor_pagination_walks_every_item_once(api, merchant, make_listing):
    ids = [make_listing(merchant, title=f"分页商品 {i}", stock=[])["id"] for i in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=3" + (f"&starting_after={cursor}" if cursor else "")
        page = api.get(f"/listings{query}").data
        pages += 1
        assert len(page["data"]) <= 3
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert pages == 3
    assert sorted(seen, key=int) == sorted(ids, key=int)
    assert len(seen) == len(set(seen))
    assert seen == sorted(ids, key=int, reverse=True)  # newest first


def test_default_limit_is_20_and_has_more_says_so(api, merchant, make_listing):
    for i in range(21):
        make_listing(merchant, title=f"默认分页 {i}", stock=[])
    page = api.get("/listings").data
    assert len(page["data"]) == 20
    assert page["has_more"] is True
    last = api.get(f"/listings?starting_after={page['data'][-1]['id']}").data
    assert len(last["data"]) == 1
    assert last["has_more"] is False


@pytest.mark.parametrize(
    "query,param", [("limit=0", "limit"), ("limit=101", "limit"), ("starting_after=abc", "starting_after")]
)
def test_bad_pagination_parameters_are_400(api, db, query, param):
    err = assert_error_shape(api.get(f"/listings?{query}"), 400)
    assert err["param"] == param


def test_orders_and_messages_paginate_the_same_way(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant, price=100)
    fund(buyer, 1000)
    orders = [buy(buyer, listing)["id"] for _ in range(3)]
    page = api.get("/orders?limit=2", token=buyer.token).data
    assert [o["id"] for o in page["data"]] == orders[::-1][:2]
    assert page["has_more"] is True
    rest = api.get(f"/orders?limit=2&starting_after={page['data'][-1]['id']}", token=buyer.token).data
    assert [o["id"] for o in rest["data"]] == [orders[0]]
    assert rest["has_more"] is False


def test_openapi_document_is_served_and_lists_the_contract_paths(api, db):
    res = api.get("/openapi.json")
    assert res.status_code == 200
    paths = res.data["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/shops",
        "/api/v1/listings",
        "/api/v1/listings/{listing_id}",
        "/api/v1/wallet/topups",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}/confirm",
        "/api/v1/orders/export",
    ):
        assert path in paths, path
