def test_buyer_tops_up_and_buys_a_card_key(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant)
    fund(buyer, 20000)
    assert api.get("/wallet", token=buyer.token).data["balance"] == 20000
    order = buy(buyer, listing)
    assert order["status"] == "delivered"
    assert order["escrow"] == {
        "status": "held",
        "amount": 9900,
        "release_at": order["escrow"]["release_at"],
        "warranty_until": None,
    }
    assert len(order["delivery"]["items"]) == 1
    assert api.get("/wallet", token=buyer.token).data["balance"] == 10100
