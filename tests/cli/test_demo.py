"""`kameng demo`: a realistic marketplace through the services, loaded twice without adding anything."""

from kameng.cli import main


def _counts():
    from kameng.accounts.models import User
    from kameng.catalog.models import Listing, ListingVersion, Shop, StockItem
    from kameng.ledger.models import JournalEntry
    from kameng.orders.models import Message, Order, OrderEvent
    from kameng.timers.models import Timer
    from kameng.wallet.models import Payment

    return {
        m.__name__: m.objects.count()
        for m in (
            User,
            Shop,
            Listing,
            ListingVersion,
            StockItem,
            Order,
            OrderEvent,
            Message,
            Payment,
            JournalEntry,
            Timer,
        )
    }


def test_demo_loads_a_marketplace_and_a_second_run_adds_nothing(db, api, capsys):
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "buyer1" in first and "demo-pass-123" in first
    after_first = _counts()
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "nothing added" in second
    assert _counts() == after_first

    from kameng.ledger.services import check

    assert check().ok


def test_demo_covers_every_category_state_and_role(db, api):
    from kameng.demo import DEMO_PASSWORD, load_demo
    from kameng.policy.defaults import CATEGORIES

    load_demo()
    listings = api.get("/listings?limit=100").data["data"]
    assert {item["category"] for item in listings} == set(CATEGORIES)
    assert any(item["warnings"] for item in listings), "one listing shows the unfair-clause warning"
    assert any(item["deposit_percent"] for item in listings)
    assert all(item["stock_available"] > 0 for item in listings if item["kind"] == "card_key")
    assert len({item["shop"] for item in listings}) >= 3

    tokens = {}
    for username in ("buyer1", "buyer2", "buyer3", "merchant1", "merchant2", "arbitrator", "admin"):
        res = api.post("/auth/token", {"username": username, "password": DEMO_PASSWORD})
        assert res.status_code == 200, username
        tokens[username] = res.data["token"]
    assert api.get("/me", token=tokens["arbitrator"]).data["role"] == "arbitrator"
    assert api.get("/me", token=tokens["admin"]).data["role"] == "admin"

    statuses = set()
    for buyer in ("buyer1", "buyer2", "buyer3"):
        orders = api.get("/orders", token=tokens[buyer]).data["data"]
        assert orders
        statuses |= {o["status"] for o in orders}
        assert api.get("/wallet", token=tokens[buyer]).data["balance"] > 0
    assert {"paid", "delivered", "completed"} <= statuses
    assert api.get("/wallet", token=tokens["merchant1"]).data["balance"] > 0  # a confirmed order paid out

    buyer2_orders = api.get("/orders", token=tokens["buyer2"]).data["data"]
    chatted = [o for o in buyer2_orders if api.get(f"/orders/{o['id']}/messages", token=tokens["buyer2"]).data["data"]]
    assert chatted
    deposit = [o for o in api.get("/orders", token=tokens["buyer3"]).data["data"] if o["deposit_amount"]]
    assert deposit and deposit[0]["escrow"]["amount"] == deposit[0]["deposit_amount"]


def test_demo_loads_with_the_sandbox_off_its_balances_booked_as_demo_data(db, api, capsys, settings):
    """KAMENG_SANDBOX=off: no gateway may pay a top-up for show, so the demo buyers' balances are booked
    through the ledger directly (gateway:demo → wallet, memo 演示数据); the rest of the demo is unchanged."""
    from kameng.demo import BUYER_TOPUP, BUYERS
    from kameng.ledger import services as ledger
    from kameng.ledger.models import JournalEntry
    from kameng.orders.models import Order
    from kameng.wallet.models import Payment

    settings.SANDBOX_ENABLED = False
    assert main(["demo"]) == 0
    assert "top-ups 3" in capsys.readouterr().out
    assert not Payment.objects.exists()  # nothing pretended to come through a gateway
    funds = JournalEntry.objects.filter(idempotency_key__startswith="demo-funds:")
    assert funds.count() == len(BUYERS) and {e.memo for e in funds} == {"演示数据：初始余额"}
    assert ledger.balance(ledger.gateway_code("demo")) == -BUYER_TOPUP * len(BUYERS)
    assert Order.objects.filter(status="completed").exists() and Order.objects.filter(status="delivered").exists()
    after_first = _counts()
    assert main(["demo"]) == 0
    assert "nothing added" in capsys.readouterr().out
    assert _counts() == after_first
    assert ledger.check().ok
    # The sandbox stays gone: its pay page and a sandbox top-up answer as if it never existed.
    assert api.client.get("/sandbox/pay/1").status_code == 404
