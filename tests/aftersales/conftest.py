import pytest


@pytest.fixture
def delivered_order(api, buyer, merchant, make_listing, fund, buy):
    """A buyer with a delivered ¥99 card-key order (fast track: standardized, under ¥200)."""
    listing = make_listing(merchant)
    fund(buyer, 50000)
    return buy(buyer, listing)


@pytest.fixture
def open_case(api, buyer):
    def open_(order, amount=None, reason="defective", description="激活码无效，提示错误代码 0x8007007B"):
        res = api.post("/refunds", {"order": order["id"], "reason": reason, "description": description,
                                    "amount": amount if amount is not None else order["amount"]}, token=buyer.token)
        assert res.status_code == 201, res.data
        return res.data

    return open_
