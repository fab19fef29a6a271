"""The wallet purchase writes its order row once after the transitions (orders.services.Pending), and
reads the merchant's webhook endpoints once: the rows it leaves are exactly those of the one-by-one
path (the order created and saved, then each transition saving the row and arming its timers)."""

import json
from datetime import UTC, datetime

from django.db import transaction
from django.test.utils import CaptureQueriesContext

from kameng.aftersales.models import Notification
from kameng.catalog.models import Listing, StockItem
from kameng.clock.services import told_at
from kameng.ledger.models import JournalEntry
from kameng.notify import webhooks
from kameng.notify.models import Channel, Dispatch, Endpoint, WebhookDelivery
from kameng.orders import services
from kameng.orders.lifecycle import Actor, Event
from kameng.orders.models import Order
from kameng.timers.models import Timer

AT = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def _one_by_one(buyer, listing: Listing) -> Order:
    """The purchase as it was before Pending: every step saving the row, every timer replacing."""
    with transaction.atomic():
        order = services.new_order(buyer, listing, 1, False, "", AT)
        services.transition(order, Event.PAID, actor=Actor.BUYER, user=buyer, now=AT)
        services.take_stock(order, AT)
        services.transition(order, Event.DELIVERED, actor=Actor.SYSTEM, user=None, now=AT)
    return order


def _rows(order: Order) -> dict:
    """Everything the purchase wrote for `order`, with its id and number taken out."""
    order.refresh_from_db()
    number, pk = order.number, order.pk

    def plain(value):
        return json.loads(json.dumps(value, default=str).replace(number, "NUMBER").replace(f"order:{pk}", "order:N"))

    fields = {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}
    assert fields.pop("number") == f"KM{AT:%Y%m%d}{pk:08d}"
    del fields["id"]
    entries = [
        (e.kind, e.idempotency_key.replace(f":{pk}", ":N"), e.memo, e.actor, e.created_at, e.case_id)
        + (
            sorted(
                (p.account.code.replace(f"order:{pk}", "order:N"), p.amount)
                for p in e.postings.select_related("account")
            ),
        )
        for e in JournalEntry.objects.filter(order_id=pk).order_by("pk")
    ]
    return plain(
        {
            "order": fields,
            "events": list(order.events.order_by("pk").values("type", "actor_id", "actor_role", "data", "at")),
            "entries": entries,
            "timers": list(
                Timer.objects.filter(target=f"order:{pk}")
                .order_by("pk")
                .values("kind", "target", "due_at", "status", "created_at")
            ),
            "stock": list(StockItem.objects.filter(order=order).values("listing_id", "delivered_at")),
            "notifications": list(
                Notification.objects.filter(text__contains=number).values("user_id", "kind", "text", "params")
            ),
            "dispatches": list(
                Dispatch.objects.filter(body__contains=number).values("user_id", "kind", "channel_id", "title", "body")
            ),
            "webhooks": [
                (d.endpoint_id, d.event, {**json.loads(d.payload)["data"], "id": "N"})
                for d in WebhookDelivery.objects.filter(payload__contains=number).order_by("pk")
            ],
        }
    )


def test_the_purchase_writes_what_the_one_by_one_path_writes(merchant, buyer, make_listing, fund):
    listing = Listing.objects.get(pk=make_listing(merchant, price=1500)["id"])
    fund(buyer, 10_000)
    Channel.objects.create(user_id=merchant.pk, kind="json", url="json://127.0.0.1/x", created_at=AT, updated_at=AT)
    for events in (["order.paid", "order.delivered"], ["order.delivered"]):
        Endpoint.objects.create(
            user_id=merchant.pk, url="https://hooks.example.com/k", events=events, secret="whsec_x", created_at=AT
        )

    with told_at(AT):
        stepwise = _one_by_one(buyer, listing)
        with CaptureQueriesContext(transaction.get_connection()) as queries, webhooks.read_once():
            bought = services.purchase(acting_user=buyer, listing_id=listing.pk)
        delivered = [s.secret for s in bought.stock_items.all()]  # answered from the rows just taken
    endpoint_reads = [q for q in queries.captured_queries if 'FROM "notify_endpoint"' in q["sql"]]
    order_writes = [
        q for q in queries.captured_queries if 'INTO "orders_order"' in q["sql"] or 'UPDATE "orders_order"' in q["sql"]
    ]

    assert _rows(bought) == _rows(stepwise)
    assert len(_rows(bought)["webhooks"]) == 3  # both events to the first endpoint, delivered to the second
    assert delivered == list(StockItem.objects.filter(order=bought).values_list("secret", flat=True))
    assert len(endpoint_reads) == 1 and len(order_writes) == 2  # INSERT, then one UPDATE with the number
