"""What the merchant's channels, the in-app notices and the webhooks hear, and from where: order
events (orders.events), chat messages, case events (aftersales.services.on_case_event), low stock
(catalog.stock.on_low_stock) and paid withdrawals (wallet.events). Every listener runs inside the
transaction of its event and only writes rows; the sending happens in jobs after the commit."""

from datetime import datetime, timedelta

from kameng.aftersales.models import CaseEvent, CaseStatus, RefundCase
from kameng.aftersales.services import on_case_event
from kameng.catalog.models import Listing
from kameng.catalog.stock import on_low_stock
from kameng.clock.services import now as clock_now
from kameng.orders.events import around_order_events, on_message, on_order_event
from kameng.orders.models import Message, Order, OrderEvent
from kameng.timers import services as timers
from kameng.timers.models import Timer
from kameng.timers.services import batch_handler, handler
from kameng.wallet.events import on_withdrawal_paid
from kameng.wallet.models import Withdrawal

from . import webhooks
from .channels import Notice, notify, notify_many

DEADLINE_TIMER = "notify.merchant_deadline"
REMIND_HOURS = (24, 2)  # before the merchant's deadline to answer a case

# order events → (webhook event, the order status it stands for)
ORDER_WEBHOOKS = {"paid": "order.paid", "delivered": "order.delivered", "escrow_released": "order.completed"}


def register() -> None:
    on_order_event(order_event)
    around_order_events(order_events)
    on_message(message_posted)
    on_case_event(case_event, many=case_events)
    on_low_stock(low_stock)
    on_withdrawal_paid(withdrawal_paid)
    timers.around_batch(webhooks.read_once)  # a sweep's batch reads each merchant's endpoints once


# ---- orders --------------------------------------------------------------------------------------------


def order_event(event: OrderEvent) -> None:
    order = event.order
    hook = ORDER_WEBHOOKS.get(event.type)
    if hook is None:
        return
    merchant = order.shop.owner_id
    if event.type == "paid":
        notify(
            order.shop.owner,
            "new_order",
            "[卡盟] 新订单 {order}",
            "新订单 {order}：{title} × {quantity}，{amount}",
            {
                "order": order.number,
                "title": order.snapshot["title"],
                "quantity": order.quantity,
                "amount": order.amount,
            },
        )
    webhooks.emit(merchant, hook, _order_data(order, event.type))


def order_events(events: list[OrderEvent]):
    """Many order events at once (a sweep's batch of releases): their merchants' webhook endpoints in one read."""
    return webhooks.read_once(e.order.shop.owner_id for e in events if e.type in ORDER_WEBHOOKS)


def _order_data(order: Order, event_type: str) -> dict:
    status = {"paid": "paid", "delivered": "delivered"}.get(event_type) or (
        "partially_refunded" if order.refunded_amount else "completed"
    )
    return {
        "id": str(order.pk),
        "number": order.number,
        "status": status,
        "listing": str(order.listing_id),
        "quantity": order.quantity,
        "amount": order.amount,
        "refunded_amount": order.refunded_amount,
        "currency": "CNY",
    }


def message_posted(message: Message) -> None:
    """The buyer hears in-app of the merchant's chat messages (the merchant has its own inbox)."""
    order = message.order
    if message.author_id != order.buyer_id:
        notify(
            order.buyer,
            "message",
            "",
            "订单 {order} 有新留言：{body}",
            {"order": order.number, "body": message.body[:200]},
        )


# ---- refund cases ----------------------------------------------------------------------------------


def case_event(event: CaseEvent) -> None:
    case = event.case
    merchant = case.shop.owner
    status = event.to_status or case.status
    if event.type == "opened":
        _tell_channels(
            merchant,
            "case_opened",
            "[卡盟] 售后单 {case}",
            "订单 {order} 的买家申请售后，申请退款 {amount}",
            {"case": case.pk, "order": case.order.number, "amount": case.requested_amount},
        )
    if event.type == "decide":
        _tell_channels(
            merchant,
            "decision",
            "[卡盟] 售后单 {case} 已裁决",
            "售后单 {case} 平台已裁决，请查看。",
            {"case": case.pk},
        )
    _arm_reminders(case, event, status)
    webhooks.emit(merchant.pk, _case_hook(event, status), _case_data(case, status, event.type))


def case_events(events: list[CaseEvent]) -> None:
    """`case_event` for many events at once (a sweep's batch of deadlines): their merchants' endpoints
    read once, the webhook deliveries in one INSERT, the reminders of the cases leaving
    awaiting_merchant cancelled in one statement. An event that tells the channels or arms reminders
    goes through `case_event` itself."""
    with webhooks.read_once(event.case.shop.owner_id for event in events):
        hooks, leaving = [], []
        for event in events:
            case, status = event.case, event.to_status or event.case.status
            if event.type in ("opened", "decide") or _enters_awaiting_merchant(event, status):
                case_event(event)
                continue
            if _leaves_awaiting_merchant(event, status):
                leaving += _reminder_targets(case)
            hooks.append((case.shop.owner_id, _case_hook(event, status), _case_data(case, status, event.type)))
        webhooks.emit_many(hooks)
        if leaving:
            timers.cancel_many(DEADLINE_TIMER, leaving)


def _case_hook(event: CaseEvent, status: str) -> str:
    if event.type == "opened":
        return "refund.opened"
    return "refund.closed" if status == CaseStatus.CLOSED else "refund.updated"


def _tell_channels(user, event: str, title: str, template: str, params: dict) -> None:
    """Case notices are in-app already (aftersales); the merchant's channels hear of them here."""
    notify(user, event, title, template, params, in_app=False)


def _case_data(case: RefundCase, status: str, event_type: str) -> dict:
    return {
        "id": str(case.pk),
        "order": str(case.order_id),
        "status": status,
        "event": event_type,
        "reason": case.reason,
        "requested_amount": case.requested_amount,
        "refunded_amount": case.refunded_amount,
        "resolution": case.resolution,
    }


def _arm_reminders(case: RefundCase, event: CaseEvent, status: str) -> None:
    """The merchant's two reminders (24 h and 2 h before `merchant_respond_by`) follow the case into
    and out of awaiting_merchant: armed when a case enters it (only `opened` does, and only then is
    `merchant_respond_by` set), cancelled when it leaves it. An event that keeps the case where it
    was (a refund booked, evidence added, a claim) changes neither the status nor the deadline, so
    the armed reminders stand as they are: nothing is read or written for it."""
    entering, leaving = _enters_awaiting_merchant(event, status), _leaves_awaiting_merchant(event, status)
    if not (entering or leaving):
        return
    due = case.merchant_respond_by
    if entering and due is not None:
        now = clock_now()
        wanted = [(f"case:{case.pk}:{hours}", due - timedelta(hours=hours)) for hours in REMIND_HOURS]
        if event.type == "opened":  # a case created in this transaction: no reminder of it can exist yet
            timers.arm_new(  # with the opening's other new timers, in one INSERT
                [
                    Timer(kind=DEADLINE_TIMER, target=target, due_at=at, created_at=now)
                    for target, at in wanted
                    if at > now
                ]
            )
            return
        for target, at in wanted:
            if at > now:
                timers.schedule(DEADLINE_TIMER, target, at, now=now)
            else:
                timers.cancel(DEADLINE_TIMER, target)
        return
    timers.cancel_many(DEADLINE_TIMER, _reminder_targets(case))


def _enters_awaiting_merchant(event: CaseEvent, status: str) -> bool:
    return status == CaseStatus.AWAITING_MERCHANT and event.from_status != CaseStatus.AWAITING_MERCHANT


def _leaves_awaiting_merchant(event: CaseEvent, status: str) -> bool:
    return event.from_status == CaseStatus.AWAITING_MERCHANT and status != CaseStatus.AWAITING_MERCHANT


def _reminder_targets(case: RefundCase) -> list[str]:
    return [f"case:{case.pk}:{hours}" for hours in REMIND_HOURS]


@handler(DEADLINE_TIMER)
def remind_merchant(target: str, now: datetime) -> None:
    """24 h and 2 h before the merchant must answer a case, if it still waits for them."""
    case_id, hours = _reminder_of(target)
    case = RefundCase.objects.select_related("shop__owner", "order").filter(pk=case_id).first()
    notice = _merchant_reminder(case, hours, now)
    notify_many([notice] if notice is not None else [])


@batch_handler(DEADLINE_TIMER, early=True)
def remind_merchants(targets: list[str], now: datetime) -> list[str]:
    """A sweep's merchant reminders together: their cases read in one query, each decided as
    `remind_merchant` decides it, the notices written by `notify_many`. Leaves nothing."""
    reminders = [_reminder_of(target) for target in targets]
    cases = RefundCase.objects.select_related("shop__owner", "order").in_bulk({case_id for case_id, _ in reminders})
    notices = [_merchant_reminder(cases.get(case_id), hours, now) for case_id, hours in reminders]
    notify_many([notice for notice in notices if notice is not None])
    return []


def _reminder_of(target: str) -> tuple[int, int]:
    """ "case:<id>:<hours>" → (id, hours)."""
    _, case_id, hours = target.split(":")
    return int(case_id), int(hours)


def _merchant_reminder(case: RefundCase | None, hours: int, now: datetime) -> Notice | None:
    """The reminder `hours` before the case's merchant deadline, if the case still waits for the
    merchant and that deadline is still the one the reminder was armed for."""
    if case is None or case.status != CaseStatus.AWAITING_MERCHANT or case.merchant_respond_by is None:
        return None
    if not (now < case.merchant_respond_by <= now + timedelta(hours=hours, minutes=1)):
        return None  # the deadline moved: its own reminder is armed
    return Notice(
        case.shop.owner,
        f"deadline_{hours}h",
        "[卡盟] 售后单 {case} 即将超时",
        "售后单 {case}（订单 {order}）需要你在 {hours} 小时内处理，超时将按规则处理。",
        {"case": case.pk, "order": case.order.number, "hours": hours},
        case=case,
        in_app=hours == 2,
    )


# ---- stock and payouts -----------------------------------------------------------------------------


def low_stock(listing: Listing, available: int) -> None:
    notify(
        listing.shop.owner,
        "low_stock",
        "[卡盟] 库存不足",
        "商品「{title}」可售库存只剩 {available} 条，请及时补货。",
        {"title": listing.title, "available": available},
    )


def withdrawal_paid(withdrawal: Withdrawal) -> None:
    notify(withdrawal.user, "payout", "[卡盟] 提现已到账", "提现 {amount} 已打款。", {"amount": withdrawal.amount})
    if withdrawal.user.role == "merchant":
        webhooks.emit(
            withdrawal.user_id,
            "withdrawal.paid",
            {"id": str(withdrawal.pk), "amount": withdrawal.amount, "status": "paid", "currency": "CNY"},
        )
