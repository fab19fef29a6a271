"""Demo marketplace for `kameng demo` (and `make run`): merchants with shops, listings in all eight
categories, buyers with wallets topped up through the sandbox gateway, orders in several states, chat.

With the sandbox off (`KAMENG_SANDBOX=off`, a deployment that takes real payments) no gateway can
pay a top-up for show: the demo buyers' starting balances are then booked straight into their
wallets as demo data, from the ledger account `gateway:demo` (one entry each, key
`demo-funds:<user>`, memo 演示数据), and nothing else of the demo needs the sandbox.

Everything goes through the services, exactly as the API would; nothing writes models directly.
Idempotent: each object is looked up first, so a second run adds nothing.

The demo is a history, told at stated moments (kameng.clock.told_at): staff and shops months old,
buyers who joined weeks ago and topped up before they bought, each order bought (and delivered,
confirmed, talked about) at its own time, and every refund case opened after its order's delivery
and inside its windows (kameng.aftersales.demo). tests/cli/test_demo_history.py checks it.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from kameng.accounts.models import User
from kameng.accounts.services import create_user
from kameng.aftersales.demo import demo_cases
from kameng.catalog.models import Listing, Shop
from kameng.catalog.services import add_stock, create_listing, create_shop
from kameng.clock.services import now as clock_now
from kameng.clock.services import told_at
from kameng.ledger import services as ledger
from kameng.ledger.models import EntryKind, JournalEntry
from kameng.orders.models import Order
from kameng.orders.services import confirm, deliver, post_message, purchase
from kameng.timers.services import next_due, run_one_due
from kameng.wallet.models import Payment
from kameng.wallet.payments import pay_in_sandbox
from kameng.wallet.services import create_topup

DEMO_PASSWORD = "demo-pass-123"

# Two arbitrators: an appeal is decided by another arbitrator than the first decision's.
STAFF = [("arbitrator", "arbitrator"), ("arbitrator2", "arbitrator"), ("admin", "admin")]
BUYERS = ["buyer1", "buyer2", "buyer3"]
BUYER_TOPUP = 300_000  # ¥3,000 each, paid through the sandbox gateway
# When each account joined (days before the demo's now); merchants join a day before their shop opens.
STAFF_JOINED_DAYS = 400
BUYERS_JOINED_DAYS = {"buyer1": 60, "buyer2": 45, "buyer3": 35}
TOPUP_DAYS_AGO = 25  # before the earliest demo order

# merchant username → shop and its listings. `stock`: how many card keys to generate.
MERCHANTS: dict[str, dict[str, Any]] = {
    "merchant1": {
        "opened_days_ago": 200,
        "shop": ("星辰数码授权店", "正版软件授权码专营，自动发卡，激活失败包退包换。工作时间 9:00-23:00 在线。"),
        "listings": [
            {
                "title": "Windows 11 专业版 零售激活码（永久）",
                "category": "software_license",
                "kind": "card_key",
                "price": 4900,
                "stock": 12,
                "after_sale_days": 30,
                "verification_minutes": 24 * 60,
                "description": "微软官方零售版密钥，支持全新安装和家庭版升级专业版。下单后自动发卡，"
                "请在设置-激活中输入。激活失败请在售后期内联系客服。",
                "promises": ["30天包稳定激活", "激活失败全额退款", "1小时内响应"],
            },
            {
                "title": "Office 2021 专业增强版 绑定微软账户激活码",
                "category": "software_license",
                "kind": "card_key",
                "price": 8800,
                "stock": 8,
                "after_sale_days": 7,
                "description": "可绑定个人微软账户，重装系统后登录账户即可恢复。仅支持 Windows。",
                "promises": ["可绑定账户", "提供安装教程"],
            },
        ],
    },
    "merchant2": {
        "opened_days_ago": 150,
        "shop": ("畅玩游戏服务社", "游戏充值、账号交易与代练，平台担保交易，验号期内可申请售后。"),
        "listings": [
            {
                "title": "原神 创世结晶 6480 官服直充",
                "category": "game_currency",
                "kind": "direct_topup",
                "price": 59800,
                "after_sale_days": 7,
                "verification_minutes": 120,
                "description": "官服（天空岛）UID 直充，不需要账号密码，30 分钟内到账。B 服请勿拍。",
                "promises": ["30分钟内到账", "到账不足按比例退款"],
            },
            {
                "title": "王者荣耀 V10 安卓QQ区 全英雄 158皮肤 账号",
                "category": "game_account",
                "kind": "account",
                "price": 128000,
                "after_sale_days": 30,
                "verification_minutes": 60,
                "description": "实名可改，已解绑手机，附带 12 个传说皮肤。交付后 1 小时验号，请及时修改密码。",
                "promises": ["找回包赔", "1小时验号", "与描述不符全额退款"],
            },
            {
                "title": "王者荣耀 星耀一 → 王者 代练（含保段位）",
                "category": "game_boosting",
                "kind": "service",
                "price": 26800,
                "after_sale_days": 7,
                "verification_minutes": 24 * 60,
                "description": "国服前 100 打手代练，5 天内完成，每日截图汇报进度。未完成部分按进度退款。",
                "promises": ["5天内完成", "不开挂不违规", "每日截图汇报"],
            },
        ],
    },
    "merchant3": {
        "opened_days_ago": 95,
        "shop": ("卡券优选", "礼品卡、话费充值一站购齐。"),
        "listings": [
            {
                "title": "Steam 钱包充值卡 100 元（国区）",
                "category": "gift_card",
                "kind": "card_key",
                "price": 9500,
                "stock": 15,
                "after_sale_days": 7,
                "verification_minutes": 24 * 60,
                # An unfair clause on purpose, so the demo shows the warning (《消费者权益保护法》第二十六条).
                "description": "自动发卡，秒到账。虚拟商品一经售出概不退换，最终解释权归本店所有。",
                "promises": ["秒发货"],
            },
            {
                "title": "中国移动 话费充值 100 元 全国通用",
                "category": "mobile_topup",
                "kind": "direct_topup",
                "price": 9850,
                "after_sale_days": 7,
                "verification_minutes": 6 * 60,
                "description": "三网中的移动号码均可充值，一般 10 分钟内到账，高峰期最长 2 小时。",
                "promises": ["未到账全额退款", "2小时内到账"],
            },
        ],
    },
    "merchant4": {
        "opened_days_ago": 40,
        "shop": ("匠心设计工作室", "十年品牌设计经验，LOGO、海报、PPT 定制，先付定金后付尾款。"),
        "listings": [
            {
                "title": "企业 LOGO 原创设计（三稿可选，含源文件）",
                "category": "custom_design",
                "kind": "service",
                "price": 80000,
                "deposit_percent": 30,
                "after_sale_days": 15,
                "verification_minutes": 3 * 24 * 60,
                "description": "先付 30% 定金，初稿 3 个工作日内交付，确认终稿后支付尾款。交付 AI/PSD/PNG 源文件。",
                "promises": ["3个工作日出初稿", "不满意可修改3次", "版权归买家"],
            },
            {
                "title": "Python 数据分析实战课程（60 课时，永久回看）",
                "category": "online_course",
                "kind": "account",
                "price": 19900,
                "after_sale_days": 7,
                "verification_minutes": 24 * 60,
                "no_reason_refund": True,
                "description": "从 pandas 到可视化的完整课程，交付学习平台账号，课程永久有效，配套习题与答疑群。",
                "promises": ["永久回看", "7天无理由退款", "助教答疑"],
            },
        ],
    },
}

H = timedelta(hours=1)
D = timedelta(days=1)
M = timedelta(minutes=1)

# (buyer, listing title, what happens after buying, chat messages as (who, text), when: bought (before
# now), then delivered and confirmed that long after buying). A case's own moments (aftersales.demo)
# fall after these and inside the order's windows: a confirmation window (verification_minutes) still
# running when a case freezes the escrow, a quality claim within seven days of delivery.
ORDERS = [
    (
        "buyer1",
        "Windows 11 专业版 零售激活码（永久）",
        "delivered",
        [("buyer", "你好，这个码可以从家庭版升级吗？"), ("merchant", "可以的，设置-激活-更改产品密钥输入即可。")],
        {"bought": 5 * H},
    ),
    ("buyer1", "Steam 钱包充值卡 100 元（国区）", "confirm", [], {"bought": 10 * D, "confirmed": 30 * M}),
    # 5 天内完成: delivered five days after the purchase; the (overdue) case opens the day after
    (
        "buyer1",
        "王者荣耀 星耀一 → 王者 代练（含保段位）",
        "deliver",
        [],
        {"bought": 19 * D, "delivered": 5 * D - 6 * H},
    ),
    (
        "buyer2",
        "王者荣耀 V10 安卓QQ区 全英雄 158皮肤 账号",
        "paid",
        [
            ("buyer", "账号什么时候可以交付？我今晚在线验号。"),
            ("merchant", "今晚 8 点前发货，请保持在线，1 小时内验号。"),
        ],
        {"bought": 2 * H},
    ),
    ("buyer2", "中国移动 话费充值 100 元 全国通用", "deliver", [], {"bought": 8 * H, "delivered": 90 * M}),
    ("buyer2", "Office 2021 专业增强版 绑定微软账户激活码", "confirm", [], {"bought": 5 * D, "confirmed": H}),
    (
        "buyer3",
        "企业 LOGO 原创设计（三稿可选，含源文件）",
        "paid",
        [("buyer", "我们是一家咖啡店，希望风格简约，主色调深绿。"), ("merchant", "收到，3 个工作日内给您初稿。")],
        {"bought": D},
    ),
    (
        "buyer3",
        "Python 数据分析实战课程（60 课时，永久回看）",
        "confirm",
        [],
        {"bought": 4 * D, "delivered": 10 * M, "confirmed": 2 * H},
    ),
    ("buyer3", "原神 创世结晶 6480 官服直充", "deliver", [], {"bought": 3 * H, "delivered": 30 * M}),
]

DELIVERY_CONTENT = {
    "王者荣耀 星耀一 → 王者 代练（含保段位）": "已打到王者 5 星，战绩截图已发聊天记录，请上号查看。",
    "中国移动 话费充值 100 元 全国通用": "已充值到 138****0000，运营商流水号 YD20240501123456。",
    "Python 数据分析实战课程（60 课时，永久回看）": "学习平台：learn.example.com 账号 py-student-3 初始密码 Learn#2024，请登录后修改。",
    "原神 创世结晶 6480 官服直充": "已充值到 UID 100234567，请在游戏邮箱查收。",
}
TOPUP_TARGETS = {
    "中国移动 话费充值 100 元 全国通用": "13800000000",
    "原神 创世结晶 6480 官服直充": "UID 100234567",
}


def demo_card_keys(title: str, count: int) -> list[str]:
    """Deterministic, fake card keys (so a second run finds them as duplicates)."""
    keys = []
    for i in range(count):
        digest = hashlib.sha256(f"kameng-demo:{title}:{i}".encode()).hexdigest().upper()
        keys.append("-".join(digest[j : j + 5] for j in range(0, 25, 5)))
    return keys


def _user(username: str, role: str, at: datetime):
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    with told_at(at):
        return create_user(username, DEMO_PASSWORD, role, validate=False)


def _shop(merchant, name: str, description: str, at: datetime):
    existing = Shop.objects.filter(owner=merchant).first()
    if existing is not None:
        return existing
    with told_at(at):
        return create_shop(acting_user=merchant, name=name, description=description)


def _listing(merchant, shop, spec: dict, at: datetime):
    """Listed two days after the shop opened (or now, for a shop that existed before the demo)."""
    at = min(max(at, shop.created_at + 2 * D), clock_now())
    fields = {k: v for k, v in spec.items() if k != "stock"}
    listing = Listing.objects.filter(shop=shop, title=spec["title"]).first()
    with told_at(at):
        if listing is None:
            listing = create_listing(acting_user=merchant, **fields)
        if spec.get("stock"):
            add_stock(listing, acting_user=merchant, items=demo_card_keys(spec["title"], spec["stock"]))
    return listing


DEMO_FUNDS = ledger.gateway_code("demo")  # where the demo's own money comes from when no sandbox can pay


def _fund(buyer, amount: int, at: datetime) -> bool:
    """Top up through the sandbox gateway's real path (a top-up, then its signed notification); with the
    sandbox off, book the demo balance through the ledger directly, as demo data."""
    key = f"demo-funds:{buyer.pk}"
    if (
        Payment.objects.filter(user=buyer, purpose="topup").exists()
        or JournalEntry.objects.filter(idempotency_key=key).exists()
    ):
        return False
    with told_at(at):
        if settings.SANDBOX_ENABLED:
            pay_in_sandbox(create_topup(acting_user=buyer, amount=amount))
            return True
        ledger.transfer(
            key,
            EntryKind.TOPUP,
            DEMO_FUNDS,
            ledger.wallet_code(buyer.pk),
            amount,
            actor="demo",
            memo="演示数据：初始余额",
        )
    return True


def _order(buyer, listing, outcome: str, chat: list[tuple[str, str]], when: dict, now: datetime):
    existing = Order.objects.filter(buyer=buyer, listing=listing).first()
    if existing is not None:
        return existing, False
    merchant = listing.shop.owner
    bought = now - when["bought"]
    with told_at(bought):
        order = purchase(
            acting_user=buyer,
            listing_id=listing.pk,
            accept_special_terms=bool(listing.special_terms),
            topup_target=TOPUP_TARGETS.get(listing.title, ""),
        )
    for i, (who, text) in enumerate(chat):  # the talk starts a few minutes after the purchase
        with told_at(bought + (5 + 5 * i) * M):
            post_message(order, acting_user=buyer if who == "buyer" else merchant, body=text)
    delivered = bought + when.get("delivered", M)
    if outcome in ("deliver", "confirm") and listing.kind != "card_key":
        with told_at(delivered):
            content = DELIVERY_CONTENT.get(listing.title, "已交付，请查收。")
            order = deliver(order, acting_user=merchant, content=content)
    if outcome == "confirm":
        with told_at(bought + when["confirmed"]):
            order = confirm(order, acting_user=buyer)
    return order, True


def _demo_cases(users: dict, orders: dict, now: datetime) -> list[str]:
    """HOOK for the after-sales engineer: open demo refund cases on the orders above.

    `users` maps username → User; `orders` maps (buyer username, listing title) → Order.
    Return one line per case made (for the summary). Must stay idempotent like the rest.
    The stories themselves live with the cases, in kameng.aftersales.demo.
    """
    return demo_cases(users, orders, now)


def _let_the_clock_run(until: datetime) -> None:
    """Timers the history left due fire at their own moments, as a running sweeper would have fired
    them (a reminder the day before a deadline, the overdue flag at decide_by), not at the next sweep."""
    for _ in range(1000):  # a failing timer backs off and gives up after a few attempts
        due = next_due(until)
        if due is None:
            return
        with told_at(due):
            run_one_due(due)


def load_demo() -> str:
    """Load (or complete) the demo marketplace; returns a summary with the demo logins."""
    created = {"users": 0, "listings": 0, "topups": 0, "orders": 0}
    now = clock_now()
    with transaction.atomic():
        users: dict = {}
        before_users = User.objects.count()
        for username, role in STAFF:
            users[username] = _user(username, role, now - STAFF_JOINED_DAYS * D)
        for username in BUYERS:
            users[username] = _user(username, "buyer", now - BUYERS_JOINED_DAYS[username] * D)
        listings: dict = {}
        before_listings = Listing.objects.count()
        for username, spec in MERCHANTS.items():
            opened = now - spec["opened_days_ago"] * D
            merchant = users[username] = _user(username, "merchant", opened - D)
            name, description = spec["shop"]
            shop = _shop(merchant, name, description, opened)
            for listing_spec in spec["listings"]:
                listings[listing_spec["title"]] = _listing(merchant, shop, listing_spec, opened + 2 * D)
        created["users"] = User.objects.count() - before_users
        created["listings"] = Listing.objects.count() - before_listings
        for username in BUYERS:
            created["topups"] += _fund(users[username], BUYER_TOPUP, now - TOPUP_DAYS_AGO * D)
        orders: dict = {}
        for buyer_name, title, outcome, chat, when in ORDERS:
            order, made = _order(users[buyer_name], listings[title], outcome, chat, when, now)
            orders[(buyer_name, title)] = order
            created["orders"] += made
        cases = _demo_cases(users, orders, now)
        _let_the_clock_run(now)

    lines = [
        "kameng demo: " + ("loaded" if any(created.values()) or cases else "already loaded, nothing added"),
        f"  new users {created['users']}, listings {created['listings']}, top-ups {created['topups']}, "
        f"orders {created['orders']}" + (f", cases {len(cases)}" if cases else ""),
        *[f"  {line}" for line in cases],
        f"demo logins (password {DEMO_PASSWORD} for all):",
        "  buyers:     " + ", ".join(BUYERS),
        "  merchants:  " + ", ".join(f"{name} ({spec['shop'][0]})" for name, spec in MERCHANTS.items()),
        "  arbitrators: arbitrator, arbitrator2",
        "  admin:      admin",
    ]
    return "\n".join(lines)
