"""Payments through any gateway, the one interface the layers above use.

- `start_payment(...)` opens a payment for a purpose ("topup", "order", …) on a configured gateway
  and gives the buyer its `pay_url` (and, for WeChat Native, a `code_url` to show as a QR code).
- A verified notification (`receive_notification`) books the money exactly once, gateway clearing
  account → the buyer's wallet, and in that same transaction calls the handler registered for the
  payment's purpose with `@on_payment(purpose)`: it decides what the money is for (a top-up:
  nothing more; an order: pay it). A handler that cannot honour the money (the order was
  cancelled meanwhile) raises `PaymentNotHonoured`, and the payment goes back by the original
  route, recorded: money that arrives is never kept for nothing and never lost. So does a payment
  that arrives after its `expires_at`.
- `refund_payment(...)` (原路退回) books buyer wallet → gateway clearing account at once, in the
  caller's transaction, idempotent by key; the gateway call runs after commit as a job and a timer
  repeats it until the gateway confirms. A gateway that cannot refund leaves the money in the
  buyer's wallet, and the refund record says so.
"""

import secrets
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind
from kameng.security import audit
from kameng.timers import jobs
from kameng.timers import services as timers

from . import retries
from .gateways import GatewayError, InvalidNotification, Notification, SandboxGateway, enabled_gateway, get_gateway
from .gateways.base import QueryResult, RefundOutcome, RefundResult
from .models import Payment, PaymentNotification, PaymentRefund, PaymentStatus, RefundStatus

MAX_AMOUNT = 10_000_000  # ¥100,000 per payment
REFUND_TIMER = "payment_refund"  # retries a refund the gateway has not confirmed
REFUND_JOB = "send_payment_refund"

PaymentHandler = Callable[[Payment], None]
HANDLERS: dict[str, PaymentHandler] = {}
RefusedHandler = Callable[[Payment, PaymentRefund], None]
REFUSED_HANDLERS: dict[str, RefusedHandler] = {}


class PaymentNotHonoured(Exception):
    """A handler cannot take this money (e.g. its order was cancelled): it goes back by the original route."""


def on_refused(purpose: str) -> Callable[[RefusedHandler], RefusedHandler]:
    """Register what to do, in the booking transaction after the refund is booked, when a payment for
    `purpose` could not be honoured (late, or its handler refused): e.g. tell the buyer."""

    def register(fn: RefusedHandler) -> RefusedHandler:
        REFUSED_HANDLERS[purpose] = fn
        return fn

    return register


def on_payment(purpose: str) -> Callable[[PaymentHandler], PaymentHandler]:
    """Register the handler called, inside the booking transaction, when a payment for `purpose` is paid.

    The handler gets the payment (locked, already booked into the buyer's wallet) and runs in a
    savepoint: if it raises PaymentNotHonoured, what it did is undone and the money is refunded.
    Register from an AppConfig.ready(), as timer handlers are.
    """

    def register(fn: PaymentHandler) -> PaymentHandler:
        HANDLERS[purpose] = fn
        return fn

    return register


def new_trade_no(prefix: str = "KM") -> str:
    """Our number for a payment or refund at the gateway: 26 characters, [A-Z0-9] (fits WeChat's 32)."""
    return f"{prefix}{clock_now():%Y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


def start_payment(
    *, user, amount: int, gateway: str, purpose: str, ref: str, subject: str, expires_at: datetime | None = None
) -> Payment:
    """Open a payment; the buyer pays it at `payment.pay_url`. No network call (URLs are signed locally)."""
    adapter = enabled_gateway(gateway)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0 or amount > MAX_AMOUNT:
        raise DomainError(Error.TOPUP_AMOUNT_INVALID, param="amount")
    if purpose not in HANDLERS:
        raise ValueError(f"no payment handler registered for {purpose!r}")
    payment = Payment.objects.create(
        user=user,
        amount=amount,
        gateway=gateway,
        purpose=purpose,
        ref=str(ref),
        subject=subject[:128],
        out_trade_no=new_trade_no(),
        created_at=clock_now(),
        expires_at=expires_at,
    )
    payment.pay_url = adapter.pay_url(payment)
    payment.save(update_fields=["pay_url"])
    return payment


def payment_for(purpose: str, ref: str) -> Payment | None:
    """The paid payment for this purpose's object (e.g. the order a gateway paid), if any."""
    return Payment.objects.filter(purpose=purpose, ref=str(ref), status=PaymentStatus.SUCCEEDED).order_by("pk").first()


def paid_refs(purpose: str, refs: list[str]) -> set[str]:
    """Which of these objects of `purpose` a payment paid (`payment_for` is not None), in one query."""
    paid = Payment.objects.filter(purpose=purpose, ref__any=refs, status=PaymentStatus.SUCCEEDED)
    return set(paid.values_list("ref", flat=True))


# ---- notifications ---------------------------------------------------------------------------


def _record(gateway: str, notification: Notification, *, reference: str, valid: bool) -> None:
    payload = notification.body.decode(errors="replace") or "&".join(
        f"{k}={v}" for k, v in sorted(notification.params.items()) if k != "sign"
    )
    PaymentNotification.objects.create(
        gateway=gateway, notification_id=reference[:128], payload=payload[:4000], valid=valid, received_at=clock_now()
    )


def receive_notification(gateway_name: str, notification: Notification) -> Payment:
    """Verify a gateway's notification and book it exactly once; a replay books nothing more.

    Raises DomainError (and books nothing) for a bad signature or merchant id, an unknown
    payment or an amount other than the amount due; every notification is kept for audit.
    """
    gateway = get_gateway(gateway_name)
    try:
        verified = gateway.verify_notification(notification)
    except InvalidNotification as exc:
        _record(gateway_name, notification, reference="", valid=False)
        raise DomainError(Error.PAYMENT_SIGNATURE_INVALID) from exc
    _record(gateway_name, notification, reference=verified.reference, valid=True)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update().filter(out_trade_no=verified.out_trade_no, gateway=gateway_name).first()
        )
        if payment is None:
            raise DomainError(Error.PAYMENT_NOT_FOUND)
        if verified.amount != payment.amount:
            raise DomainError(Error.PAYMENT_AMOUNT_MISMATCH, param="amount")
        if verified.paid:
            book_paid(payment, reference=verified.reference, actor=f"gateway:{gateway_name}")
    return payment


def book_paid(payment: Payment, *, reference: str, actor: str) -> bool:
    """The gateway has the buyer's money: book it into the buyer's wallet and hand it to its purpose.

    Caller holds the payment's row lock. Returns False if it was booked before (nothing moves twice).
    """
    assert connection.in_atomic_block, "book_paid runs inside the caller's transaction"
    if payment.status == PaymentStatus.SUCCEEDED:
        return False
    now = clock_now()
    ledger.transfer(
        f"payment:{payment.pk}",
        EntryKind.TOPUP,
        ledger.gateway_code(payment.gateway),
        ledger.wallet_code(payment.user_id),
        payment.amount,
        actor=actor,
        memo=(f"充值 {reference}" if payment.purpose == "topup" else f"{payment.subject} {reference}")[:255],
    )
    payment.status = PaymentStatus.SUCCEEDED
    payment.gateway_reference = reference
    payment.succeeded_at = now
    payment.save(update_fields=["status", "gateway_reference", "succeeded_at"])
    if payment.expires_at is not None and now > payment.expires_at:
        refund = refund_payment(
            payment, payment.amount, key=f"late:{payment.pk}", now=now, reason="arrived after expiry"
        )
        _refused(payment, refund)
        return True
    try:
        with transaction.atomic():
            HANDLERS[payment.purpose](payment)
    except PaymentNotHonoured as exc:
        refund = refund_payment(
            payment, payment.amount, key=f"unhonoured:{payment.pk}", now=now, reason=str(exc) or "refused"
        )
        _refused(payment, refund)
    return True


def _refused(payment: Payment, refund: PaymentRefund) -> None:
    handler = REFUSED_HANDLERS.get(payment.purpose)
    if handler is not None:
        handler(payment, refund)


def recheck_payment(payment: Payment, *, by) -> QueryResult:
    """补单: staff ask the gateway about a pending payment; booked if the gateway says it was paid.

    The gateway call runs outside any transaction; the booking is the notification's own path;
    every re-check is in the audit log, with what the gateway answered.
    """
    if payment.status != PaymentStatus.PENDING:
        raise DomainError(Error.PAYMENT_NOT_PENDING)
    try:
        result = get_gateway(payment.gateway).query(payment)
    except GatewayError as exc:
        audit.record(
            "payment.recheck", actor=by, target=f"payment:{payment.out_trade_no}", summary=f"gateway error: {exc}"
        )
        raise DomainError(Error.PAYMENT_GATEWAY_UNREACHABLE) from exc
    with transaction.atomic():
        booked = False
        if result.paid and result.amount == payment.amount:
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            booked = book_paid(locked, reference=result.reference, actor=by.username)
        audit.record(
            "payment.recheck",
            actor=by,
            target=f"payment:{payment.out_trade_no}",
            summary=f"补单 {payment.gateway} {payment.out_trade_no}: "
            + ("paid, booked" if booked else "paid" if result.paid else "not paid"),
            data={"paid": result.paid, "amount": result.amount, "reference": result.reference, "booked": booked},
        )
    return result


# ---- refunds by the original route (原路退回) --------------------------------------------------


def refund_payment(payment: Payment, amount: int, *, key: str, now: datetime, reason: str = "") -> PaymentRefund:
    """Send `amount` of this payment back through its gateway, once per `key`.

    Runs in the caller's transaction: books buyer wallet → gateway clearing now; the gateway is
    called after commit (a job), and again by a timer until it confirms. A gateway that cannot
    refund gets nothing booked: the money stays in the buyer's wallet, recorded as such.
    """
    assert connection.in_atomic_block, "refund_payment runs inside the caller's transaction"
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = PaymentRefund.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if not isinstance(amount, int) or amount <= 0 or amount > payment.amount - payment.refunded_amount:
        raise DomainError(Error.PAYMENT_REFUND_EXCEEDS_PAID, param="amount")
    gateway = get_gateway(payment.gateway)
    refund = PaymentRefund.objects.create(
        payment=payment,
        key=key,
        out_refund_no=new_trade_no("RF"),
        amount=amount,
        reason=reason[:128],
        status=RefundStatus.PENDING if gateway.refunds else RefundStatus.WALLET,
        created_at=now,
        done_at=None if gateway.refunds else now,
    )
    if not gateway.refunds:
        return refund
    ledger.transfer(
        f"gateway-refund:{refund.pk}",
        EntryKind.GATEWAY_REFUND,
        ledger.wallet_code(payment.user_id),
        ledger.gateway_code(payment.gateway),
        amount,
        actor=f"gateway:{payment.gateway}",
        memo=f"原路退回 {payment.out_trade_no}"[:255],
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("refunded_amount") + amount)
    retries.try_again(REFUND_TIMER, REFUND_JOB, refund.pk, 0, now)
    return refund


@jobs.job(REFUND_JOB)
def send_refund(refund_id: int) -> str:
    """Ask the gateway to refund (outside any transaction); record what it answered."""
    refund = PaymentRefund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund.status
    try:
        result = get_gateway(refund.payment.gateway).refund(refund.payment, refund)
    except GatewayError as exc:
        retries.note_gateway_error(PaymentRefund, refund_id, exc)
        return RefundStatus.PENDING
    return _settle_refund(refund_id, result)


def _settle_refund(refund_id: int, result: RefundResult) -> str:
    now = clock_now()
    with transaction.atomic():
        refund = PaymentRefund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund.status
        refund.attempts += 1
        refund.last_error = ""
        if result.outcome == RefundOutcome.SUCCEEDED:
            refund.status, refund.gateway_reference, refund.done_at = RefundStatus.SUCCEEDED, result.reference, now
        elif result.outcome == RefundOutcome.UNSUPPORTED:
            _undo_refund_booking(refund)
            refund.status, refund.done_at = RefundStatus.WALLET, now
        if refund.status != RefundStatus.PENDING:
            timers.cancel(REFUND_TIMER, str(refund.pk))
        refund.save(update_fields=["attempts", "last_error", "status", "gateway_reference", "done_at"])
        return refund.status


def _undo_refund_booking(refund: PaymentRefund) -> None:
    """The gateway cannot refund after all: the money goes back into the buyer's wallet."""
    payment = refund.payment
    ledger.transfer(
        f"gateway-refund-undone:{refund.pk}",
        EntryKind.GATEWAY_REFUND_UNDONE,
        ledger.gateway_code(payment.gateway),
        ledger.wallet_code(payment.user_id),
        refund.amount,
        actor=f"gateway:{payment.gateway}",
        memo=f"渠道不支持原路退回，退至钱包 {payment.out_trade_no}"[:255],
    )
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("refunded_amount") - refund.amount)


@timers.handler(REFUND_TIMER)
def retry_refund(target: str, now: datetime) -> None:
    """Timer: a refund the gateway has not confirmed is sent again (after commit), and the timer set again."""
    refund = PaymentRefund.objects.filter(pk=int(target), status=RefundStatus.PENDING).first()
    if refund is not None:
        retries.try_again(REFUND_TIMER, REFUND_JOB, refund.pk, refund.attempts, now)


def pay_in_sandbox(payment: Payment) -> Payment:
    """The sandbox gateway "pays": it signs its notification and calls us as an outside party would."""
    gateway = get_gateway("sandbox")
    assert isinstance(gateway, SandboxGateway)
    body = gateway.notification_for(payment)
    return receive_notification(
        "sandbox", Notification(body, {SandboxGateway.SIGNATURE_HEADER: gateway.sign(body)}, {})
    )


def native_code(payment: Payment) -> str:
    """WeChat Native: the code_url to show as a QR code, asked of the gateway once (a network call:
    the pay page makes it, outside any transaction) and kept on the payment."""
    if not payment.code_url:
        gateway = get_gateway(payment.gateway)
        code = gateway.native_code(payment)  # type: ignore[attr-defined]  # WechatPay only
        Payment.objects.filter(pk=payment.pk).update(code_url=code)
        payment.code_url = code
    return payment.code_url
