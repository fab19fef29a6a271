"""Migration 0003 fills every case's phase from what its status hid, and its reverse gives the
binding-decision flag back: cases told through the API in every phase survive the round trip."""

import pytest
from django.core.management import call_command

from kameng.aftersales.models import RefundCase

pytestmark = pytest.mark.django_db(transaction=True)  # migrations cannot run inside the test's transaction


def test_the_round_trip_through_migration_0003_keeps_every_phase(case_in, act, buyer):
    for state in ("awaiting_merchant", "awaiting_buyer_offer", "awaiting_buyer_rejected", "in_arbitration"):
        case_in(state)
    for state in ("compromise", "decided", "in_appeal", "closed"):
        case_in(state)
    act(case_in("compromise"), "respond_compromise", buyer, {"accept": False})  # in_arbitration_binding
    phases = dict(RefundCase.objects.values_list("pk", "phase"))
    assert len(set(phases.values())) == 9

    try:
        call_command("migrate", "aftersales", "0002", verbosity=0)
        call_command("migrate", "aftersales", verbosity=0)
    finally:
        # Going back to 0002 also unapplied the other apps' migrations that depend on later
        # aftersales ones (evidence's ChainAnchor): bring every app forward again for the tests after.
        call_command("migrate", verbosity=0)

    assert dict(RefundCase.objects.values_list("pk", "phase")) == phases
