"""Messages the services raise (in Chinese), marked here so the English catalog can translate them.

Pages show `gettext(error.message)`: with Chinese active that is the service's own text; with
English active it is the translation below, or the Chinese text if none was written yet.
"""

from django.utils.translation import gettext_noop

MESSAGES = [
    gettext_noop("用户名不能为空且不超过150个字符"),
    gettext_noop("用户名已被占用"),
    gettext_noop("用户名或密码错误"),
    gettext_noop("只能注册为买家或商家"),
    gettext_noop("不支持的语言"),
    gettext_noop("只有商家可以开店"),
    gettext_noop("店铺名称不能为空且不超过80个字符"),
    gettext_noop("店铺名称不能为空"),
    gettext_noop("每个商家只能开一家店"),
    gettext_noop("只有商家可以发布商品"),
    gettext_noop("请先开设店铺"),
    gettext_noop("只能编辑自己店铺的商品"),
    gettext_noop("未知的商品类目"),
    gettext_noop("未知的交付方式"),
    gettext_noop("标题不能为空且不超过120个字符"),
    gettext_noop("价格必须是正整数（分）"),
    gettext_noop("售后天数必须在0到365之间"),
    gettext_noop("验货期必须在0到43200分钟之间"),
    gettext_noop("定金比例必须在1到99之间"),
    gettext_noop("自动发卡商品不支持分阶段付款"),
    gettext_noop("承诺最多20条，每条不超过200个字符"),
    gettext_noop("只能为自己店铺的商品补货"),
    gettext_noop("只有自动发卡商品需要库存"),
    gettext_noop("一次最多添加10000条"),
    gettext_noop("单条卡密不超过2000个字符"),
    gettext_noop("充值金额必须是 1 到 10000000 之间的整数（分）"),
    gettext_noop("余额不足"),
    gettext_noop("只有买家可以下单"),
    gettext_noop("不能购买自己店铺的商品"),
    gettext_noop("数量必须在1到100之间"),
    gettext_noop("该商品每单只能购买1件"),
    gettext_noop("该商品属于特殊商品，请先阅读并确认特殊条款"),
    gettext_noop("直充商品需要填写充值账号"),
    gettext_noop("库存不足"),
    gettext_noop("只有本店商家可以发货"),
    gettext_noop("交付内容不能为空且不超过20000个字符"),
    gettext_noop("自动发卡商品无需手动发货"),
    gettext_noop("订单当前状态不能发货"),
    gettext_noop("只有买家可以确认收货"),
    gettext_noop("订单当前状态不能确认收货"),
    gettext_noop("只有交易双方可以留言"),
    gettext_noop("留言不能为空且不超过5000个字符"),
    gettext_noop("无权执行此操作"),
]
