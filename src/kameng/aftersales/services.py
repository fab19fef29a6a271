"""Refund-case use cases: the only code that changes a case.

Every action: lock the case (and its order), check the role, then the transition table and
its guard, then the deadline; change state; append an event; move money when the outcome is
final — all in one transaction. Timers call the same functions with actor=None (system).
Time is a parameter: each use case takes `now` (default: the clock), so a story can be told
at any moment (the demo's overdue case is told days ago).
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from kameng.accounts.models import Role, User
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.evidence import services as evidence
from kameng.orders import services as orders
from kameng.orders.models import Order
from kameng.policy.services import add_working_days, get_policy
from kameng.timers import jobs
from kameng.timers import services as timers

from . import rules
from .models import OPEN_STATUSES, CaseEvent, CaseStatus, Notification, Outcome, Reason, RefundCase

MERCHANT_TIMER = "case.merchant_deadline"
BUYER_TIMER = "case.buyer_deadline"
COMPROMISE_TIMER = "case.compromise_deadline"
APPEAL_TIMER = "case.appeal_deadline"
DECIDE_TIMER = "case.decide_deadline"
REMINDER_TIMER = "case.reminder"
ALL_TIMERS = (MERCHANT_TIMER, BUYER_TIMER, COMPROMISE_TIMER, APPEAL_TIMER, DECIDE_TIMER, REMINDER_TIMER)


# ---- reading -------------------------------------------------------------------------------


def visible_cases(user: User):
    if user.role == Role.BUYER:
        return RefundCase.objects.filter(buyer=user)
    if user.role == Role.MERCHANT:
        return RefundCase.objects.filter(shop__owner=user)
    if user.role in (Role.ARBITRATOR, Role.ADMIN):
        return RefundCase.objects.all()
    return RefundCase.objects.none()


def get_case_for(case_id, user: User) -> RefundCase:
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise DomainError(Error.CASE_NOT_FOUND) from None
    case = visible_cases(user).select_related("order", "shop", "buyer").filter(pk=pk).first()
    if case is None:
        raise DomainError(Error.CASE_NOT_FOUND)
    return case


def role_on_case(case: RefundCase, user: User) -> str | None:
    if user.pk == case.buyer_id:
        return rules.BUYER
    if user.pk == case.shop.owner_id:
        return rules.MERCHANT
    if user.role == Role.ARBITRATOR:
        return rules.ARBITRATOR
    if user.role == Role.ADMIN:
        return "admin"
    return None


def arbitration_queue():
    """Cases waiting for an arbitrator, earliest decide_by first."""
    return RefundCase.objects.filter(status__in=[CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL]).order_by(
        "decide_by", "id"
    )


# ---- internals -----------------------------------------------------------------------------


def _lock(case: RefundCase | int) -> RefundCase:
    """Lock the case row only (the order row is locked by _lock_order when money may move)."""
    pk = case if isinstance(case, int) else case.pk
    return (
        RefundCase.objects.select_for_update(of=("self",))
        .select_related("order", "shop", "buyer", "shop__owner")
        .get(pk=pk)
    )


def _lock_order(case: RefundCase) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "buyer").get(pk=case.order_id)


def _check(case: RefundCase, action: str, role: str | None) -> frozenset[str]:
    """Role first (403 whatever the status), then the table and its guard (409 invalid_state)."""
    if role is None or role not in rules.ACTION_ROLES.get(action, ()):
        raise DomainError(Error.CASE_ROLE_NOT_ALLOWED)
    targets = rules.allowed(case.status, action, role, case.decision, case.offer_amount)
    if targets is None:
        raise DomainError(Error.CASE_ACTION_NOT_ALLOWED)
    return targets


def _move(case: RefundCase, action: str, to_status: str, actor: User | None, now, **data) -> None:
    from_status = case.status
    role = rules.SYSTEM if actor is None else role_on_case(case, actor)
    # _check already applied the guard; here the table alone must allow this exact move.
    targets = rules.TRANSITIONS.get((from_status, action, role))
    assert targets is not None and to_status in targets, (from_status, action, role, to_status)
    case.status = to_status
    case.save()
    _append_event(
        case=case,
        type=action,
        actor=actor,
        actor_role=role,
        from_status=from_status,
        to_status=to_status,
        data=data,
        at=now,
    )


def _event(case: RefundCase, type_: str, actor: User | None, now, **data) -> None:
    role = rules.SYSTEM if actor is None else (role_on_case(case, actor) or actor.role)
    _append_event(
        case=case,
        type=type_,
        actor=actor,
        actor_role=role,
        from_status=case.status,
        to_status=case.status,
        data=data,
        at=now,
    )


def _append_event(**fields) -> CaseEvent:
    """Every case event is written here, and merchant credit hears of it in the same transaction."""
    from kameng.trust.services import record_case_event

    event = CaseEvent.objects.create(**fields)
    record_case_event(event)
    return event


def _notify(user: User, case: RefundCase, kind: str, text: str, now) -> None:
    Notification.objects.create(user=user, case=case, kind=kind, text=text[:500], created_at=now)
    if user.email:
        # After commit: on Celery when a broker is configured, in this process otherwise.
        jobs.enqueue("send_notification_email", user.email, f"[卡盟] 售后单 {case.pk}", text)


def _local(moment: datetime) -> str:
    """A deadline as the parties read it: in the platform's time zone (Beijing time)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _notify_parties(case: RefundCase, kind: str, text: str, now) -> None:
    _notify(case.buyer, case, kind, text, now)
    _notify(case.shop.owner, case, kind, text, now)


def _schedule(kind: str, case: RefundCase, due, now) -> None:
    """The deadline's timer, and a reminder `deadline_reminder_hours` (24 h) before it."""
    timers.schedule(kind, f"case:{case.pk}", due, now=now)
    remind_at = due - timedelta(hours=get_policy().deadline_reminder_hours)
    if remind_at > now:
        timers.schedule(REMINDER_TIMER, f"case:{case.pk}", remind_at, now=now)


def _cancel_timers(case: RefundCase, *kinds: str) -> None:
    for kind in kinds or ALL_TIMERS:
        timers.cancel(kind, f"case:{case.pk}")


def _refund(case: RefundCase, order: Order, amount: int, now, *, key: str, actor: User | None = None) -> None:
    if amount <= 0:
        return
    # The journal names who made the refund final (the case id is in its own column): the audit log.
    if orders.refund_to_buyer(
        order, amount, key=key, now=now, case_id=case.pk, actor=actor.username if actor is not None else "system"
    ):
        case.refunded_amount += amount
        case.save(update_fields=["refunded_amount"])
        _event(case, "refunded", None, now, amount=amount)


def _close(
    case: RefundCase, order: Order, action: str, actor: User | None, now, *, refund: int, resolution: str, **data
) -> None:
    """Final outcome: refund exactly once, close, let the rest of the escrow go to the merchant."""
    _refund(case, order, refund, now, key=f"refund:case:{case.pk}", actor=actor)
    case.resolution = resolution
    case.closed_at = now
    for field in ("merchant_respond_by", "buyer_respond_by", "decide_by", "compromise_respond_by", "appeal_by"):
        setattr(case, field, None)
    _move(case, action, CaseStatus.CLOSED, actor, now, refund=refund, resolution=resolution, **data)
    _cancel_timers(case)
    orders.unfreeze_escrow(order, now)
    _notify_parties(case, "case_closed", f"售后单 {case.pk} 已结束：{_resolution_text(resolution, refund)}", now)


def _resolution_text(resolution: str, refund: int) -> str:
    money = f"¥{refund // 100}.{refund % 100:02d}"
    return {
        "refund_full": f"全额退款 {money}",
        "refund_partial": f"部分退款 {money}",
        "no_refund": "不予退款",
        "withdrawn": "买家已撤回",
    }[resolution]


def _to_arbitration(case: RefundCase, action: str, actor: User | None, now, **data) -> None:
    policy = get_policy()
    case.decide_by = (
        now + timedelta(hours=policy.fast_track_hours)
        if case.fast_track
        else add_working_days(now, policy.arbitration_working_days)
    )
    case.merchant_respond_by = None
    case.buyer_respond_by = None
    case.compromise_respond_by = None
    _cancel_timers(case)
    _move(case, action, CaseStatus.IN_ARBITRATION, actor, now, decide_by=case.decide_by.isoformat(), **data)
    _schedule(DECIDE_TIMER, case, case.decide_by, now)
    _notify_parties(
        case, "in_arbitration", f"售后单 {case.pk} 已进入平台仲裁，预计 {_local(case.decide_by)} 前出结果", now
    )


# ---- opening -------------------------------------------------------------------------------


def open_case(
    *, acting_user: User, order_id, reason: str, description: str, amount: int, now: datetime | None = None
) -> RefundCase:
    """申请售后. Checks in the contract's order: window, one open case, amount, no-reason."""
    if acting_user.role != Role.BUYER:
        raise DomainError(Error.CASE_BUYER_ONLY)
    order = orders.get_order_for(order_id, acting_user)
    if reason not in {r.value for r in Reason}:
        raise DomainError(Error.CASE_REASON_INVALID, param="reason")
    description = (description or "").strip()
    if not description or len(description) > 5000:
        raise DomainError(Error.CASE_DESCRIPTION_INVALID, param="description")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(Error.CASE_AMOUNT_INVALID, param="amount")
    now = now or clock_now()
    policy = get_policy()
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("shop", "buyer", "listing_version")
            .get(pk=order.pk)
        )
        if order.after_sale_until is not None and now > order.after_sale_until:
            raise DomainError(Error.REFUND_WINDOW_CLOSED)
        if RefundCase.objects.filter(order=order, status__in=OPEN_STATUSES).exists():
            raise DomainError(Error.CASE_ALREADY_OPEN)
        if RefundCase.objects.filter(order=order, status=CaseStatus.CLOSED, decision__isnull=False).exists():
            # The platform already ruled on this order (finally, after the appeal window): no second round.
            raise DomainError(Error.CASE_ALREADY_DECIDED)
        refundable = order.paid_amount - order.refunded_amount
        if amount > refundable:
            raise DomainError(Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, param="amount", max=refundable)
        if reason == Reason.NO_REASON and not order.snapshot.get("no_reason_refund"):
            raise DomainError(Error.NO_REASON_NOT_ALLOWED)
        fast = rules.is_fast_track(amount, order.snapshot["category_class"], policy.fast_track_threshold_fen)
        try:
            with transaction.atomic():
                case = RefundCase.objects.create(
                    order=order,
                    buyer=acting_user,
                    shop=order.shop,
                    reason=reason,
                    description=description,
                    requested_amount=amount,
                    fast_track=fast,
                    created_at=now,
                    merchant_respond_by=now + timedelta(hours=policy.merchant_respond_hours),
                )
        except IntegrityError:
            raise DomainError(Error.CASE_ALREADY_OPEN) from None
        _append_event(
            case=case,
            type="opened",
            actor=acting_user,
            actor_role=rules.BUYER,
            to_status=case.status,
            data={"reason": reason, "amount": amount},
            at=now,
        )
        orders.freeze_escrow(order, now)
        _attach_system_evidence(case, order, now)
        _schedule(MERCHANT_TIMER, case, case.merchant_respond_by, now)
        _notify(
            order.shop.owner,
            case,
            "case_opened",
            f"订单 {order.number} 的买家申请售后，请在 {_local(case.merchant_respond_by)} 前处理",
            now,
        )
    _after_evidence(case)
    return case


def _attach_system_evidence(case: RefundCase, order: Order, now) -> None:
    """The platform's own evidence: listing snapshot, transaction record, chat log (four-dimension chain)."""
    from kameng.evidence.documents import chat_log_text, snapshot_text, transaction_text

    evidence.append_text(
        case, category="listing", filename=f"listing-snapshot-{order.number}.txt", text=snapshot_text(order), now=now
    )
    evidence.append_text(
        case, category="transaction", filename=f"transaction-{order.number}.txt", text=transaction_text(order), now=now
    )
    evidence.append_text(
        case, category="communication", filename=f"chat-log-{order.number}.txt", text=chat_log_text(order), now=now
    )


def _after_evidence(case: RefundCase) -> None:
    """Evidence analysis (the arbitrator's assist) once the evidence is committed: a background job."""
    jobs.enqueue("analyse_case", case.pk)


# ---- negotiation ---------------------------------------------------------------------------


def accept(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    """Merchant agrees: the requested amount is refunded at once."""
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "accept", role_on_case(case, acting_user))
        order = _lock_order(case)
        _first_response(case, now)
        _close(
            case,
            order,
            "accept",
            acting_user,
            now,
            refund=case.requested_amount,
            resolution=rules.resolution_for(case.requested_amount, case.requested_amount),
            after_rejection=bool(case.rejection_reason),
            after_escalation=case.decide_by is not None,
        )
    return case


def offer(case: RefundCase, *, acting_user: User, amount: int, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "offer", role_on_case(case, acting_user))
        if not isinstance(amount, int) or isinstance(amount, bool) or not (0 < amount < case.requested_amount):
            raise DomainError(Error.OFFER_AMOUNT_INVALID, param="amount")
        _first_response(case, now)
        case.offer_amount = amount
        _to_buyer(case, "offer", acting_user, now, amount=amount)
    return case


def reject(case: RefundCase, *, acting_user: User, reason: str, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "reject", role_on_case(case, acting_user))
        reason = (reason or "").strip()
        if not reason or len(reason) > 2000:
            raise DomainError(Error.REJECTION_REASON_REQUIRED, param="reason")
        _first_response(case, now)
        case.rejection_reason = reason
        _to_buyer(case, "reject", acting_user, now, reason=reason)
    return case


def _first_response(case: RefundCase, now) -> None:
    if case.first_response_at is None:
        case.first_response_at = now


def _to_buyer(case: RefundCase, action: str, actor: User, now, **data) -> None:
    policy = get_policy()
    case.merchant_respond_by = None
    case.buyer_respond_by = now + timedelta(days=policy.buyer_respond_days)
    _cancel_timers(case)
    _move(case, action, CaseStatus.AWAITING_BUYER, actor, now, **data)
    _schedule(BUYER_TIMER, case, case.buyer_respond_by, now)
    text = (
        f"商家提出部分退款 ¥{case.offer_amount // 100}.{case.offer_amount % 100:02d}"
        if action == "offer"
        else "商家拒绝了退款申请"
    )
    _notify(
        case.buyer,
        case,
        f"merchant_{action}",
        f"售后单 {case.pk}：{text}，请在 {_local(case.buyer_respond_by)} 前接受、申请平台介入或撤回",
        now,
    )


def accept_offer(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "accept_offer", role_on_case(case, acting_user))
        order = _lock_order(case)
        _close(
            case,
            order,
            "accept_offer",
            acting_user,
            now,
            refund=case.offer_amount,
            resolution=rules.resolution_for(case.offer_amount, case.requested_amount),
        )
    return case


def escalate(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "escalate", role_on_case(case, acting_user))
        _to_arbitration(case, "escalate", acting_user, now)
    return case


def withdraw(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "withdraw", role_on_case(case, acting_user))
        order = _lock_order(case)
        _close(case, order, "withdraw", acting_user, now, refund=0, resolution="withdrawn")
    return case


# ---- arbitration ---------------------------------------------------------------------------


def claim(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "claim", role_on_case(case, acting_user))
        _claim(case, acting_user, now)
    return case


def _claim(case: RefundCase, arbitrator: User, now) -> None:
    if case.status == CaseStatus.IN_APPEAL and case.first_arbitrator_id == arbitrator.pk:
        raise DomainError(Error.APPEAL_CONFLICT_OF_INTEREST)
    if case.claimed_by_id and case.claimed_by_id != arbitrator.pk:
        raise DomainError(Error.CASE_ALREADY_CLAIMED)
    if case.claimed_by_id != arbitrator.pk:
        case.claimed_by = arbitrator
        case.claimed_at = now
        case.save(update_fields=["claimed_by", "claimed_at"])
        _event(case, "claimed", arbitrator, now)


def decide(
    case: RefundCase,
    *,
    acting_user: User,
    outcome: str,
    rationale: str,
    amount: int | None = None,
    now: datetime | None = None,
) -> RefundCase:
    now = now or clock_now()
    policy = get_policy()
    with transaction.atomic():
        case = _lock(case)
        _check(case, "decide", role_on_case(case, acting_user))
        _claim(case, acting_user, now)
        if outcome not in {o.value for o in Outcome}:
            raise DomainError(Error.DECISION_OUTCOME_INVALID, param="outcome")
        rationale = (rationale or "").strip()
        if len(rationale) < 10:
            raise DomainError(Error.DECISION_RATIONALE_REQUIRED, param="rationale")
        order = _lock_order(case)
        refundable = order.paid_amount - order.refunded_amount
        if outcome in (Outcome.REFUND_PARTIAL, Outcome.COMPROMISE):
            if not isinstance(amount, int) or isinstance(amount, bool) or not (0 < amount < case.requested_amount):
                raise DomainError(Error.DECISION_AMOUNT_INVALID, param="amount")
        else:
            amount = rules.refund_amount_for(outcome, case.requested_amount, amount)
        if amount > refundable:
            raise DomainError(Error.DECISION_AMOUNT_EXCEEDS_REFUNDABLE, param="amount")
        record = {
            "outcome": outcome,
            "amount": amount,
            "rationale": rationale,
            "arbitrator": str(acting_user.pk),
            "decided_at": now.isoformat(),
            "final": False,
            "category_rule": policy.category(order.snapshot["category"])["rule"],
        }
        if case.status == CaseStatus.IN_APPEAL:
            if outcome == Outcome.COMPROMISE:
                raise DomainError(Error.APPEAL_DECISION_MUST_BIND, param="outcome")
            record["final"] = True
            case.appeal = {**case.appeal, "decision": record}
            _close(
                case,
                order,
                "decide",
                acting_user,
                now,
                refund=amount,
                resolution=rules.resolution_for(amount, case.requested_amount),
                outcome=outcome,
                appeal=True,
            )
            return case
        if outcome == Outcome.COMPROMISE and case.binding_required:
            raise DomainError(Error.COMPROMISE_DECLINED_MUST_BIND, param="outcome")
        case.decision = record
        case.first_arbitrator = case.first_arbitrator or acting_user
        case.decide_by = None
        _cancel_timers(case)
        if outcome == Outcome.COMPROMISE:
            case.compromise_answers = {}
            case.compromise_respond_by = now + timedelta(hours=policy.compromise_respond_hours)
            _move(case, "decide", CaseStatus.DECIDED, acting_user, now, outcome=outcome, amount=amount)
            _schedule(COMPROMISE_TIMER, case, case.compromise_respond_by, now)
            _notify_parties(
                case,
                "compromise_proposed",
                f"售后单 {case.pk}：仲裁员提出折中方案 ¥{amount // 100}.{amount % 100:02d}，请在 "
                f"{_local(case.compromise_respond_by)} 前答复",
                now,
            )
        else:
            case.decision_acceptances = []
            case.appeal_by = now + timedelta(days=policy.appeal_days)
            _move(case, "decide", CaseStatus.DECIDED, acting_user, now, outcome=outcome, amount=amount)
            _schedule(APPEAL_TIMER, case, case.appeal_by, now)
            _notify_parties(case, "decided", f"售后单 {case.pk} 已裁决，{_local(case.appeal_by)} 前可申诉一次", now)
    return case


def respond_compromise(case: RefundCase, *, acting_user: User, accept: bool, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        role = role_on_case(case, acting_user)
        _check(case, "respond_compromise", role)
        if role in case.compromise_answers:
            raise DomainError(Error.COMPROMISE_ALREADY_ANSWERED)
        case.compromise_answers = {**case.compromise_answers, role: bool(accept)}
        if not accept:
            _back_to_arbitrator(case, "respond_compromise", acting_user, now, accept=False)
        elif set(case.compromise_answers) == {rules.BUYER, rules.MERCHANT}:
            order = _lock_order(case)
            amount = case.decision["amount"]
            case.decision = {**case.decision, "final": True}
            _close(
                case,
                order,
                "respond_compromise",
                acting_user,
                now,
                refund=amount,
                resolution=rules.resolution_for(amount, case.requested_amount),
                accept=True,
            )
        else:
            _move(case, "respond_compromise", CaseStatus.DECIDED, acting_user, now, accept=True)
    return case


def _back_to_arbitrator(case: RefundCase, action: str, actor: User | None, now, **data) -> None:
    """A compromise failed: the arbitrator who proposed it (still holding the claim) must now decide bindingly."""
    case.binding_required = True
    case.decision = None  # the proposal lives on in the events; no decision stands now
    _to_arbitration(case, action, actor, now, **data)
    if case.claimed_by_id:
        _notify(
            case.claimed_by,
            case,
            "binding_decision_required",
            f"售后单 {case.pk} 的折中方案未获双方同意，请在 {_local(case.decide_by)} 前作出有约束力的裁决",
            now,
        )


def accept_decision(case: RefundCase, *, acting_user: User, now: datetime | None = None) -> RefundCase:
    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        role = role_on_case(case, acting_user)
        _check(case, "accept_decision", role)
        against = rules.parties_against(case.decision["outcome"])
        if role not in against:
            raise DomainError(Error.DECISION_NOT_AGAINST_YOU)
        if role in case.decision_acceptances:
            raise DomainError(Error.DECISION_ALREADY_ACCEPTED)
        case.decision_acceptances = [*case.decision_acceptances, role]
        if against <= set(case.decision_acceptances):
            _finalize_decision(case, "accept_decision", acting_user, now)
        else:
            _move(case, "accept_decision", CaseStatus.DECIDED, acting_user, now)
    return case


def _finalize_decision(case: RefundCase, action: str, actor: User | None, now) -> None:
    order = _lock_order(case)
    amount = case.decision["amount"]
    case.decision = {**case.decision, "final": True}
    _close(
        case, order, action, actor, now, refund=amount, resolution=rules.resolution_for(amount, case.requested_amount)
    )


def appeal(case: RefundCase, *, acting_user: User, reason: str, now: datetime | None = None) -> RefundCase:
    """二次申诉: once per case, with evidence added after the decision; another arbitrator decides."""
    from kameng.evidence.models import Evidence

    now = now or clock_now()
    with transaction.atomic():
        case = _lock(case)
        role = role_on_case(case, acting_user)
        _check(case, "appeal", role)
        if case.appeal:
            raise DomainError(Error.APPEAL_ALREADY_USED)
        reason = (reason or "").strip()
        if not reason:
            raise DomainError(Error.APPEAL_REASON_REQUIRED, param="reason")
        decided_at = case.decision["decided_at"]
        if not Evidence.objects.filter(case=case, uploaded_by=acting_user, uploaded_at__gt=decided_at).exists():
            raise DomainError(Error.APPEAL_NEW_EVIDENCE_REQUIRED)
        policy = get_policy()
        case.appeal = {"by": role, "reason": reason, "at": now.isoformat(), "decision": None}
        case.appeal_by = None
        case.claimed_by = None
        case.claimed_at = None
        case.decide_by = (
            now + timedelta(hours=policy.fast_track_hours)
            if case.fast_track
            else add_working_days(now, policy.arbitration_working_days)
        )
        _cancel_timers(case)
        _move(case, "appeal", CaseStatus.IN_APPEAL, acting_user, now, reason=reason)
        _schedule(DECIDE_TIMER, case, case.decide_by, now)
        _notify_parties(case, "appealed", f"售后单 {case.pk} 已提起申诉，将由另一位仲裁员复核", now)
    return case


# ---- timers (system actor) -----------------------------------------------------------------


def expire_merchant_deadline(case_id: int, now) -> None:
    """Merchant silence is never rewarded: fast track refunds in full, anything else goes to arbitration."""
    with transaction.atomic():
        case = _lock(case_id)
        if rules.allowed(case.status, "merchant_timeout", rules.SYSTEM) is None:
            return
        if case.merchant_respond_by and case.merchant_respond_by > now:
            return
        case.merchant_timed_out = True
        _notify(
            case.shop.owner,
            case,
            "deadline_passed",
            f"售后单 {case.pk}：你未在时限内处理，"
            + ("已按规则自动全额退款" if case.fast_track else "已转平台仲裁并记录超时"),
            now,
        )
        if case.fast_track:
            order = _lock_order(case)
            _close(
                case,
                order,
                "merchant_timeout",
                None,
                now,
                refund=case.requested_amount,
                resolution=rules.resolution_for(case.requested_amount, case.requested_amount),
                fast_track=True,
            )
        else:
            _to_arbitration(case, "merchant_timeout", None, now)


def expire_buyer_deadline(case_id: int, now) -> None:
    """The buyer did not answer the offer or rejection in time: the case closes withdrawn."""
    with transaction.atomic():
        case = _lock(case_id)
        if rules.allowed(case.status, "buyer_timeout", rules.SYSTEM) is None:
            return
        if case.buyer_respond_by and case.buyer_respond_by > now:
            return
        order = _lock_order(case)
        _notify(case.buyer, case, "deadline_passed", f"售后单 {case.pk}：你未在时限内答复，售后单已按撤回处理", now)
        _close(case, order, "buyer_timeout", None, now, refund=0, resolution="withdrawn")


def expire_compromise_deadline(case_id: int, now) -> None:
    with transaction.atomic():
        case = _lock(case_id)
        if rules.allowed(case.status, "compromise_timeout", rules.SYSTEM, case.decision) is None:
            return
        if case.compromise_respond_by and case.compromise_respond_by > now:
            return
        for role, user in ((rules.BUYER, case.buyer), (rules.MERCHANT, case.shop.owner)):
            if role not in case.compromise_answers:
                _notify(
                    user,
                    case,
                    "deadline_passed",
                    f"售后单 {case.pk}：你未在时限内答复折中方案，案件退回仲裁员裁决",
                    now,
                )
        _back_to_arbitrator(case, "compromise_timeout", None, now)


def expire_appeal_window(case_id: int, now) -> None:
    """No appeal in time: the decision becomes final and the money moves."""
    with transaction.atomic():
        case = _lock(case_id)
        if rules.allowed(case.status, "appeal_timeout", rules.SYSTEM, case.decision) is None:
            return
        if case.appeal_by and case.appeal_by > now:
            return
        _notify_parties(case, "deadline_passed", f"售后单 {case.pk}：申诉期已结束，裁决生效", now)
        _finalize_decision(case, "appeal_timeout", None, now)


def flag_overdue_decision(case_id: int, now) -> None:
    """decide_by passed: nothing is decided automatically; the case is flagged and staff told."""
    with transaction.atomic():
        case = _lock(case_id)
        if case.status not in (CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL):
            return
        _event(case, "decision_overdue", None, now)
        for staff in User.objects.filter(role__in=[Role.ARBITRATOR, Role.ADMIN], is_active=True):
            if case.claimed_by_id in (None, staff.pk) or staff.role == Role.ADMIN:
                _notify(staff, case, "decision_overdue", f"售后单 {case.pk} 已超过仲裁时限", now)


def remind_deadline(case_id: int, now) -> None:
    """24 h before a party's deadline: tell whoever must act."""
    case = RefundCase.objects.select_related("buyer", "shop__owner", "claimed_by").get(pk=case_id)
    who, due = None, None
    if case.status == CaseStatus.AWAITING_MERCHANT:
        who, due = case.shop.owner, case.merchant_respond_by
    elif case.status == CaseStatus.AWAITING_BUYER:
        who, due = case.buyer, case.buyer_respond_by
    elif case.status == CaseStatus.DECIDED and case.compromise_respond_by:
        for role, user in ((rules.BUYER, case.buyer), (rules.MERCHANT, case.shop.owner)):
            if role not in case.compromise_answers:
                _notify(
                    user,
                    case,
                    "deadline_near",
                    f"售后单 {case.pk} 的折中方案将于 {_local(case.compromise_respond_by)} 到期",
                    now,
                )
        return
    elif case.status == CaseStatus.DECIDED and case.appeal_by:
        _notify_parties(case, "deadline_near", f"售后单 {case.pk} 的申诉期将于 {_local(case.appeal_by)} 结束", now)
        return
    elif case.status in (CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL):
        who, due = case.claimed_by, case.decide_by  # an unclaimed case waits in the queue, sorted by decide_by
    if who is not None and due is not None:
        _notify(who, case, "deadline_near", f"售后单 {case.pk} 需要你在 {_local(due)} 前处理", now)


# ---- evidence uploads by parties -----------------------------------------------------------


def add_evidence(case: RefundCase, *, acting_user: User, upload, category: str, note: str = ""):
    """A party (or arbitrator) adds a file; type and size are checked by kameng.evidence.uploads."""
    from kameng.evidence.uploads import inspect_upload

    role = role_on_case(case, acting_user)
    if role not in (rules.BUYER, rules.MERCHANT, rules.ARBITRATOR):
        raise DomainError(Error.EVIDENCE_UPLOAD_NOT_ALLOWED)
    if category not in evidence.CATEGORIES:
        raise DomainError(Error.EVIDENCE_CATEGORY_INVALID, param="category")
    if len(note or "") > 2000:
        raise DomainError(Error.EVIDENCE_NOTE_TOO_LONG, param="note")
    checked = inspect_upload(upload)
    now = clock_now()
    with transaction.atomic():
        case = _lock(case)
        if case.status == CaseStatus.CLOSED:
            raise DomainError(Error.EVIDENCE_CASE_CLOSED)
        item = evidence.append(
            case,
            category=category,
            source=role if role != rules.ARBITRATOR else "system",
            filename=checked.filename,
            content_type=checked.content_type,
            content=checked.file,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=acting_user,
            note=note or "",
            now=now,
        )
        _event(case, "evidence_added", acting_user, now, evidence=str(item.pk), category=category)
    _after_evidence(case)
    return item
