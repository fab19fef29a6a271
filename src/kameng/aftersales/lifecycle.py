"""The refund case's whole lifecycle as data (Sharetribe's transaction process files are the model).

Pure: no ORM, no I/O. kameng.aftersales.services is the one path that reads it; the API's action
routes, the pages' buttons and the timer handlers are generated from it.

- PHASES: every state a case can be in, the contract's public `status` it shows, the deadline that
  runs in it (its field, its length from the policy, its timer, the system action fired when it
  passes, the reminder before it) and who is told on entering it. Entering a phase arms its deadline;
  leaving it cancels the timers and clears the field.
- ROWS: (phase, action, actor) → one target phase. `when` chooses among the rows of one key (their
  guards exclude each other); `checks` refuse, in the contract's order, with their own errors; the
  effects: fields written, the claim taken, the settlement (which amount is refunded), the notices
  sent before the move, the event written and the data it adds.
- ACTIONS: what each action's caller sends. EVENTS: every event type's timeline label and detail,
  and the sentence the complaint documents state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.errors import DomainError, Error
from kameng.labels import label

from . import rules
from .models import Actor, CaseStatus, Outcome, Phase, Reason, Resolution

if TYPE_CHECKING:
    from .models import RefundCase

P, BUYER, MERCHANT, ARBITRATOR, SYSTEM = Phase, Actor.BUYER, Actor.MERCHANT, Actor.ARBITRATOR, Actor.SYSTEM
PARTIES = (BUYER, MERCHANT)


# ---- what an action is judged on -------------------------------------------------------------------


class Facts(Protocol):
    """What only the database knows; the service answers, and only when a guard or a write asks."""

    def refundable(self) -> int: ...  # what the order can still refund (locks the order)
    def new_evidence(self) -> bool: ...  # the actor added evidence after the decision
    def category_rule(self) -> str: ...  # the refund rule of the order's category, as the policy says now
    def decision_rule(self, rule_id: str) -> Any: ...  # the rulebook's Rule a decision may cite, or None
    def send_replacement(self, content: str, now: datetime) -> dict: ...  # 补发: sends it, says what was sent


@dataclass(frozen=True)
class Attempt:
    """One action on one case: who, when, with what input."""

    case: RefundCase
    role: str
    actor_id: int | None
    now: datetime
    input: Mapping[str, Any]
    facts: Facts


@dataclass(frozen=True)
class Guard:
    """A named predicate on the case and the action's input. With a refusal it is a check: when it
    fails the action is refused with that error. Without one it chooses among the rows of a key."""

    name: str
    test: Callable[[Attempt], bool]
    refusal: Error | None = None
    param: str | None = None
    offers: bool = False  # needs no input, and also decides whether the action is offered to this party

    def refusing(self, error: Error, param: str | None = None) -> Guard:
        return replace(self, name=f"{self.name} ({error.name})", refusal=error, param=param)


def unless(guard: Guard) -> Guard:
    return Guard(f"not {guard.name}", lambda a: not guard.test(a))


def check(error: Error, param: str | None = None, *, offers: bool = False) -> Callable[[Callable], Guard]:
    def named(test: Callable[[Attempt], bool]) -> Guard:
        return Guard(test.__name__, test, error, param, offers)

    return named


def _is_amount(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _other(role: str) -> str:
    return MERCHANT if role == BUYER else BUYER


def _decision(case: RefundCase) -> dict:
    """The decision made, in the phases that have one."""
    assert case.decision is not None, case.phase
    return case.decision


def decided_amount(a: Attempt) -> int:
    """The refund a decision names: its amount for a partial refund or a compromise, else what the outcome implies."""
    outcome, amount = a.input["outcome"], a.input["amount"]
    if outcome in (Outcome.REFUND_PARTIAL, Outcome.COMPROMISE):
        return amount
    return rules.refund_amount_for(outcome, a.case.requested_amount, amount)


# choosing guards (the rows of one key exclude each other)
fast_track = Guard("fast_track", lambda a: a.case.fast_track)  # 小额快速通道, fixed at opening (rules.is_fast_track)
slow_track = unless(fast_track)
proposes_compromise = Guard("proposes_compromise", lambda a: a.input["outcome"] == Outcome.COMPROMISE)
binding = unless(proposes_compromise)
declines = Guard("declines", lambda a: not a.input["accept"])
accepts_first = Guard("accepts_first", lambda a: a.input["accept"] and _other(a.role) not in a.case.compromise_answers)
accepts_second = Guard("accepts_second", lambda a: a.input["accept"] and _other(a.role) in a.case.compromise_answers)
last_acceptance = Guard(
    "last_acceptance",
    lambda a: rules.parties_against(_decision(a.case)["outcome"]) <= {*a.case.decision_acceptances, a.role},
)
more_acceptances_due = unless(last_acceptance)


# refusing checks
@check(Error.OFFER_AMOUNT_INVALID, "amount")
def offer_below_request(a: Attempt) -> bool:
    return _is_amount(a.input["amount"]) and 0 < a.input["amount"] < a.case.requested_amount


@check(Error.REJECTION_REASON_REQUIRED, "reason")
def rejection_explained(a: Attempt) -> bool:
    return 0 < len(a.input["reason"]) <= 2000


@check(Error.APPEAL_CONFLICT_OF_INTEREST)
def not_the_first_arbitrator(a: Attempt) -> bool:
    return a.case.first_arbitrator_id != a.actor_id


@check(Error.CASE_ALREADY_CLAIMED)
def not_claimed_by_another(a: Attempt) -> bool:
    return not a.case.claimed_by_id or a.case.claimed_by_id == a.actor_id


@check(Error.DECISION_OUTCOME_INVALID, "outcome")
def outcome_known(a: Attempt) -> bool:
    return a.input["outcome"] in Outcome.values


@check(Error.DECISION_RULE_UNKNOWN, "rule")
def rule_known(a: Attempt) -> bool:
    """`rule` is optional; when given it must be a rule a decision can cite (kameng.policy.rulebook)."""
    return not a.input["rule"] or a.facts.decision_rule(a.input["rule"]) is not None


@check(Error.DECISION_RATIONALE_REQUIRED, "rationale")
def rationale_written(a: Attempt) -> bool:
    return len(a.input["rationale"]) >= 10


@check(Error.DECISION_AMOUNT_INVALID, "amount")
def decided_amount_valid(a: Attempt) -> bool:
    if a.input["outcome"] not in (Outcome.REFUND_PARTIAL, Outcome.COMPROMISE):
        return True
    return _is_amount(a.input["amount"]) and 0 < a.input["amount"] < a.case.requested_amount


@check(Error.DECISION_AMOUNT_EXCEEDS_REFUNDABLE, "amount")
def within_refundable(a: Attempt) -> bool:
    return decided_amount(a) <= a.facts.refundable()


@check(Error.COMPROMISE_ALREADY_ANSWERED, offers=True)
def not_answered_yet(a: Attempt) -> bool:
    return a.role not in a.case.compromise_answers


@check(Error.DECISION_NOT_AGAINST_YOU, offers=True)
def decision_went_against_them(a: Attempt) -> bool:
    return a.role in rules.parties_against(_decision(a.case)["outcome"])


@check(Error.DECISION_ALREADY_ACCEPTED, offers=True)
def not_accepted_yet(a: Attempt) -> bool:
    return a.role not in a.case.decision_acceptances


@check(Error.APPEAL_ALREADY_USED)
def appeal_unused(a: Attempt) -> bool:
    return not a.case.appeal


@check(Error.APPEAL_REASON_REQUIRED, "reason")
def appeal_explained(a: Attempt) -> bool:
    return bool(a.input["reason"])


@check(Error.APPEAL_NEW_EVIDENCE_REQUIRED)
def new_evidence_since_decision(a: Attempt) -> bool:
    return a.facts.new_evidence()


binding_in_appeal = binding.refusing(Error.APPEAL_DECISION_MUST_BIND, "outcome")
binding_after_compromise = binding.refusing(Error.COMPROMISE_DECLINED_MUST_BIND, "outcome")
DECIDES = (
    not_claimed_by_another,
    outcome_known,
    rule_known,
    rationale_written,
    decided_amount_valid,
    within_refundable,
)


# ---- effects: fields written, event data ------------------------------------------------------------

Write = Callable[[Attempt], dict[str, Any]]  # the case fields a row sets (the service assigns and saves them)
Record = Callable[[Attempt], dict[str, Any]]  # what a row adds to its event's data


def _record(a: Attempt, *, final: bool) -> dict:
    return {
        "outcome": a.input["outcome"],
        "amount": decided_amount(a),
        "rationale": a.input["rationale"],
        "arbitrator": str(a.actor_id),
        "decided_at": a.now.isoformat(),
        "final": final,
        "category_rule": a.facts.category_rule(),
        **_rule_record(a),
    }


def _rule_record(a: Attempt) -> dict:
    """The rule applied, by its rulebook id, with its wording as it stood when the decision was made."""
    rule = a.facts.decision_rule(a.input["rule"]) if a.input["rule"] else None
    if rule is None:
        return {"rule": None}
    return {"rule": rule.id, "rule_text": rule.text, "rule_text_en": rule.text_en}


def first_response(a: Attempt) -> dict:
    return {} if a.case.first_response_at else {"first_response_at": a.now}


def offer_made(a: Attempt) -> dict:
    return {"offer_amount": a.input["amount"]}


def rejection_given(a: Attempt) -> dict:
    return {"rejection_reason": a.input["reason"]}


def merchant_silent(a: Attempt) -> dict:
    return {"merchant_timed_out": True}


def replacement_sent(a: Attempt) -> dict:
    """The new key from stock (or the new content) goes to the buyer; any offer made before is void."""
    return {"replacement": a.facts.send_replacement(a.input["content"], a.now), "offer_amount": None}


def replacement_stated(a: Attempt) -> dict:
    """The event says what was sent, never the secret itself (events are shown to staff and in complaints)."""
    keys = a.case.order.snapshot["kind"] == "card_key"
    return {"items": a.case.order.quantity if keys else 0, "content": not keys}


def decision_made(a: Attempt) -> dict:
    return {"decision": _record(a, final=False), "first_arbitrator_id": a.case.first_arbitrator_id or a.actor_id}


def answers_reset(a: Attempt) -> dict:
    return {"compromise_answers": {}}


def acceptances_reset(a: Attempt) -> dict:
    return {"decision_acceptances": []}


def compromise_answered(a: Attempt) -> dict:
    return {"compromise_answers": {**a.case.compromise_answers, a.role: a.input["accept"]}}


def proposal_dropped(a: Attempt) -> dict:
    return {"decision": None}  # the proposal lives on in the events; no decision stands now


def decision_accepted(a: Attempt) -> dict:
    return {"decision_acceptances": [*a.case.decision_acceptances, a.role]}


def decision_final(a: Attempt) -> dict:
    return {"decision": {**_decision(a.case), "final": True}}


def appeal_lodged(a: Attempt) -> dict:
    record = {"by": a.role, "reason": a.input["reason"], "at": a.now.isoformat(), "decision": None}
    return {"appeal": record, "claimed_by_id": None, "claimed_at": None}  # another arbitrator takes it


def appeal_decided(a: Attempt) -> dict:
    return {"appeal": {**(a.case.appeal or {}), "decision": _record(a, final=True)}}


def states(*fields: str, **constants: Any) -> Record:
    """Event data: these input fields as sent (cleaned), and these constants."""

    def record(a: Attempt) -> dict:
        return {**{f: a.input[f] for f in fields}, **constants}

    return record


def after_what(a: Attempt) -> dict:
    """A merchant giving in late is a fault in credit statistics (kameng.trust.rules)."""
    return {"after_rejection": bool(a.case.rejection_reason), "after_escalation": a.case.decide_by is not None}


def decision_stated(a: Attempt) -> dict:
    return {"outcome": a.input["outcome"], "amount": decided_amount(a)}


def appeal_decision_stated(a: Attempt) -> dict:
    return {"outcome": a.input["outcome"], "appeal": True}


# ---- notices, deadlines, phases ---------------------------------------------------------------------


class To(StrEnum):
    BUYER = "buyer"
    MERCHANT = "merchant"
    PARTIES = "parties"
    CLAIMANT = "claimant"  # the arbitrator holding the case, if any
    UNANSWERED = "unanswered"  # the parties that have not answered the compromise
    STAFF = "staff"  # every admin, and the arbitrators who may take the case


@dataclass(frozen=True)
class Notice:
    """An in-app notice (also emailed). `text` fields: case, order, due (the deadline of the phase
    entered), offer, proposal (the compromise's amount), closing (how the case ended)."""

    to: To
    kind: str
    text: str


@dataclass(frozen=True)
class Length:
    unit: Literal["hours", "days", "working_days"]
    setting: str  # the policy setting that holds the number (kameng.policy.defaults)


@dataclass(frozen=True)
class Deadline:
    field: str  # the case column that holds it
    length: Length
    timer: str  # the timer kind armed for it
    fires: str  # the system action (a row) run when it passes
    reminder: Notice  # sent `deadline_reminder_hours` before it
    fast_track: Length | None = None  # its length on a fast-track case, when that differs

    def length_for(self, case: RefundCase) -> Length:
        return self.fast_track if (self.fast_track and case.fast_track) else self.length


MERCHANT_TIMER = "case.merchant_deadline"
BUYER_TIMER = "case.buyer_deadline"
COMPROMISE_TIMER = "case.compromise_deadline"
APPEAL_TIMER = "case.appeal_deadline"
DECIDE_TIMER = "case.decide_deadline"
REMINDER_TIMER = "case.reminder"

NEEDS_YOU = "售后单 {case} 需要你在 {due} 前处理"
# fmt: off
MERCHANT_DEADLINE = Deadline("merchant_respond_by", Length("hours", "merchant_respond_hours"), MERCHANT_TIMER, "merchant_timeout", Notice(To.MERCHANT, "deadline_near", NEEDS_YOU))
BUYER_DEADLINE = Deadline("buyer_respond_by", Length("days", "buyer_respond_days"), BUYER_TIMER, "buyer_timeout", Notice(To.BUYER, "deadline_near", NEEDS_YOU))
# decide_by passing decides nothing: the case is flagged overdue and staff are told (an unclaimed case waits in the queue)
DECIDE_DEADLINE = Deadline("decide_by", Length("working_days", "arbitration_working_days"), DECIDE_TIMER, "decision_overdue", Notice(To.CLAIMANT, "deadline_near", NEEDS_YOU), fast_track=Length("hours", "fast_track_hours"))
COMPROMISE_DEADLINE = Deadline("compromise_respond_by", Length("hours", "compromise_respond_hours"), COMPROMISE_TIMER, "compromise_timeout", Notice(To.UNANSWERED, "deadline_near", "售后单 {case} 的折中方案将于 {due} 到期"))
APPEAL_DEADLINE = Deadline("appeal_by", Length("days", "appeal_days"), APPEAL_TIMER, "appeal_timeout", Notice(To.PARTIES, "deadline_near", "售后单 {case} 的申诉期将于 {due} 结束"), fast_track=Length("hours", "fast_track_appeal_hours"))
# fmt: on
DEADLINES = (MERCHANT_DEADLINE, BUYER_DEADLINE, DECIDE_DEADLINE, COMPROMISE_DEADLINE, APPEAL_DEADLINE)
TIMERS = (*(d.timer for d in DEADLINES), REMINDER_TIMER)


@dataclass(frozen=True)
class PhaseSpec:
    status: CaseStatus  # what the contract shows
    deadline: Deadline | None = None
    notices: tuple[Notice, ...] = ()  # sent on entering it
    states_deadline: bool = False  # the event entering it records the deadline (credit statistics read it)


TO_BUYER = "，请在 {due} 前接受、申请平台介入或撤回"
TO_ARBITRATION = Notice(To.PARTIES, "in_arbitration", "售后单 {case} 已进入平台仲裁，预计 {due} 前出结果")
# fmt: off
PHASES: dict[Phase, PhaseSpec] = {
    P.AWAITING_MERCHANT:       PhaseSpec(CaseStatus.AWAITING_MERCHANT, MERCHANT_DEADLINE, (Notice(To.MERCHANT, "case_opened", "订单 {order} 的买家申请售后，请在 {due} 前处理"),)),
    P.AWAITING_BUYER_OFFER:    PhaseSpec(CaseStatus.AWAITING_BUYER, BUYER_DEADLINE, (Notice(To.BUYER, "merchant_offer", "售后单 {case}：商家提出部分退款 {offer}" + TO_BUYER),)),
    P.AWAITING_BUYER_REJECTED: PhaseSpec(CaseStatus.AWAITING_BUYER, BUYER_DEADLINE, (Notice(To.BUYER, "merchant_reject", "售后单 {case}：商家拒绝了退款申请" + TO_BUYER),)),
    P.AWAITING_BUYER_REPLACEMENT: PhaseSpec(CaseStatus.AWAITING_BUYER, BUYER_DEADLINE, (Notice(To.BUYER, "merchant_replacement", "售后单 {case}：商家已补发商品，请查收后在 {due} 前确认、申请平台介入或撤回"),)),
    P.IN_ARBITRATION:          PhaseSpec(CaseStatus.IN_ARBITRATION, DECIDE_DEADLINE, (TO_ARBITRATION,), states_deadline=True),
    P.IN_ARBITRATION_BINDING:  PhaseSpec(CaseStatus.IN_ARBITRATION, DECIDE_DEADLINE, (TO_ARBITRATION, Notice(To.CLAIMANT, "binding_decision_required", "售后单 {case} 的折中方案未获双方同意，请在 {due} 前作出有约束力的裁决")), states_deadline=True),
    P.COMPROMISE_PROPOSED:     PhaseSpec(CaseStatus.DECIDED, COMPROMISE_DEADLINE, (Notice(To.PARTIES, "compromise_proposed", "售后单 {case}：仲裁员提出折中方案 {proposal}，请在 {due} 前答复"),)),
    P.APPEAL_WINDOW:           PhaseSpec(CaseStatus.DECIDED, APPEAL_DEADLINE, (Notice(To.PARTIES, "decided", "售后单 {case} 已裁决，{due} 前可申诉一次"),)),
    P.IN_APPEAL:               PhaseSpec(CaseStatus.IN_APPEAL, DECIDE_DEADLINE, (Notice(To.PARTIES, "appealed", "售后单 {case} 已提起申诉，将由另一位仲裁员复核"),)),
    P.CLOSED:                  PhaseSpec(CaseStatus.CLOSED, None, (Notice(To.PARTIES, "case_closed", "售后单 {case} 已结束：{closing}"),)),
}
# fmt: on
OPEN_PHASES = tuple(p for p in PHASES if p != P.CLOSED)


# ---- settlement: the money a closing row moves ------------------------------------------------------


class Settle(StrEnum):
    """Which amount a closing row refunds (and so the resolution)."""

    WITHDRAWN = "withdrawn"  # nothing; the case ends withdrawn
    REQUESTED = "requested"  # what the buyer asked for
    OFFER = "offer"  # the merchant's offer
    DECISION = "decision"  # the decision that stands (the appeal's once it is decided)
    REPLACED = "replaced"  # nothing: the merchant sent new goods (补发) and the buyer keeps them


def standing_decision(case: RefundCase) -> dict | None:
    """The decision that stands: the appeal's once it is decided, else the first one."""
    if case.appeal and case.appeal.get("decision"):
        return case.appeal["decision"]
    return case.decision


def settlement(settle: Settle, case: RefundCase) -> tuple[int, str]:
    """(refund, resolution) of closing `case` so."""
    if settle == Settle.WITHDRAWN:
        return 0, Resolution.WITHDRAWN
    if settle == Settle.REPLACED:
        return 0, Resolution.REPLACED
    if settle == Settle.REQUESTED:
        refund = case.requested_amount
    elif settle == Settle.OFFER:
        refund = case.offer_amount or 0
    else:
        refund = (standing_decision(case) or {})["amount"]
    return refund, rules.resolution_for(refund, case.requested_amount)


# The resolutions of a case closed without a decision but with money agreed (the merchant's accept,
# the buyer's accept_offer, a fast-track refund of merchant silence): they settle the order for good.
SETTLED = (Resolution.REFUND_FULL, Resolution.REFUND_PARTIAL)

CLOSING: dict[str, str] = {  # how the closing notice states the outcome; {refund}: the amount refunded
    Resolution.REFUND_FULL: "全额退款 {refund}",
    Resolution.REFUND_PARTIAL: "部分退款 {refund}",
    Resolution.NO_REFUND: "不予退款",
    Resolution.WITHDRAWN: "买家已撤回",
    Resolution.REPLACED: "商家已补发，不退款",
}


# ---- the table ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    phase: Phase
    action: str
    actor: str
    target: Phase
    when: Guard | None = None  # chooses this row among the key's rows
    checks: tuple[Guard, ...] = ()  # refusals, in order
    writes: tuple[Write, ...] = ()
    claims: bool = False  # the actor takes the case (a "claimed" event when it is new to them)
    settle: Settle | None = None  # closing: refund this amount, then let the rest of the escrow go
    notices: tuple[Notice, ...] = ()  # sent before the move
    records: Record | None = None  # adds to the event's data
    event: str | None = None  # the event type written (None: no event of its own; a claim states itself)
    gathers_chat: bool = False  # the platform adds the order chat to the evidence when it changed since the last log


def on(
    phases: Phase | tuple[Phase, ...], action: str, actors: str | tuple[str, ...], target: Phase | None, **effects: Any
) -> list[Row]:
    """The rows of `action` by each of `actors` in each of `phases` (target None: the phase stays);
    the event written is named after the action unless `event` says otherwise."""
    effects.setdefault("event", action)
    each_phase = phases if isinstance(phases, tuple) else (phases,)
    each_actor = actors if isinstance(actors, tuple) else (actors,)
    return [Row(p, action, r, p if target is None else target, **effects) for p in each_phase for r in each_actor]


A_BUYER = (P.AWAITING_BUYER_OFFER, P.AWAITING_BUYER_REJECTED)
REPLACED = P.AWAITING_BUYER_REPLACEMENT
ARBITRATING = (P.IN_ARBITRATION, P.IN_ARBITRATION_BINDING)
SILENT_MERCHANT = "售后单 {case}：你未在时限内处理，"
# fmt: off
ROWS: tuple[Row, ...] = tuple(row for rows in (
    # ---- negotiation (协商) ----------------------------------------------------------------------------------------------------------------
    on(P.AWAITING_MERCHANT, "accept", MERCHANT, P.CLOSED, settle=Settle.REQUESTED, writes=(first_response,), records=after_what),
    on(P.AWAITING_MERCHANT, "offer", MERCHANT, P.AWAITING_BUYER_OFFER, checks=(offer_below_request,), writes=(first_response, offer_made), records=states("amount")),
    on(P.AWAITING_MERCHANT, "reject", MERCHANT, P.AWAITING_BUYER_REJECTED, checks=(rejection_explained,), writes=(first_response, rejection_given), records=states("reason")),
    on(P.AWAITING_MERCHANT, "withdraw", BUYER, P.CLOSED, settle=Settle.WITHDRAWN),
    # merchant silence is never rewarded: fast track refunds in full, anything else goes to arbitration
    on(P.AWAITING_MERCHANT, "merchant_timeout", SYSTEM, P.CLOSED, when=fast_track, settle=Settle.REQUESTED, writes=(merchant_silent,), records=states(fast_track=True),
       notices=(Notice(To.MERCHANT, "deadline_passed", SILENT_MERCHANT + "已按规则自动全额退款"),)),
    on(P.AWAITING_MERCHANT, "merchant_timeout", SYSTEM, P.IN_ARBITRATION, when=slow_track, writes=(merchant_silent,),
       notices=(Notice(To.MERCHANT, "deadline_passed", SILENT_MERCHANT + "已转平台仲裁并记录超时"),)),
    on(P.AWAITING_BUYER_OFFER, "accept_offer", BUYER, P.CLOSED, settle=Settle.OFFER),
    on((*A_BUYER, REPLACED), "escalate", BUYER, P.IN_ARBITRATION, records=states("reason"), gathers_chat=True),
    on((*A_BUYER, REPLACED), "withdraw", BUYER, P.CLOSED, settle=Settle.WITHDRAWN),
    on((*A_BUYER, REPLACED), "accept", MERCHANT, P.CLOSED, settle=Settle.REQUESTED, writes=(first_response,), records=after_what),  # the merchant gives in after all
    on(A_BUYER, "buyer_timeout", SYSTEM, P.CLOSED, settle=Settle.WITHDRAWN, notices=(Notice(To.BUYER, "deadline_passed", "售后单 {case}：你未在时限内答复，售后单已按撤回处理"),)),
    # ---- replacement (补发/换货): new goods instead of money; the buyer keeps them or escalates ------------------------------------------------
    on((P.AWAITING_MERCHANT, *A_BUYER), "replace", MERCHANT, REPLACED, writes=(first_response, replacement_sent), records=replacement_stated),
    on(REPLACED, "accept_replacement", BUYER, P.CLOSED, settle=Settle.REPLACED),
    # a replacement the buyer does not answer stands: no money moves and the escrow runs again
    on(REPLACED, "buyer_timeout", SYSTEM, P.CLOSED, settle=Settle.REPLACED, event="replacement_timeout", notices=(Notice(To.BUYER, "deadline_passed", "售后单 {case}：你未在时限内答复补发，售后单按已补发结束"),)),
    # ---- arbitration (平台介入) ----------------------------------------------------------------------------------------------------------------
    on(ARBITRATING, "claim", ARBITRATOR, None, checks=(not_claimed_by_another,), claims=True, event=None),
    on(P.IN_ARBITRATION, "decide", ARBITRATOR, P.COMPROMISE_PROPOSED, when=proposes_compromise, checks=DECIDES, claims=True, writes=(decision_made, answers_reset), records=decision_stated),
    on(P.IN_ARBITRATION, "decide", ARBITRATOR, P.APPEAL_WINDOW, when=binding, checks=DECIDES, claims=True, writes=(decision_made, acceptances_reset), records=decision_stated),
    on(P.IN_ARBITRATION_BINDING, "decide", ARBITRATOR, P.APPEAL_WINDOW, checks=(*DECIDES, binding_after_compromise), claims=True, writes=(decision_made, acceptances_reset), records=decision_stated),
    on(ARBITRATING, "withdraw", BUYER, P.CLOSED, settle=Settle.WITHDRAWN),
    on(ARBITRATING, "accept", MERCHANT, P.CLOSED, settle=Settle.REQUESTED, writes=(first_response,), records=after_what),
    on(ARBITRATING, "decision_overdue", SYSTEM, None, notices=(Notice(To.STAFF, "decision_overdue", "售后单 {case} 已超过仲裁时限"),)),
    # ---- after a decision: the compromise answered, the decision accepted, the appeal window -----------------------------------------------------
    on(P.COMPROMISE_PROPOSED, "respond_compromise", PARTIES, P.IN_ARBITRATION_BINDING, when=declines, checks=(not_answered_yet,), writes=(compromise_answered, proposal_dropped), records=states("accept")),
    on(P.COMPROMISE_PROPOSED, "respond_compromise", PARTIES, None, when=accepts_first, checks=(not_answered_yet,), writes=(compromise_answered,), records=states("accept")),
    on(P.COMPROMISE_PROPOSED, "respond_compromise", PARTIES, P.CLOSED, when=accepts_second, checks=(not_answered_yet,), writes=(compromise_answered, decision_final), settle=Settle.DECISION, records=states("accept")),
    on(P.COMPROMISE_PROPOSED, "compromise_timeout", SYSTEM, P.IN_ARBITRATION_BINDING, writes=(proposal_dropped,),
       notices=(Notice(To.UNANSWERED, "deadline_passed", "售后单 {case}：你未在时限内答复折中方案，案件退回仲裁员裁决"),)),
    on(P.APPEAL_WINDOW, "accept_decision", PARTIES, P.CLOSED, when=last_acceptance, checks=(decision_went_against_them, not_accepted_yet), writes=(decision_accepted, decision_final), settle=Settle.DECISION),
    on(P.APPEAL_WINDOW, "accept_decision", PARTIES, None, when=more_acceptances_due, checks=(decision_went_against_them, not_accepted_yet), writes=(decision_accepted,)),
    on(P.APPEAL_WINDOW, "appeal", PARTIES, P.IN_APPEAL, checks=(appeal_unused, appeal_explained, new_evidence_since_decision), writes=(appeal_lodged,), records=states("reason"), gathers_chat=True),
    on(P.APPEAL_WINDOW, "appeal_timeout", SYSTEM, P.CLOSED, writes=(decision_final,), settle=Settle.DECISION, notices=(Notice(To.PARTIES, "deadline_passed", "售后单 {case}：申诉期已结束，裁决生效"),)),
    # ---- appeal (二次申诉): decided once more, finally, by another arbitrator --------------------------------------------------------------------
    on(P.IN_APPEAL, "claim", ARBITRATOR, None, checks=(not_the_first_arbitrator, not_claimed_by_another), claims=True, event=None),
    on(P.IN_APPEAL, "decide", ARBITRATOR, P.CLOSED, checks=(not_the_first_arbitrator, *DECIDES, binding_in_appeal), claims=True, writes=(appeal_decided,), settle=Settle.DECISION, records=appeal_decision_stated),
    on(P.IN_APPEAL, "decision_overdue", SYSTEM, None, notices=(Notice(To.STAFF, "decision_overdue", "售后单 {case} 已超过仲裁时限"),)),
) for row in rows)
# fmt: on


# ---- what each action's caller sends ----------------------------------------------------------------


class Kind(StrEnum):
    TEXT = "text"  # stripped; missing → ""
    OPTIONAL_TEXT = "optional_text"  # the same, and the body may leave it out (or be absent altogether)
    AMOUNT = "amount"  # integer fen, checked by the row
    OPTIONAL_AMOUNT = "optional_amount"
    CHOICE = "choice"  # one code of a closed set, checked by the row
    FLAG = "flag"  # yes or no


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind


@dataclass(frozen=True)
class Input:
    schema: str  # the request body's name in the API document ("" for none)
    fields: tuple[Field, ...] = ()


NOTHING = Input("")
AMOUNT = Input("OfferIn", (Field("amount", Kind.AMOUNT),))
REASON = Input("ReasonIn", (Field("reason", Kind.TEXT),))
DECISION = Input(
    "DecideIn",
    (
        Field("outcome", Kind.CHOICE),
        Field("amount", Kind.OPTIONAL_AMOUNT),
        Field("rationale", Kind.TEXT),
        Field("rule", Kind.OPTIONAL_TEXT),  # a rule id from GET /policies `rules`
    ),
)
ANSWER = Input("CompromiseIn", (Field("accept", Kind.FLAG),))

# In the order the API answers `available_actions` and the document lists the routes.
ACTIONS: dict[str, Input] = {
    "accept": NOTHING,
    "offer": AMOUNT,
    "reject": REASON,
    "accept_offer": NOTHING,
    "replace": Input("ReplaceIn", (Field("content", Kind.OPTIONAL_TEXT),)),  # a card-key order needs none
    "accept_replacement": NOTHING,
    "escalate": Input("EscalateIn", (Field("reason", Kind.OPTIONAL_TEXT),)),  # why the offer will not do
    "withdraw": NOTHING,
    "claim": NOTHING,
    "decide": DECISION,
    "respond_compromise": ANSWER,
    "appeal": REASON,
    "accept_decision": NOTHING,
    # the system's, fired by the deadlines
    "merchant_timeout": NOTHING,
    "buyer_timeout": NOTHING,
    "compromise_timeout": NOTHING,
    "appeal_timeout": NOTHING,
    "decision_overdue": NOTHING,
}


def clean(action: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The action's input as its rows read it: every field present, text stripped, flags as booleans."""
    out: dict[str, Any] = {}
    for field in ACTIONS[action].fields:
        value = given.get(field.name)
        if field.kind in (Kind.TEXT, Kind.OPTIONAL_TEXT):
            value = (value or "").strip()
        elif field.kind == Kind.FLAG:
            value = bool(value)
        out[field.name] = value
    return out


# ---- reading the table ------------------------------------------------------------------------------

_BY_KEY: dict[tuple[str, str, str], tuple[Row, ...]] = {}
for _row in ROWS:
    _BY_KEY[(_row.phase, _row.action, _row.actor)] = (*_BY_KEY.get((_row.phase, _row.action, _row.actor), ()), _row)
_ROLES: dict[str, frozenset[str]] = {}
for _row in ROWS:
    _ROLES[_row.action] = _ROLES.get(_row.action, frozenset()) | {_row.actor}

PUBLIC_ACTIONS = tuple(a for a in ACTIONS if _ROLES.get(a, frozenset()) - {SYSTEM})


def rows_for(phase: str, action: str, actor: str | None) -> tuple[Row, ...]:
    return _BY_KEY.get((phase, action, actor or ""), ())


def roles_for(action: str) -> frozenset[str]:
    """Who may ever take `action` (anyone else is refused whatever the phase)."""
    return _ROLES.get(action, frozenset())


def choose(rows: tuple[Row, ...], attempt: Attempt) -> Row:
    """The one row whose guard holds, once its checks pass (the first that fails refuses)."""
    chosen = [r for r in rows if r.when is None or r.when.test(attempt)]
    if len(chosen) != 1:  # the table's own tests prove this never happens
        raise LookupError(f"{len(chosen)} rows for {rows[0].phase}/{rows[0].action}/{rows[0].actor}")
    for guard in chosen[0].checks:
        if not guard.test(attempt):
            assert guard.refusal is not None, guard.name
            raise DomainError(guard.refusal, param=guard.param)
    return chosen[0]


class _NoFacts:
    """Deciding what is offered never asks the database (the guards that offer read the case only)."""

    def refundable(self) -> int:
        raise AssertionError("offering needs no facts")

    def new_evidence(self) -> bool:
        raise AssertionError("offering needs no facts")

    def category_rule(self) -> str:
        raise AssertionError("offering needs no facts")

    def decision_rule(self, rule_id: str) -> Any:
        raise AssertionError("offering needs no facts")

    def send_replacement(self, content: str, now: datetime) -> dict:
        raise AssertionError("offering needs no facts")


def offered(case: RefundCase, role: str | None, now: datetime) -> list[str]:
    """The public actions `role` may take on `case` now (the pages show only these buttons)."""
    attempt = Attempt(case, role or "", None, now, {}, _NoFacts())
    return [
        action
        for action in PUBLIC_ACTIONS
        if any(all(g.test(attempt) for g in row.checks if g.offers) for row in rows_for(case.phase, action, role))
    ]


def at_stake(action: str, case: RefundCase) -> int | None:
    """What `action` would refund from the case's phase (the pages put it on the button), if it refunds."""
    for row in ROWS:
        if row.phase == case.phase and row.action == action and row.settle not in (None, Settle.WITHDRAWN):
            return settlement(row.settle, case)[0]
    return None


def timeout_due(case: RefundCase, now: datetime) -> str | None:
    """The system action the case's passed deadline fires, when that timeout moves the case on: an
    action arriving after it must not beat it (a stopped sweeper never turns a missed deadline into
    a win). A deadline whose timeout leaves the case where it is (decision_overdue) blocks nothing."""
    deadline = PHASES[Phase(case.phase)].deadline
    if deadline is None:
        return None
    due = getattr(case, deadline.field)
    if due is None or due > now:
        return None
    moves = any(row.target != row.phase for row in rows_for(case.phase, deadline.fires, SYSTEM))
    return deadline.fires if moves else None


def leads_to(phase: str, action: str, target: Phase) -> bool:
    """Whether `action` can lead from `phase` to `target` (the decision form offers a compromise only
    where a decision may propose one; it warns where a decision is final)."""
    return any(r.phase == phase and r.action == action and r.target == target for r in ROWS)


# ---- events: the timeline's labels and details, the complaint's sentences --------------------------------


@dataclass(frozen=True)
class Telling:
    """An event as one reader tells it: its data, and how that reader names the actor, money and codes."""

    data: Mapping[str, Any]
    to_status: str
    who: str = ""  # the actor, as this reader names them
    money: str = ""  # data["amount"] in this reader's money format ("" when there is none)
    category: str = ""  # data["category"] (an evidence category) as this reader names it
    reason: str = ""  # the case's reason, as this reader names it
    description: str = ""  # the buyer's description of the problem
    rationale: str = ""  # a decision's rationale


@dataclass(frozen=True)
class EventText:
    label: str | Promise  # the timeline's name for it
    detail: Callable[[Telling], str] | None = None  # what the timeline adds after the name (translated)
    sentence: Callable[[Telling], str] | None = None  # the fact as the buyer states it (Chinese)
    closing: bool = True  # a complaint sentence ending the case adds how it ended
    bookkeeping: bool = False  # no sentence of its own: another event states it, or it is no fact for a complaint


def _colon(text: str) -> str:
    return gettext("：") + text


def _decide_detail(t: Telling) -> str:
    outcome = t.data.get("outcome")
    text = _colon(label(Outcome, outcome))
    if outcome in (Outcome.REFUND_PARTIAL, Outcome.COMPROMISE):
        text += " " + t.money
    if t.data.get("appeal"):
        text += " " + gettext("（申诉终局裁决）")
    return text


def _decide_sentence(t: Telling) -> str:
    text = f"平台仲裁员作出{'申诉复核' if t.data.get('appeal') else ''}裁决：{label(Outcome, t.data.get('outcome'))}"
    if t.money and t.data.get("outcome") != Outcome.NO_REFUND:
        text += f" {t.money}"
    if t.rationale:
        text += f"，理由：“{t.rationale}”"
    return text


def _merchant_timeout_sentence(t: Telling) -> str:
    if t.data.get("fast_track"):
        return "商家超过响应时限未处理，平台按小额快速通道规则处理"
    return "商家超过响应时限未处理，案件转入平台仲裁"


# fmt: off
EVENTS: dict[str, EventText] = {
    "opened":             EventText(_("买家申请售后"), lambda t: gettext("：%(r)s，申请退款 %(a)s") % {"r": label(Reason, t.data.get("reason")), "a": t.money},
                                    lambda t: f"本人在平台申请售后（{t.reason}），申请退款 {t.money}，问题描述：{t.description}"),
    "evidence_added":     EventText(_("补充证据"), lambda t: _colon(t.category), lambda t: f"{t.who}补充证据（{t.category}）"),
    "accept":             EventText(_("商家同意退款"), None, lambda t: "商家同意退款"),
    "offer":              EventText(_("商家提出部分退款"), lambda t: gettext("：%(a)s") % {"a": t.money}, lambda t: f"商家只同意部分退款 {t.money}"),
    "reject":             EventText(_("商家拒绝退款"), lambda t: _colon(t.data["reason"]) if t.data.get("reason") else "",
                                    lambda t: f"商家拒绝退款，理由：“{t.data.get('reason', '')}”"),
    "withdraw":           EventText(_("买家撤回申请"), None, lambda t: "本人撤回售后申请", closing=False),
    "merchant_timeout":   EventText(_("商家超时未处理"), lambda t: gettext("，已转平台仲裁") if t.to_status == CaseStatus.IN_ARBITRATION else "", _merchant_timeout_sentence),
    "replace":            EventText(_("商家补发商品"), lambda t: gettext("：新的卡密已发出，买家可在订单中查看") if t.data.get("items") else gettext("：补发内容已发出，买家可在订单中查看"),
                                    lambda t: "商家补发了商品（新的卡密或交付内容）"),
    "accept_replacement": EventText(_("买家接受补发"), None, lambda t: "本人确认补发的商品可用，接受补发"),
    "replacement_timeout": EventText(_("买家超时未答复补发，按已补发结束"), None, lambda t: "本人未在期限内答复商家的补发，售后单按已补发结束"),
    "accept_offer":       EventText(_("买家接受部分退款"), None, lambda t: "本人接受商家的部分退款方案"),
    "escalate":           EventText(_("买家申请平台介入"), lambda t: _colon(t.data["reason"]) if t.data.get("reason") else "",
                                    lambda t: "本人申请平台介入仲裁" + (f"，理由：“{t.data['reason']}”" if t.data.get("reason") else "")),
    "buyer_timeout":      EventText(_("买家超时未答复，按撤回处理"), None, lambda t: "本人未在期限内答复商家的方案，售后单按撤回关闭"),
    "claimed":            EventText(_("仲裁员接手"), bookkeeping=True),
    "decide":             EventText(_("仲裁员作出裁决"), _decide_detail, _decide_sentence),
    "respond_compromise": EventText(_("答复折中方案"), lambda t: _colon(gettext("同意") if t.data.get("accept") else gettext("不同意")),
                                    lambda t: f"{t.who}{'接受' if t.data.get('accept') else '拒绝'}了仲裁员提出的折中方案"),
    "compromise_timeout": EventText(_("折中方案超时，退回仲裁员"), None, lambda t: "折中方案未在期限内获得双方同意，案件退回仲裁员重新裁决"),
    "accept_decision":    EventText(_("接受裁决"), None, lambda t: f"{t.who}接受平台裁决"),
    "appeal":             EventText(_("提起申诉"), lambda t: _colon(t.data.get("reason", "")), lambda t: f"{t.who}对裁决提出申诉，理由：“{t.data.get('reason', '')}”"),
    "appeal_timeout":     EventText(_("申诉期结束，裁决生效"), None, lambda t: "申诉期届满，平台裁决生效"),
    "refunded":           EventText(_("退款到账"), lambda t: gettext("：%(a)s 已退回买家钱包") % {"a": t.money}, bookkeeping=True),  # the closing event states it
    "decision_overdue":   EventText(_("仲裁超过时限"), None, lambda t: "平台仲裁超过承诺时限仍未作出裁决"),
}
# fmt: on

# How the buyer's complaint names each actor (the documents are written in the buyer's voice: 本人).
AS_THE_BUYER_SAYS: dict[str, str] = {
    BUYER: "本人",
    MERCHANT: "商家",
    ARBITRATOR: "平台仲裁员",
    Actor.ADMIN: "平台管理员",
    SYSTEM: "平台系统",
}


# ---- what happens next: the contract's next_step, read from the phase's deadline and its timeout row ------


class Then(StrEnum):
    """What the platform does when a phase's deadline passes with nobody acting (`on_timeout`)."""

    TO_ARBITRATION = "to_arbitration"  # the case goes to an arbitrator
    BACK_TO_ARBITRATOR = "back_to_arbitrator"  # a failed compromise: the arbitrator decides, bindingly
    FINAL = "final"  # the decision takes effect
    OVERDUE = "overdue"  # nothing moves: the case is flagged overdue and staff are told
    # closing rows name their resolution: refund_full, withdrawn, … (Resolution's values)


WHO_ACTS: dict[To, str] = {  # who a deadline waits for: the party its reminder goes to
    To.BUYER: BUYER,
    To.MERCHANT: MERCHANT,
    To.CLAIMANT: ARBITRATOR,
    To.UNANSWERED: "parties",
    To.PARTIES: "parties",
}
ENTERING: dict[Phase, Then] = {P.IN_ARBITRATION: Then.TO_ARBITRATION, P.IN_ARBITRATION_BINDING: Then.BACK_TO_ARBITRATOR}


@dataclass(frozen=True)
class NextStep:
    actor: str | None  # buyer | merchant | arbitrator | parties; None on a closed case
    due_by: datetime | None
    on_timeout: str | None  # a Then, or the resolution a closing timeout row settles with
    refund: int | None = None  # what the timeout refunds, when it closes the case with money

    @property
    def money_moves(self) -> bool:
        return bool(self.refund)


def timeout_row(case: RefundCase) -> Row | None:
    """The system row the case's running deadline fires, chosen by its guards as the timer would."""
    spec = PHASES[Phase(case.phase)]
    if spec.deadline is None:
        return None
    rows = rows_for(case.phase, spec.deadline.fires, SYSTEM)
    attempt = Attempt(case, SYSTEM, None, datetime.min, {}, _NoFacts())
    chosen = [r for r in rows if r.when is None or r.when.test(attempt)]
    return chosen[0] if chosen else None


def next_step(case: RefundCase) -> NextStep:
    """Who must act, by when, and what the platform does if nobody does — from the phase's deadline
    (its field, the party its reminder goes to) and the timeout row that deadline fires."""
    spec = PHASES[Phase(case.phase)]
    row = timeout_row(case)
    if spec.deadline is None or row is None:
        return NextStep(None, None, None)
    actor = WHO_ACTS[spec.deadline.reminder.to]
    due_by = getattr(case, spec.deadline.field)
    if row.target == P.CLOSED and row.settle is not None:
        refund, resolution = settlement(row.settle, case)
        then = Then.FINAL if row.settle == Settle.DECISION else resolution
        return NextStep(actor, due_by, str(then), refund or None)
    if row.target == row.phase:
        return NextStep(actor, due_by, Then.OVERDUE.value)
    return NextStep(actor, due_by, ENTERING[row.target].value)
