"""Display names for the codes the services use (statuses, kinds, roles), translatable."""

from django.utils.translation import gettext_lazy as _

ORDER_STATUS = {
    "paid": _("已付款，待发货"),
    "delivered": _("已发货，待确认"),
    "completed": _("已完成"),
    "refunded": _("已退款"),
    "partially_refunded": _("部分退款"),
}

ESCROW_STATUS = {
    "held": _("平台担保中"),
    "frozen": _("已冻结（售后处理中）"),
    "released": _("已放款给商家"),
    "refunded": _("已退回买家"),
}

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
