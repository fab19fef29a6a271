"""Demo refund cases for `kameng demo`: one in each state the pages must show, told through the
services like any other case. Idempotent: an order that already has a case is left alone.

The overdue arbitration is told two weeks in the past (the use cases take `now`), so its own
timeline starts before the demo order's delivery; everything else happens now.
"""

from datetime import timedelta

from kameng.clock.services import now as clock_now
from kameng.policy.laws import CPL_24

from . import services
from .models import RefundCase

RATIONALE_OFFICE = (
    "商品页承诺“可绑定账户，重装系统后登录账户即可恢复”。买家提供的重装后激活失败截图与该承诺不符，"
    f"依据软件授权码类目规则（与描述不符全额退款）及{CPL_24.short}（商品不符合质量要求和约定的，消费者可以退货），"
    "支持全额退款。"
)


def _awaiting_merchant(order, users, now):
    return services.open_case(
        acting_user=users["buyer1"],
        order_id=order.pk,
        reason="defective",
        amount=order.amount,
        description="激活时提示“此产品密钥已被使用”（错误代码 0xC004C060），换了两台电脑都一样。",
        now=now,
    )


def _offer_waiting_for_buyer(order, users, now):
    case = services.open_case(
        acting_user=users["buyer3"],
        order_id=order.pk,
        reason="not_as_described",
        amount=order.amount // 2,
        now=now,
        description="只到账 3280 创世结晶，比商品标题少了一半，申请退还未到账部分。",
    )
    return services.offer(case, acting_user=order.shop.owner, amount=order.amount // 4, now=now)


def _rejected_then_escalated(buyer, reason, description, rejection, *, amount=None, days_ago=0):
    def tell(order, users, now):
        start = now - timedelta(days=days_ago)
        gap = timedelta(hours=3 if days_ago else 0)  # a story told in the past takes its time
        case = services.open_case(
            acting_user=users[buyer],
            order_id=order.pk,
            reason=reason,
            amount=amount(order) if amount else order.amount,
            description=description,
            now=start,
        )
        case = services.reject(case, acting_user=order.shop.owner, reason=rejection, now=start + gap)
        return services.escalate(case, acting_user=users[buyer], now=start + 6 * gap)

    return tell


def _decided(order, users, now):
    case = _rejected_then_escalated(
        "buyer2",
        "defective",
        "按说明绑定微软账户后重装系统，登录账户后显示未激活，客服不回复。",
        "我们的码都是正版，买家可能绑定了错误的账户。",
    )(order, users, now)
    return services.decide(
        case,
        acting_user=users["arbitrator"],
        outcome="refund_full",
        rationale=RATIONALE_OFFICE,
        rule=f"category.{order.snapshot['category']}",  # the rationale applies the category's refund rule
        now=now,
    )


def _closed_no_reason(order, users, now):
    case = services.open_case(
        acting_user=users["buyer3"],
        order_id=order.pk,
        reason="no_reason",
        amount=order.amount,
        description="课程内容偏入门，与我的需求不符，尚未开始学习，申请七天无理由退款。",
        now=now,
    )
    return services.accept(case, acting_user=order.shop.owner, now=now)


def _closed_withdrawn(order, users, now):
    case = services.open_case(
        acting_user=users["buyer1"],
        order_id=order.pk,
        reason="defective",
        amount=order.amount,
        description="卡密兑换时提示无效。",
        now=now,
    )
    return services.withdraw(case, acting_user=users["buyer1"], now=now)


# (buyer, listing title) of a demo order → how its case goes
STORIES = [
    (("buyer1", "Windows 11 专业版 零售激活码（永久）"), _awaiting_merchant),
    (("buyer3", "原神 创世结晶 6480 官服直充"), _offer_waiting_for_buyer),
    (
        ("buyer2", "中国移动 话费充值 100 元 全国通用"),
        _rejected_then_escalated(  # fast track: ¥98.50, standardized
            "buyer2",
            "not_as_described",
            "充值已过 6 小时仍未到账，运营商查询无此笔充值记录。",
            "我方系统显示充值成功，请买家耐心等待运营商到账。",
        ),
    ),
    (
        ("buyer1", "王者荣耀 星耀一 → 王者 代练（含保段位）"),
        _rejected_then_escalated(  # overdue
            "buyer1",
            "service_missing",
            "约定 5 天打到王者，交付时只到星耀一 2 星，截图与描述不符，申请退还未完成部分。",
            "已按约定完成，截图为证。",
            amount=lambda order: order.amount // 2,
            days_ago=14,
        ),
    ),
    (("buyer2", "Office 2021 专业增强版 绑定微软账户激活码"), _decided),
    (("buyer3", "Python 数据分析实战课程（60 课时，永久回看）"), _closed_no_reason),
    (("buyer1", "Steam 钱包充值卡 100 元（国区）"), _closed_withdrawn),
]


def demo_cases(users: dict, orders: dict) -> list[str]:
    """Open the demo cases; one summary line per case made."""
    now = clock_now()
    made = []
    for key, tell in STORIES:
        order = orders.get(key)
        if order is None or RefundCase.objects.filter(order=order).exists():
            continue
        case = tell(order, users, now)
        flags = [
            f
            for f, on in (
                ("fast track", case.fast_track and not case.resolution),
                ("overdue", case.decide_by is not None and case.decide_by < now),
            )
            if on
        ]
        state = f"{case.status} {case.resolution}" if case.resolution else case.status
        made.append(f"case {case.pk}: {state}{' (' + ', '.join(flags) + ')' if flags else ''} — {key[0]}, {key[1]}")
    return made
