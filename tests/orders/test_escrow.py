"""The escrow money policy as pure decisions: how a release and a refund split, table by table."""

import pytest

from kameng.orders.escrow import RefundSplit, ReleaseSplit, refund_split, release_split


@pytest.mark.parametrize(
    ("held", "debt_balance", "expected"),
    [
        (9900, 0, ReleaseSplit(to_merchant=9900, to_debt=0)),  # no debt: all to the merchant
        (9900, -3000, ReleaseSplit(to_merchant=6900, to_debt=3000)),  # 先行赔付 recovered first
        (9900, -9900, ReleaseSplit(to_merchant=0, to_debt=9900)),  # the whole release repays the debt
        (9900, -20000, ReleaseSplit(to_merchant=0, to_debt=9900)),  # a debt larger than the release stays owed
        (9900, 500, ReleaseSplit(to_merchant=9900, to_debt=0)),  # a positive debt account owes nothing
        (0, -3000, ReleaseSplit(to_merchant=0, to_debt=0)),  # nothing held, nothing moves
    ],
)
def test_a_release_repays_the_merchants_debt_before_paying_the_merchant(held, debt_balance, expected):
    split = release_split(held, debt_balance)
    assert split == expected
    assert split.to_merchant + split.to_debt == held


@pytest.mark.parametrize(
    ("amount", "escrow", "merchant_wallet", "expected"),
    [
        (9900, 9900, 0, RefundSplit(from_escrow=9900, from_merchant=0, advanced=0)),  # escrow still holds it all
        (3000, 9900, 0, RefundSplit(from_escrow=3000, from_merchant=0, advanced=0)),  # partial refund from escrow
        (9900, 4000, 50000, RefundSplit(from_escrow=4000, from_merchant=5900, advanced=0)),  # escrow, then wallet
        (9900, 0, 50000, RefundSplit(from_escrow=0, from_merchant=9900, advanced=0)),  # released: the wallet pays
        (9900, 0, 2000, RefundSplit(from_escrow=0, from_merchant=2000, advanced=7900)),  # wallet short: 先行赔付
        (9900, 0, 0, RefundSplit(from_escrow=0, from_merchant=0, advanced=9900)),  # the platform advances it all
        (9900, 1000, 2000, RefundSplit(from_escrow=1000, from_merchant=2000, advanced=6900)),  # all three sources
        (9900, 0, -100, RefundSplit(from_escrow=0, from_merchant=0, advanced=9900)),  # never below an empty wallet
    ],
)
def test_a_refund_takes_escrow_first_then_the_merchants_wallet_then_the_platforms_advance(
    amount, escrow, merchant_wallet, expected
):
    split = refund_split(amount, escrow, merchant_wallet)
    assert split == expected
    assert split.from_escrow + split.from_merchant + split.advanced == amount
