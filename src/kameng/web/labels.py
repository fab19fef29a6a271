"""Display names for the codes the services use (kinds, roles, shop and listing statuses), translatable.

Order and escrow statuses carry their labels on their enums (kameng.orders.lifecycle).
"""

from django.utils.translation import gettext_lazy as _

KINDS = {
    "card_key": _("自动发卡"),
    "account": _("账号交付"),
    "direct_topup": _("直充"),
    "service": _("人工服务"),
}

SHOP_STATUS = {
    "active": _("正常经营"),
    "restricted": _("限制流量"),
    "suspended": _("已清退"),
}

CATEGORY_CLASS = {
    "standardized": _("标准化商品"),
    "customized": _("定制类商品（特殊商品）"),
}

ROLES = {
    "buyer": _("买家"),
    "merchant": _("商家"),
    "arbitrator": _("仲裁员"),
    "admin": _("平台运营"),
}

LISTING_STATUS = {
    "active": _("在售"),
    "inactive": _("已下架"),
}
