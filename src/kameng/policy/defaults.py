"""Default rules (shared/product/rules.md). Every number here is an operator-editable default."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .laws import CPL_25


class CategoryClass(models.TextChoices):
    STANDARDIZED = "standardized", _("标准化商品")  # refund rules by category; small cases take the fast track
    CUSTOMIZED = (
        "customized",
        _("定制类商品（特殊商品）"),
    )  # special goods: terms confirmed at purchase, no no-reason refund


STANDARDIZED = CategoryClass.STANDARDIZED
CUSTOMIZED = CategoryClass.CUSTOMIZED

CATEGORIES = {
    "software_license": {
        "name": "软件授权码",
        "name_en": "Software licence codes",
        "class": STANDARDIZED,
        "no_reason": "no once revealed, unless the listing offers it",
        "rule": "激活码无效或与描述不符全额退款；订阅类按未能使用的期限比例退款。",
        "rule_en": "Full refund when invalid or not as described; pro-rata for subscriptions that worked for part of the term.",
    },
    "game_currency": {
        "name": "虚拟货币/游戏币",
        "name_en": "Game currency",
        "class": STANDARDIZED,
        "no_reason": "no once credited",
        "rule": "到账金额不足时按不足部分比例退款。",
        "rule_en": "Shortfall refunded: the missing share of the amount.",
    },
    "mobile_topup": {
        "name": "话费充值",
        "name_en": "Mobile top-up",
        "class": STANDARDIZED,
        "no_reason": "no once credited",
        "rule": "未到账全额退款。",
        "rule_en": "Full refund if not credited.",
    },
    "gift_card": {
        "name": "礼品卡/卡密",
        "name_en": "Gift cards / card keys",
        "class": STANDARDIZED,
        "no_reason": "no once revealed",
        "rule": "交付时已失效或已被使用全额退款。",
        "rule_en": "Full refund if invalid or already used at delivery.",
    },
    "online_course": {
        "name": "课程",
        "name_en": "Online courses",
        "class": STANDARDIZED,
        "no_reason": "per listing",
        "rule": "按无法观看的内容比例退款。",
        "rule_en": "Pro-rata by content unavailable.",
    },
    "game_account": {
        "name": "游戏账号/专属账号",
        "name_en": "Game accounts",
        "class": CUSTOMIZED,
        "no_reason": "no; confirmed at purchase",
        "rule": "与描述不符（等级、道具、绑定）或被卖家找回的全额退款。",
        "rule_en": "Full refund if not as described (level, items, binding) or reclaimed by the seller.",
    },
    "game_boosting": {
        "name": "游戏代练",
        "name_en": "Game boosting",
        "class": CUSTOMIZED,
        "no_reason": "no; confirmed at purchase",
        "rule": "按未完成的进度比例退款。",
        "rule_en": "Pro-rata by progress not delivered.",
    },
    "custom_design": {
        "name": "专属设计",
        "name_en": "Custom design",
        "class": CUSTOMIZED,
        "no_reason": "no; confirmed at purchase",
        "rule": "按未交付的里程碑退款。",
        "rule_en": "By milestone not delivered.",
    },
}

# 特殊商品清单: terms a buyer of customized goods must confirm at purchase, or they do not bind.
SPECIAL_TERMS = [
    f"本商品为定制类虚拟商品（特殊商品清单），不适用七日无理由退货（{CPL_25.short}）。",
    "不影响主要功能的已使用商品不予退款；影响主要功能的缺陷仍可退款。",
]

# Sanctions (商家信用处罚, kameng.trust): each grade's lowest score (below D's is E). With a merchant
# fault on record, D restricts the shop (限制流量) and E suspends it (清退); so do this many
# refusals later overturned within 90 days (频繁拒绝合理退款).
GRADE_FLOORS: dict[str, int] = {"A": 90, "B": 75, "C": 60, "D": 40}
SUSPEND_AFTER_OVERTURNED: int = 3

DEFAULTS = {
    "merchant_respond_hours": 48,
    "buyer_respond_days": 7,
    "arbitration_working_days": 3,
    "fast_track_hours": 24,
    "fast_track_threshold_fen": 20000,
    "compromise_respond_hours": 48,
    "appeal_days": 7,
    "fast_track_appeal_hours": 24,  # so a small case is paid within about two days
    "deadline_reminder_hours": 24,
    "default_verification_minutes": 24 * 60,
    "default_after_sale_days": 7,
    "categories": CATEGORIES,
    # Commission and settlement (issue 17): basis points of each release per category (absent: 0),
    # and T+N — released money becomes withdrawable N days after its release.
    "commission_bp": {},
    "settlement_days": 0,
    "grade_floors": GRADE_FLOORS,
    "suspend_after_overturned_refusals": SUSPEND_AFTER_OVERTURNED,
}
MAX_COMMISSION_BP = 5000  # 50%: a higher "commission" would be the platform taking the sale
MAX_SETTLEMENT_DAYS = 30
