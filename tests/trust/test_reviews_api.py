"""Reviews: the buyer of a finished order rates it once, 1–5 stars with text; the average feeds credit."""


def test_buyer_rates_a_completed_order_once(api, merchant, buyer, make_user, stocked, fund, buy, shop):
    listing = stocked(merchant)
    fund(buyer, 20000)
    order = buy(buyer, listing)
    url = f"/orders/{order['id']}/review"
    early = api.post(url, {"stars": 5, "text": "好"}, token=buyer.token)
    assert early.status_code == 409 and early.data["error"]["code"] == "review_not_allowed"
    assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200

    assert api.post(url, {"stars": 5, "text": "好"}, token=merchant.token).status_code == 403
    assert api.post(url, {"stars": 5, "text": "好"}, token=make_user("buyer").token).status_code == 404
    for stars in (0, 6, True):
        bad = api.post(url, {"stars": stars, "text": "好"}, token=buyer.token)
        assert bad.status_code == 400 and bad.data["error"]["param"] == "stars", stars
    assert api.post(url, {"stars": 5, "text": "x" * 2001}, token=buyer.token).status_code == 400

    res = api.post(url, {"stars": 5, "text": "秒发货，激活成功"}, token=buyer.token)
    assert res.status_code == 201, res.data
    assert res.data["stars"] == 5 and res.data["order"] == order["id"] and res.data["buyer"] != buyer.username
    again = api.post(url, {"stars": 1, "text": "改评"}, token=buyer.token)
    assert again.status_code == 409 and again.data["error"]["code"] == "already_reviewed"
    assert api.get(url, token=buyer.token).data["text"] == "秒发货，激活成功"

    listed = api.get(f"/shops/{merchant.shop_id}/reviews")
    assert listed.status_code == 200
    assert [r["stars"] for r in listed.data["data"]] == [5] and listed.data["has_more"] is False
    assert listed.data["summary"] == {"count": 1, "average": 5.0}
    credit = shop(merchant)["credit"]
    assert credit["rating_average"] == 5.0 and credit["rating_count"] == 1
    assert any(p["code"] == "rating" and p["points"] == 10 for p in credit["parts"])


def test_an_order_whose_case_closed_can_be_rated_but_not_while_a_case_is_open(
    api, merchant, stocked, sale, open_refund, act, shop
):
    listing = stocked(merchant)
    buyer, order = sale(listing)
    case = open_refund(buyer, order)
    url = f"/orders/{order['id']}/review"
    assert api.post(url, {"stars": 1, "text": "激活码无效"}, token=buyer.token).status_code == 409
    act(merchant, case, "accept")
    assert api.post(url, {"stars": 3, "text": "退款很快"}, token=buyer.token).status_code == 201
    other_buyer, other = sale(listing)
    api.post(f"/orders/{other['id']}/confirm", token=other_buyer.token)
    api.post(f"/orders/{other['id']}/review", {"stars": 4}, token=other_buyer.token)
    summary = api.get(f"/shops/{merchant.shop_id}/reviews").data["summary"]
    assert summary == {"count": 2, "average": 3.5}
    assert shop(merchant)["credit"]["rating_average"] == 3.5
    assert api.get("/shops/nope/reviews").status_code == 404
