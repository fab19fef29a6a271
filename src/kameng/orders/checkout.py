"""Direct checkout (直接支付), the way card-shop buyers pay: the order is created `awaiting_payment`
with its stock reserved, the buyer pays through a gateway, and the gateway's money pays the order.

One code path with the wallet purchase: the verified notification books the money into the buyer's
wallet (kameng.wallet.payments, in its transaction) and calls `pay_checkout`, which sends the same
`paid` event the wallet purchase sends (buyer wallet → escrow, `orders.escrow.take_payment`) and
delivers card keys the same way. Unpaid at `payment_expires_at` (15 minutes), the payment timer
cancels the order and puts the stock back on sale; money that arrives for an order that can no
longer be honoured goes back by its original route (wallet.payments refunds it, recorded).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from kameng.accounts.models import User
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.timers import jobs
from kameng.wallet import payments
from kameng.wallet.models import Payment, PaymentRefund, RefundStatus

from . import lifecycle, notices
from .lifecycle import Actor, Event, OrderStatus
from .models import GuestAccess, Order
from .services import ORDER_PAYMENT, WALLET, buyable, new_order, state_of, take_stock, transition

GATEWAYS = ("sandbox", "epay", "alipay", "wechatpay")  # pay_with for a direct checkout (each on only when configured)
PAYMENT_WINDOW = timedelta(minutes=15)  # the stock stays reserved this long
MAX_UNPAID = 3  # direct checkouts one buyer may have waiting for payment at once


def start_checkout(
    *,
    acting_user: User,
    listing_id,
    pay_with: str,
    quantity: int = 1,
    accept_special_terms: bool = False,
    topup_target: str = "",
) -> Order:
    """下单 through a gateway: `awaiting_payment`, the stock reserved, a payment opened at the gateway."""
    listing = buyable(acting_user, listing_id, quantity, accept_special_terms, topup_target)
    if pay_with not in GATEWAYS:
        raise DomainError(Error.ORDER_PAY_WITH_INVALID, param="pay_with")
    now = clock_now()
    with transaction.atomic():
        # The buyer's row serializes their checkouts: two at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=acting_user.pk).first()
        if unpaid_orders(acting_user).count() >= MAX_UNPAID:
            raise DomainError(Error.TOO_MANY_UNPAID_ORDERS)
        order = new_order(acting_user, listing, quantity, accept_special_terms, topup_target, now)
        order.pay_with, order.payment_expires_at = pay_with, now + PAYMENT_WINDOW
        order.save(update_fields=["pay_with", "payment_expires_at"])
        transition(order, Event.CHECKOUT, actor=Actor.BUYER, user=acting_user, now=now)  # arms the payment timer
        if listing.kind == "card_key":
            take_stock(order, now, reserve=True)
        payments.start_payment(
            user=acting_user,
            amount=order.paid_amount,
            gateway=pay_with,
            purpose=ORDER_PAYMENT,
            ref=str(order.pk),
            subject=f"{order.snapshot['title']} {order.number}",
            expires_at=order.payment_expires_at,
        )
    return order


@payments.on_payment(ORDER_PAYMENT)
def pay_checkout(payment: Payment) -> None:
    """The gateway's money is in the buyer's wallet: pay the order into escrow and deliver it exactly
    as a wallet purchase does. An order that can no longer take it (cancelled, or past its deadline
    before the timer ran) refuses, and the payment goes back by its original route."""
    now = clock_now()
    order = Order.objects.select_for_update(of=("self",)).select_related("shop", "listing", "buyer").get(pk=payment.ref)
    if state_of(order) != lifecycle.AWAITING:
        raise payments.PaymentNotHonoured(f"order {order.number} is {order.status}")
    if order.payment_expires_at is not None and now >= order.payment_expires_at:
        raise payments.PaymentNotHonoured(f"order {order.number} expired unpaid")  # the timer cancels it
    if (
        order.listing.kind == "card_key"
        and order.stock_items.filter(delivered_at__isnull=True).count() < order.quantity
    ):
        # The reservation is gone (whatever took it): never "someone else got it" with the money kept.
        raise payments.PaymentNotHonoured(f"order {order.number} has no stock to deliver")
    transition(order, Event.PAID, actor=Actor.SYSTEM, user=None, now=now)
    if order.listing.kind == "card_key":
        order.stock_items.filter(delivered_at__isnull=True).update(delivered_at=now)  # the reserved keys
        transition(order, Event.DELIVERED, actor=Actor.SYSTEM, user=None, now=now)
    _email_guest(order)


@payments.on_refused(ORDER_PAYMENT)
def tell_buyer_refunded(payment: Payment, refund: PaymentRefund) -> None:
    """Money for an order that could not take it went back by its original route: the buyer hears
    of it at once (in-app, and by email where there is an address, a guest's included)."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("buyer").filter(pk=payment.ref).first()
        if order is None:
            return
        if state_of(order) == lifecycle.AWAITING:
            # Refused while still awaiting payment (its reserved key gone): cancel it now rather than
            # leave it payable until its deadline, each payment refunded again.
            transition(order, Event.PAYMENT_REFUSED, actor=Actor.SYSTEM, user=None, now=clock_now())
    if refund.status != RefundStatus.WALLET:
        template = (
            "订单 {order} 未能成交（付款到账时订单已超时取消或库存已售罄），"
            "您支付的 {refund} 已原路退回（退款单号 {refund_no}）。"
        )
    else:
        template = (
            "订单 {order} 未能成交（付款到账时订单已超时取消或库存已售罄），"
            "支付渠道不支持原路退款，您支付的 {refund} 已存入您的钱包余额（退款单号 {refund_no}）。"
        )
    params = {"order": order.number, "refund": refund.amount, "refund_no": refund.out_refund_no}
    notices.send(order.buyer, order, "payment_refunded", template, params, clock_now())


def _email_guest(order: Order) -> None:
    """A guest who left an email address gets the order, and its card keys, by email (after commit),
    in the language they bought in."""
    access = GuestAccess.objects.filter(order=order).first()
    if access is None or "@" not in access.contact:
        return
    keys = list(order.stock_items.filter(delivered_at__isnull=False).order_by("pk").values_list("secret", flat=True))
    with translation.override(order.buyer.language or "zh-hans"):
        lines = [
            gettext("您的订单 {order} 已付款，款项由平台担保。").format(order=order.number),
            gettext("商品：{title}").format(title=order.snapshot["title"]),
        ]
        if keys:
            lines += [gettext("卡密："), *keys]
        else:
            lines.append(gettext("商家发货后，请用订单号和查询密码在“查单”页查看交付内容。"))
        lines.append(gettext("如有问题，请在查单页联系商家或申请售后；请勿站外付款。"))
        subject = gettext(notices.ORDER_SUBJECT).format(order=order.number)
    jobs.enqueue("send_notification_email", access.contact, subject, "\n".join(lines))


def expire_checkout(order_id: int, now) -> None:
    """Timer: the direct checkout was not paid in time; cancel it and put its stock back on sale."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("shop", "buyer").get(pk=order_id)
        transition(order, Event.PAYMENT_EXPIRED, actor=Actor.SYSTEM, user=None, now=now)


def unpaid_orders(user: User):
    return Order.objects.filter(buyer=user, status=OrderStatus.AWAITING_PAYMENT)


def payment_of(order: Order) -> Payment | None:
    """The gateway payment opened for a direct checkout (None for a wallet purchase)."""
    if order.pay_with == WALLET:
        return None
    return Payment.objects.filter(purpose=ORDER_PAYMENT, ref=str(order.pk)).order_by("-pk").first()


def late_refunds(order: Order):
    """Money that reached a cancelled order and went back by its original route (原路退回), recorded."""
    payment = payment_of(order)
    return payment.refunds.order_by("pk") if payment is not None else []
