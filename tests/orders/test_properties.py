"""Property: whatever the parties do to their orders in whatever order, and however the clock moves,
every order is always in a state of the lifecycle table, moves only along its rows, has its release
timer exactly while it is delivered and held, and its escrow holds what was paid and not refunded.

Each example plays a random story over up to four orders (card keys from stock, a service delivered
by hand, a staged payment 定金/尾款 delivered by hand) through the HTTP API and the test clock, with
refund cases opened, settled, withdrawn or left to time out, and the merchant withdrawing income (so
refunds after release reach the 先行赔付 advance). Everything is checked after every step, inside a
savepoint that is rolled back so every example starts from the same marketplace.
"""

import os

import pytest
from django.core.cache import caches
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from kameng.ledger.services import balance, check, escrow_code
from kameng.orders import lifecycle
from kameng.orders.models import Order, OrderEvent
from kameng.timers.models import Timer, TimerStatus

H = 3600
ANSWERS = {200, 201, 400, 402, 403, 404, 409}
LISTINGS = ("card", "service", "staged")
CASE_MOVES = ("accept", "offer", "accept_offer", "withdraw", "reject", "escalate")

steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.sampled_from(LISTINGS)),
        st.tuples(st.just("deliver"), st.integers(0, 3)),
        st.tuples(st.just("confirm"), st.integers(0, 3)),
        st.tuples(st.just("pay_balance"), st.integers(0, 3)),
        st.tuples(st.just("open"), st.integers(0, 3), st.sampled_from(["one", "part", "all"])),
        st.tuples(st.just("open"), st.integers(0, 3), st.sampled_from(["one", "part", "all"])),
        st.tuples(st.just("case"), st.integers(0, 3), st.sampled_from(CASE_MOVES)),
        st.tuples(st.just("case"), st.integers(0, 3), st.sampled_from(CASE_MOVES)),
        st.tuples(st.just("case"), st.integers(0, 3), st.sampled_from(CASE_MOVES)),
        st.tuples(st.just("advance"), st.sampled_from([10 * 60, 2 * H, 25 * H, 49 * H, 8 * 24 * H])),
        st.tuples(st.just("fund"), st.sampled_from([5000, 20000])),
        st.tuples(st.just("withdraw_money"), st.sampled_from([5000, 30000])),
    ),
    min_size=6,
    max_size=18,
)


def reachable() -> dict:
    """For each state, every state the table can take it to in one request (one or more rows)."""
    out = {}
    for start in (lifecycle.NEW, *lifecycle.STATES):
        seen, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for row in lifecycle.TABLE:
                if row.state == state and row.target not in seen:
                    seen.add(row.target)
                    frontier.append(row.target)
        out[start] = seen
    return out


REACHABLE = reachable()


@pytest.fixture
def market(api, make_user, merchant, make_listing):
    buyer = make_user("buyer")
    listings = {
        "card": make_listing(merchant, price=9900, stock=[f"C-{i}" for i in range(10)]),
        "service": make_listing(merchant, kind="service", price=30000, verification_minutes=60, stock=None),
        "staged": make_listing(
            merchant, kind="service", price=20000, deposit_percent=30, verification_minutes=60, stock=None
        ),
    }
    return buyer, merchant, listings


class Story:
    def __init__(self, api, buyer, merchant, listings, fund, advance):
        self.api, self.buyer, self.merchant, self.listings = api, buyer, merchant, listings
        self.fund, self.advance = fund, advance
        self.orders: list[dict] = []
        self.cases: dict[int, dict] = {}  # order index → its latest case
        self.seen: dict[int, lifecycle.State] = {}

    def post(self, path, body=None, token=None):
        res = self.api.post(path, body or {}, token=token)
        assert res.status_code in ANSWERS, (path, res.status_code, res.content[:500])
        return res

    def run(self, step):
        kind = step[0]
        if kind == "buy" and len(self.orders) < 4:
            res = self.post("/orders", {"listing": self.listings[step[1]]["id"]}, self.buyer.token)
            if res.status_code == 201:
                self.orders.append(res.data)
        elif kind in ("deliver", "confirm", "pay_balance", "open", "case") and self.orders:
            i = step[1] % len(self.orders)
            order = self.orders[i]
            if kind == "deliver":
                self.post(f"/orders/{order['id']}/deliver", {"content": "账号：a1 密码：p1"}, self.merchant.token)
            elif kind in ("confirm", "pay_balance"):
                self.post(f"/orders/{order['id']}/{kind}", token=self.buyer.token)
            elif kind == "open":
                amount = {"one": 1, "part": 1000, "all": order["amount"]}[step[2]]
                body = {"order": order["id"], "reason": "defective", "description": "无法使用", "amount": amount}
                res = self.post("/refunds", body, self.buyer.token)
                if res.status_code == 201:
                    self.cases[i] = res.data
            elif self.cases:  # any open or closed case, so stories get somewhere
                cases = list(self.cases.values())
                self.case_move(cases[step[1] % len(cases)], step[2])
        elif kind == "advance":
            self.advance(step[1])
        elif kind == "fund":
            self.fund(self.buyer, step[1])
        elif kind == "withdraw_money":
            self.post("/wallet/withdrawals", {"amount": step[1]}, self.merchant.token)

    def case_move(self, case, action):
        merchant, buyer = self.merchant.token, self.buyer.token
        body, token = {
            "accept": ({}, merchant),
            "offer": ({"amount": max(1, case["requested_amount"] // 2)}, merchant),
            "reject": ({"reason": "商品无问题"}, merchant),
            "accept_offer": ({}, buyer),
            "withdraw": ({}, buyer),
            "escalate": ({}, buyer),
        }[action]
        self.post(f"/refunds/{case['id']}/{action}", body, token)


def check_orders(story: Story) -> None:
    result = check()
    assert result.ok, result.problems
    ids = [int(o["id"]) for o in story.orders]
    pending = {
        int(target.split(":")[1]): due
        for target, due in Timer.objects.filter(
            kind=lifecycle.RELEASE_TIMER, status=TimerStatus.PENDING, target__in=[f"order:{i}" for i in ids]
        ).values_list("target", "due_at")
    }
    for order in Order.objects.filter(pk__in=ids):
        state = lifecycle.State(order.status, order.escrow_status)
        assert state in lifecycle.STATES, state
        before = story.seen.get(order.pk, lifecycle.NEW)
        assert state in REACHABLE[before], (before, state)  # moved along the table's rows only
        story.seen[order.pk] = state
        # The deadline hangs on the state: the release timer runs exactly while delivered and held.
        if state in lifecycle.DEADLINES:
            assert pending.get(order.pk) == order.release_at, (state, pending.get(order.pk), order.release_at)
        else:
            assert order.pk not in pending, state
        held = balance(escrow_code(order.pk))
        if state.escrow in (lifecycle.EscrowStatus.HELD, lifecycle.EscrowStatus.FROZEN):
            assert held == order.paid_amount - order.refunded_amount, (state, held)
        else:
            assert held == 0, (state, held)
        assert 0 <= order.refunded_amount <= order.paid_amount
        if state == lifecycle.COMPLETED:
            assert order.refunded_amount == 0 and order.completed_at is not None
        if state.escrow == lifecycle.EscrowStatus.RELEASED or state.order == lifecycle.OrderStatus.DELIVERED:
            assert order.balance_due == 0, (state, order.balance_due)  # collected before delivery and release
        types = list(OrderEvent.objects.filter(order=order).values_list("type", flat=True))
        assert types.count("paid") == 1 and types.count("escrow_released") <= 1, types


# A hand-written story that random ones reach only now and then: a staged order the merchant cannot
# deliver while the buyer is short (409 balance_unpaid), its balance paid early (402 first, still
# short), a case partly refunding it past release_at (released at once when the case closes), a
# card key refunded after release, mostly from the platform's advance (先行赔付); a case opened
# before delivery, withdrawn after it (the timer runs again).
DEEP_STORY = [  # every story starts with order 0 (staged) and order 1 (a card key)
    ("deliver", 0),
    ("pay_balance", 0),
    ("fund", 5000),
    ("pay_balance", 0),
    ("deliver", 0),
    ("open", 0, "part"),
    ("case", 0, "offer"),
    ("advance", 2 * H),
    ("case", 0, "accept_offer"),
    ("confirm", 1),
    ("withdraw_money", 5000),
    ("withdraw_money", 5000),
    ("open", 1, "all"),
    ("case", 1, "accept"),
    ("fund", 20000),
    ("buy", "service"),
    ("open", 2, "part"),
    ("deliver", 2),
    ("case", 2, "withdraw"),
    ("advance", 2 * H),
]


@settings(
    max_examples=int(os.environ.get("KAMENG_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story_steps=steps)
@example(story_steps=DEEP_STORY)
def test_random_order_stories_stay_in_the_lifecycle_table(story_steps, api, market, fund, advance):
    buyer, merchant, listings = market
    for cache in ("ratelimit", "security"):
        caches[cache].clear()  # each example tops up and withdraws anew: the limits start at zero
    with transaction.atomic():
        fund(buyer, 25000)  # the staged deposit and a card, not much more
        story = Story(api, buyer, merchant, listings, fund, advance)
        story.run(("buy", "staged"))
        story.run(("buy", "card"))
        for step in story_steps:
            story.run(step)
            check_orders(story)
        for state in story.seen.values():
            event(f"an order ended {state}")
        for type_ in set(OrderEvent.objects.values_list("type", flat=True)):
            event(f"an order saw {type_}")
        transaction.set_rollback(True)
