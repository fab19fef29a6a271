"""The demo is a believable history (issue 15 "Done means"): accounts join before they act, shops
are months old (tenure > 0 days), buyers top up before they buy, every case opens after its order's
delivery and inside the order's windows, every timeline (order events, chat, case events) runs
forward in time, nothing is dated in the future, the first sweep after loading changes none of the
demo's states, and every decision cites articles of the law table (the right one for its reason)."""

import pytest

from kameng.accounts.models import User
from kameng.aftersales.models import CaseEvent, RefundCase
from kameng.catalog.models import Listing, Shop
from kameng.clock.services import now as clock_now
from kameng.demo import load_demo
from kameng.orders.models import Message, Order, OrderEvent
from kameng.policy import laws
from kameng.timers.models import Timer
from kameng.wallet.models import Payment

QUALITY = {"defective", "not_as_described", "service_missing"}


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup, django_db_blocker):
    """The demo, loaded once for this module's tests (they only read it; loading is ~1.5 CPU s), in a
    transaction rolled back after the last of them. Each test's own transaction (pytest-django's
    `db`) is a savepoint inside it, so a test sees the demo exactly as loaded."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        yield clock_now()
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded, db):
    """The moment the demo was loaded at."""
    return _demo_loaded


def _in_order(moments) -> bool:
    moments = list(moments)
    return moments == sorted(moments)


def test_shops_are_months_old_and_show_it(demo, api):
    for shop in Shop.objects.all():
        assert shop.owner.date_joined < shop.created_at, shop
        assert (demo - shop.created_at).days >= 30, shop
        credit = api.get(f"/shops/{shop.pk}").data["credit"]
        assert credit["tenure_days"] == (demo - shop.created_at).days > 0, (shop, credit)
        for listing in Listing.objects.filter(shop=shop):
            assert shop.created_at < listing.created_at < demo


def test_buyers_join_then_top_up_then_buy(demo):
    for order in Order.objects.select_related("buyer", "listing"):
        topup = Payment.objects.filter(user=order.buyer, purpose="topup").order_by("created_at").first()
        assert order.buyer.date_joined < topup.created_at < order.created_at, order
        assert order.listing.created_at < order.created_at < demo


def test_every_timeline_runs_forward_and_nothing_is_in_the_future(demo):
    for order in Order.objects.all():
        events = list(OrderEvent.objects.filter(order=order).order_by("id").values_list("at", flat=True))
        assert _in_order(events) and all(order.created_at <= at <= demo for at in events), order
        chat = list(Message.objects.filter(order=order).order_by("id").values_list("created_at", flat=True))
        assert _in_order(chat) and all(order.created_at < at <= demo for at in chat), order
        if order.delivered_at is not None:
            assert order.created_at <= order.delivered_at <= demo
    assert not User.objects.filter(date_joined__gt=demo).exists()


def test_every_case_opens_after_its_order_was_delivered_and_inside_its_windows(demo):
    cases = list(RefundCase.objects.select_related("order"))
    assert len(cases) >= 7
    for case in cases:
        order = case.order
        assert order.delivered_at is not None and order.delivered_at < case.created_at < demo, case
        assert case.created_at <= order.after_sale_until, case
        if case.reason in QUALITY:
            assert (case.created_at - order.delivered_at).days < 7, case
        events = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("at", flat=True))
        assert events and _in_order(events), case
        assert events[0] >= case.created_at and events[-1] <= demo, case
        if order.escrow_status == "frozen":  # the case froze the escrow while its window still ran
            assert order.release_at is not None and case.created_at < order.release_at, case


def test_the_first_sweep_after_loading_changes_no_demo_state(demo):
    overdue = Timer.objects.filter(status="pending", due_at__lte=demo)
    assert [(t.kind, t.target, t.due_at.isoformat()) for t in overdue] == []


def test_every_demo_decision_cites_articles_of_the_law_table_that_fit_its_reason(demo):
    decided = [c for c in RefundCase.objects.all() if c.decision]
    assert decided
    for case in decided:
        rationale = case.decision["rationale"]
        cited = laws.by_short(rationale)
        assert cited, rationale
        if case.reason in QUALITY:
            assert laws.CPL_24 in cited and laws.CPL_25 not in cited, rationale
        if case.reason == "no_reason":
            assert laws.CPL_25 in cited, rationale
