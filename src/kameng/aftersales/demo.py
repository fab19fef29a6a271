"""Demo refund cases for `kameng demo`: one in each state the pages must show, told through the
services like any other case. Idempotent: an order that already has a case is left alone.

Each case is told at its own moments (the use cases take `now`, and kameng.clock.told_at makes
everything they call read the same), after its order's delivery and inside the windows a real case
would meet: the confirmation window still running where the case freezes the escrow, a quality
claim within seven days of delivery. The overdue arbitration opened two weeks ago.
"""

from datetime import datetime, timedelta

from kameng.clock.services import told_at
from kameng.policy.laws import CPL_24

from . import services
from .models import RefundCase

RATIONALE_OFFICE = (
    "商品页承诺“可绑定账户，重装系统后登录账户即可恢复”。买家提供的重装后激活失败截图与该承诺不符，"
    f"依据软件授权码类目规则（与描述不符全额退款）及{CPL_24.short}（商品或者服务不符合质量要求的，"
    "消费者可以依照国家规定、当事人约定退货），"
    "支持全额退款。"
)


H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)


def _step(at: datetime, action, *args, **kwargs):
    """One use case at its moment: the service's own `now` and everything it calls agree."""
    with told_at(at):
        return action(*args, now=at, **kwargs)


def _awaiting_merchant(order, users, now):
    return _step(
        now - H,
        services.open_case,
        acting_user=users["buyer1"],
        order_id=order.pk,
        reason="defective",
        amount=order.amount,
        description="激活时提示“此产品密钥已被使用”（错误代码 0xC004C060），换了两台电脑都一样。",
    )


def _offer_waiting_for_buyer(order, users, now):
    case = _step(
        now - H,
        services.open_case,
        acting_user=users["buyer3"],
        order_id=order.pk,
        reason="not_as_described",
        amount=order.amount // 2,
        description="只到账 3280 创世结晶，比商品标题少了一半，申请退还未到账部分。",
    )
    return _step(now - 30 * M, services.offer, case, acting_user=order.shop.owner, amount=order.amount // 4)


def _rejected_then_escalated(buyer, reason, description, rejection, *, amount=None, ago, gap):
    """Opened `ago` before now; the merchant rejects `gap` later, the buyer escalates 2 × `gap` after that."""

    def tell(order, users, now):
        start = now - ago
        case = _step(
            start,
            services.open_case,
            acting_user=users[buyer],
            order_id=order.pk,
            reason=reason,
            amount=amount(order) if amount else order.amount,
            description=description,
        )
        case = _step(start + gap, services.reject, case, acting_user=order.shop.owner, reason=rejection)
        return _step(start + 3 * gap, services.escalate, case, acting_user=users[buyer])

    return tell


def _decided(order, users, now):
    case = _rejected_then_escalated(
        "buyer2",
        "defective",
        "按说明绑定微软账户后重装系统，登录账户后显示未激活，客服不回复。",
        "我们的码都是正版，买家可能绑定了错误的账户。",
        ago=30 * H,
        gap=2 * H,
    )(order, users, now)
    # ¥88 on a standardized listing is fast track: decided inside its 24 h, the 24 h appeal window still open
    return _step(
        now - 3 * H,
        services.decide,
        case,
        acting_user=users["arbitrator"],
        outcome="refund_full",
        rationale=RATIONALE_OFFICE,
        rule=f"category.{order.snapshot['category']}",  # the rationale applies the category's refund rule
    )


def _closed_no_reason(order, users, now):
    case = _step(
        now - 2 * D,
        services.open_case,
        acting_user=users["buyer3"],
        order_id=order.pk,
        reason="no_reason",
        amount=order.amount,
        description="课程内容偏入门，与我的需求不符，尚未开始学习，申请七天无理由退款。",
    )
    return _step(now - 2 * D + 2 * H, services.accept, case, acting_user=order.shop.owner)


def _closed_withdrawn(order, users, now):
    case = _step(
        now - 9 * D,
        services.open_case,
        acting_user=users["buyer1"],
        order_id=order.pk,
        reason="defective",
        amount=order.amount,
        description="卡密兑换时提示无效。",
    )
    return _step(now - 9 * D + H, services.withdraw, case, acting_user=users["buyer1"])


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
            ago=H,
            gap=10 * M,
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
            ago=14 * D,
            gap=3 * H,
        ),
    ),
    (("buyer2", "Office 2021 专业增强版 绑定微软账户激活码"), _decided),
    (("buyer3", "Python 数据分析实战课程（60 课时，永久回看）"), _closed_no_reason),
    (("buyer1", "Steam 钱包充值卡 100 元（国区）"), _closed_withdrawn),
]


def demo_cases(users: dict, orders: dict, now: datetime) -> list[str]:
    """Open the demo cases, told before `now` (the demo's present); one summary line per case made."""
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
