"""Strict input (v1.1 "Conventions, tightened"): integers are JSON integers, ids are ASCII digits,
a cursor must name an item of the list, the arbitration queue pages like every list, and a body over
the limit is 413 in the error shape. Each refusal changes nothing."""

import json

import pytest

from kameng.wallet.models import Payment


@pytest.mark.parametrize("amount", ["100", True, 1e3, 100.0, "１００", None, [100]])
def test_an_amount_that_is_not_a_json_integer_is_400_and_creates_nothing(api, buyer, amount):
    res = api.post("/wallet/topups", {"amount": amount}, token=buyer.token)
    assert res.status_code == 400, res.data
    assert (res.data["error"]["type"], res.data["error"]["param"]) == ("invalid_request", "amount")
    assert not Payment.objects.exists()


def test_one_thousand_written_as_1e3_in_the_raw_body_is_refused(api, buyer):
    res = api.client.post(
        "/api/v1/wallet/topups",
        data='{"amount": 1e3}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    assert res.status_code == 400 and res.json()["error"]["param"] == "amount"


@pytest.mark.parametrize("quantity", ["2", True, 2.0])
def test_a_quantity_that_is_not_an_integer_is_400(api, buyer, merchant, make_listing, fund, quantity):
    fund(buyer, 50000)
    listing = make_listing(merchant)
    res = api.post("/orders", {"listing": listing["id"], "quantity": quantity}, token=buyer.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "quantity", res.data
    assert api.get("/orders", token=buyer.token).data["data"] == []


def test_case_action_amounts_and_flags_are_strict(api, buyer, merchant, make_listing, fund, buy):
    fund(buyer, 20000)
    order = buy(buyer, make_listing(merchant))
    case = api.post(
        "/refunds", {"order": order["id"], "reason": "defective", "description": "卡密无效", "amount": 100}, buyer.token
    ).data
    assert api.post("/refunds", {**case, "amount": "100"}, token=buyer.token).status_code == 400
    res = api.post(f"/refunds/{case['id']}/offer", {"amount": "50"}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "amount"
    assert api.get(f"/refunds/{case['id']}", token=buyer.token).data["status"] == "awaiting_merchant"


@pytest.mark.parametrize("given", ["１", " 1", "1 ", "1_0", "+1", "١"])
@pytest.mark.django_db(transaction=True, reset_sequences=True)  # PostgreSQL: the objects must really be #1
def test_an_id_that_is_not_ascii_digits_names_nothing(api, buyer, merchant, make_listing, fund, buy, given):
    """int() reads "１" (full-width) and "١" (Arabic-Indic) as 1: the API must not."""
    fund(buyer, 20000)
    listing = make_listing(merchant)
    order = buy(buyer, listing)
    assert order["id"] == "1" and listing["id"] == "1" and merchant.shop_id == "1"
    assert api.get(f"/orders/{given}", token=buyer.token).status_code == 404
    assert api.get(f"/listings/{given}").status_code == 404
    assert api.get(f"/shops/{given}").status_code == 404
    bought = api.post("/orders", {"listing": given}, token=buyer.token)
    assert bought.status_code == 404, bought.data
    opened = api.post(
        "/refunds", {"order": given, "reason": "defective", "description": "无效", "amount": 1}, buyer.token
    )
    assert opened.status_code == 404, opened.data
    assert api.get(f"/listings?shop={given}").data["data"] == []


@pytest.mark.parametrize("limit", ["1.0", " 5", "1_0", "２", "1e1", "ten"])
def test_a_limit_that_is_not_ascii_digits_is_400(api, buyer, limit):
    res = api.get(f"/orders?limit={limit}", token=buyer.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "limit", res.data


@pytest.mark.parametrize("path", ["/orders", "/notifications", "/refunds"])
def test_an_unknown_cursor_is_400_invalid_cursor(api, buyer, path):
    for cursor in ("999999", "１", "abc"):
        res = api.get(f"{path}?starting_after={cursor}", token=buyer.token)
        assert res.status_code == 400, (path, cursor, res.data)
        assert (res.data["error"]["code"], res.data["error"]["param"]) == ("invalid_cursor", "starting_after")


def test_another_users_order_is_no_cursor_for_my_list(api, make_user, merchant, make_listing, fund, buy):
    first, second = make_user("buyer"), make_user("buyer")
    fund(first, 20000)
    theirs = buy(first, make_listing(merchant))
    res = api.get(f"/orders?starting_after={theirs['id']}", token=second.token)
    assert res.status_code == 400 and res.data["error"]["code"] == "invalid_cursor"
    mine = api.get(f"/orders?starting_after={theirs['id']}", token=first.token)
    assert mine.status_code == 200 and mine.data == {"data": [], "has_more": False}


def test_listing_search_refuses_an_unknown_cursor(api, merchant, make_listing):
    listing = make_listing(merchant)
    assert api.get(f"/listings?starting_after={listing['id']}").status_code == 200
    res = api.get("/listings?starting_after=424242")
    assert res.status_code == 400 and res.data["error"]["code"] == "invalid_cursor"


def _in_arbitration(api, buyer, merchant, order) -> dict:
    body = {"order": order["id"], "reason": "defective", "description": "卡密无效", "amount": 100}
    case = api.post("/refunds", body, token=buyer.token).data
    assert api.post(f"/refunds/{case['id']}/reject", {"reason": "卡密有效"}, token=merchant.token).status_code == 200
    escalated = api.post(f"/refunds/{case['id']}/escalate", token=buyer.token)
    assert escalated.status_code == 200 and escalated.data["status"] == "in_arbitration", escalated.data
    return escalated.data


def test_the_arbitration_queue_pages_in_its_order_with_case_summaries(
    api, buyer, arbitrator, merchant, make_listing, fund, buy
):
    fund(buyer, 50000)
    listing = make_listing(merchant)
    cases = [_in_arbitration(api, buyer, merchant, buy(buyer, listing)) for _ in range(3)]
    first = api.get("/arbitration/queue?limit=2", token=arbitrator.token)
    assert first.status_code == 200 and first.data["has_more"] is True
    item = first.data["data"][0]
    assert set(item) >= {
        "id", "order", "shop", "status", "reason", "requested_amount", "fast_track", "overdue",
        "decide_by", "claimed_by", "created_at",
    }  # fmt: skip
    assert "events" not in item and "evidence" not in item  # summaries; the case itself is GET /refunds/{id}
    rest = api.get(f"/arbitration/queue?limit=2&starting_after={first.data['data'][-1]['id']}", token=arbitrator.token)
    assert rest.status_code == 200 and rest.data["has_more"] is False
    seen = [c["id"] for c in first.data["data"] + rest.data["data"]]
    assert sorted(seen) == sorted(c["id"] for c in cases) and len(set(seen)) == 3
    decide_by = [c["decide_by"] for c in first.data["data"] + rest.data["data"]]
    assert decide_by == sorted(decide_by)
    unknown = api.get("/arbitration/queue?starting_after=999999", token=arbitrator.token)
    assert unknown.status_code == 400 and unknown.data["error"]["code"] == "invalid_cursor"
    assert api.get("/arbitration/queue?limit=0", token=arbitrator.token).data["error"]["code"] == "invalid_limit"


def test_a_json_body_over_the_upload_limit_is_413_in_the_error_shape(api, buyer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    res = api.client.post(
        "/api/v1/orders/1/messages",
        data=json.dumps({"body": "x" * 2000}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    assert res.status_code == 413, res.content
    assert (res.json()["error"]["type"], res.json()["error"]["code"]) == ("too_large", "too_large")
    assert res.json()["error"]["request_id"] == res["Request-Id"]
