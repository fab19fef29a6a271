"""The lifecycle table itself (no database): one row per move whatever the input, a way out of every
open phase, contract statuses only, a timer handler for every deadline, a label and a sentence for
every event, and every public action on the API and the pages."""

import string
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kameng.aftersales import lifecycle
from kameng.aftersales.lifecycle import EVENTS, PHASES, ROWS, Settle
from kameng.aftersales.models import Phase
from kameng.api.refunds import router
from kameng.timers.services import HANDLERS
from kameng.web.case_forms import ACTION_PAGES

CONTRACT_STATUSES = {"awaiting_merchant", "awaiting_buyer", "in_arbitration", "decided", "in_appeal", "closed"}
NOW = datetime(2031, 5, 6, 10, 0, tzinfo=UTC)
KEYS = sorted({(r.phase, r.action, r.actor) for r in ROWS})


class NoFacts:
    def refundable(self):
        return 10**9

    def new_evidence(self):
        return True

    def category_rule(self):
        return "规则"


cases = st.builds(
    SimpleNamespace,
    fast_track=st.booleans(),
    requested_amount=st.integers(1, 100000),
    compromise_answers=st.dictionaries(st.sampled_from(["buyer", "merchant"]), st.just(True), max_size=1),
    decision=st.builds(
        dict, outcome=st.sampled_from(["refund_full", "refund_partial", "no_refund"]), amount=st.integers(0, 9)
    ),
    decision_acceptances=st.lists(st.sampled_from(["buyer", "merchant"]), max_size=1, unique=True),
    first_arbitrator_id=st.sampled_from([None, 7, 8]),
    claimed_by_id=st.sampled_from([None, 7, 8]),
    appeal=st.none(),
    rejection_reason=st.sampled_from(["", "已激活"]),
    decide_by=st.none(),
    first_response_at=st.none(),
)
inputs = st.fixed_dictionaries(
    {
        "outcome": st.sampled_from(["refund_full", "refund_partial", "no_refund", "compromise", "maybe"]),
        "amount": st.one_of(st.none(), st.integers(-5, 200000)),
        "rationale": st.text(max_size=20),
        "reason": st.text(max_size=5),
        "accept": st.booleans(),
    }
)


@given(case=cases, given_input=inputs, key=st.sampled_from(KEYS))
def test_the_guards_of_a_key_choose_exactly_one_row(case, given_input, key):
    phase, action, actor = key
    rows = lifecycle.rows_for(phase, action, actor)
    attempt = lifecycle.Attempt(case, actor, 7, NOW, lifecycle.clean(action, given_input), NoFacts())
    assert len([r for r in rows if r.when is None or r.when.test(attempt)]) == 1, (key, [r.target for r in rows])


def test_rows_of_one_key_all_have_guards():
    for key in KEYS:
        rows = lifecycle.rows_for(*key)
        assert len(rows) == 1 or all(r.when is not None for r in rows), key


def test_every_open_phase_has_a_way_out_and_every_phase_is_reached():
    for phase in lifecycle.OPEN_PHASES:
        assert any(r.phase == phase and r.target != phase for r in ROWS), phase
    reached, frontier = {Phase.AWAITING_MERCHANT}, [Phase.AWAITING_MERCHANT]
    while frontier:
        here = frontier.pop()
        for row in ROWS:
            if row.phase == here and row.target not in reached:
                reached.add(row.target)
                frontier.append(row.target)
    assert reached == set(PHASES)
    assert not [r for r in ROWS if r.phase == Phase.CLOSED]  # closed is final


def test_every_phase_shows_a_contract_status_and_every_status_is_shown():
    assert {spec.status for spec in PHASES.values()} == CONTRACT_STATUSES
    assert set(PHASES) == set(Phase)


def test_every_deadline_has_its_timer_handler_and_a_system_row_in_its_phases():
    for phase, spec in PHASES.items():
        if spec.deadline is None:
            continue
        assert spec.deadline.timer in HANDLERS, spec.deadline.timer
        assert lifecycle.rows_for(phase, spec.deadline.fires, "system"), (phase, spec.deadline.fires)
    assert lifecycle.REMINDER_TIMER in HANDLERS
    system_actions = {r.action for r in ROWS if r.actor == "system"}
    assert system_actions == {d.fires for d in lifecycle.DEADLINES}  # the system acts only when a deadline passes


def test_closing_rows_settle_and_only_they():
    for row in ROWS:
        assert (row.settle is not None) == (row.target == Phase.CLOSED), row
        if row.settle == Settle.WITHDRAWN:
            assert row.action in ("withdraw", "buyer_timeout")


@pytest.mark.parametrize(
    "type_", sorted({r.event for r in ROWS if r.event} | {"opened", "claimed", "refunded", "evidence_added"})
)
def test_every_event_has_a_label_in_both_languages_and_a_sentence_unless_bookkeeping(type_):
    text = EVENTS[type_]
    assert text.sentence is not None or text.bookkeeping, type_
    # Both languages named here: an earlier test (a page request) may leave English active.
    with translation.override("zh-hans"):
        chinese = str(text.label)
    with translation.override("en"):
        english = str(text.label)
    assert english and english != chinese, type_  # translated in the catalog


def test_notice_texts_name_only_what_a_notice_knows():
    def fields(notice):
        return {name for _, name, _, _ in string.Formatter().parse(notice.text) if name}

    timed = [n for spec in PHASES.values() if spec.deadline for n in spec.notices]
    timed += [d.reminder for d in lifecycle.DEADLINES]
    untimed = [n for spec in PHASES.values() if not spec.deadline for n in spec.notices]
    untimed += [n for r in ROWS for n in r.notices]  # sent before the move: no deadline of theirs to name
    for notice in timed + untimed:
        assert fields(notice) <= {"case", "order", "due", "offer", "proposal", "closing"}, notice
    assert not [n for n in untimed if "due" in fields(n)]


def test_every_public_action_has_a_route_and_a_page():
    routes = set(router.path_operations)
    for action in lifecycle.PUBLIC_ACTIONS:
        assert f"/refunds/{{case_id}}/{action}" in routes, action
        assert action in ACTION_PAGES or action == "decide", action  # decide: the review page's decision form
    assert set(ACTION_PAGES) <= set(lifecycle.PUBLIC_ACTIONS)


def test_checks_refuse_with_their_own_errors_and_choosers_never_refuse():
    for row in ROWS:
        assert all(g.refusal is not None for g in row.checks), row
        assert row.when is None or row.when.refusal is None, row
