"""Table-driven tests of the two text detectors: unfair clauses in listings, off-platform payment in chat."""

import pytest

from kameng.catalog.clauses import find_unfair_clauses
from kameng.security.offplatform import is_off_platform_payment, message_flags

# (listing text, the clause label expected)
UNFAIR = [
    ("一经售出概不退换", "一经售出概不退换"),
    ("一经售出，概不退换！", "一经售出概不退换"),
    ("一 经 售 出 ， 概 不 退 换", "一经售出概不退换"),
    ("一經售出，概不退換", "一经售出概不退换"),
    ("ー经售出概不退换".replace("ー", "一"), "一经售出概不退换"),
    ("本商品一经出售，恕不退换", "一经售出概不退换"),
    ("一旦发货后不予退款", "一经售出概不退换"),
    ("一经拍下，如无质量问题概不退款", "一经售出概不退换"),
    ("一经售出・概不退还", "一经售出概不退换"),
    ("虚拟商品不退不换", "虚拟商品不退不换"),
    ("虛擬商品不退不換", "虚拟商品不退不换"),
    ("虚拟物品，不退不换", "虚拟商品不退不换"),
    ("虚拟商品一律不退款", "虚拟商品不退不换"),
    ("售出不退", "售出不退"),
    ("卖出后概不退款", "售出不退"),
    ("售出不换", "售出不退"),
    ("本店商品不退不换", "不退不换"),
    ("最终解释权归本店所有", "最终解释权归本店所有"),
    ("最終解釋權歸本店所有", "最终解释权归本店所有"),
    ("本活动最终解释权归商家", "最终解释权归本店所有"),
    ("本店拥有最终解释权", "最终解释权归本店所有"),
    ("解释权属于卖家", "最终解释权归本店所有"),
    ("账号被封概不负责", "概不负责"),
    ("使用后出现任何问题，本店概不负责。", "概不负责"),
    ("封号风险自负，卖家不承担任何责任", "概不负责"),
    ("概 不 負 責", "概不负责"),
    ("激活码发出后恕不退款", "概不退款"),
    ("非质量问题一律不退货", "概不退款"),
    ("发货后不提供售后", "售出后不提供售后"),
    ("一经售出\u200b概不退换", "一经售出概不退换"),
    ("ＡＢ一经售出！！概不退换＃", "一经售出概不退换"),
]

FAIR = [
    "正版授权，24小时内激活",
    "100%稳定激活，失败全额退款",
    "支持七天无理由退换",
    "虚拟商品不支持七天无理由退货（消费者权益保护法第二十五条），激活码无效可全额退款",
    "售出后7天内如有质量问题可退换",
    "如有问题请联系客服，售后有保障",
    "本店负责到底，激活失败包退",
    "已售出10000份，好评如潮",
    "不影响主要功能的已使用商品不予退款；影响主要功能的缺陷仍可退款",
    "详细解释权限设置请看本店教程",
    "版权归本店所有，请勿转载",
    "7×12小时售后，1小时内回复",
    "游戏账号支持1小时验号，不满意可退",
    "退款处理时限：24小时内到账",
    "激活失败请提供报错截图，我们会尽快处理",
    "充值未到账全额退款",
    "课程按无法观看的内容比例退款",
    "代练按未完成的进度比例退款",
    "购买前请确认系统版本，不清楚可以咨询",
    "卖家承担因激活码无效造成的全部责任",
    "包含最终版本的所有更新",
    "此商品为定制类商品，购买时需确认特殊条款",
    "不退出登录也能使用",
    "退换货政策见平台规则",
    "商家负责售后，买家负责验货",
    "一经使用即可永久激活",
    "售出的激活码均为正版",
    "本活动解释说明见详情页",
    "不满意包退包换",
    "虚拟商品支持退款，请放心购买",
    "概率掉落稀有道具",
]


@pytest.mark.parametrize("text,label", UNFAIR)
def test_unfair_clause_is_found_with_its_law(text, label):
    warnings = find_unfair_clauses(text)
    assert [w["text"] for w in warnings] == [label], warnings
    w = warnings[0]
    assert w["code"] == "unfair_clause"
    assert "《消费者权益保护法》第二十六条" in w["law"] and "《民法典》第四百九十七条" in w["law"]
    assert "不具有约束力" in w["notice"]


@pytest.mark.parametrize("text", FAIR)
def test_fair_listing_text_does_not_warn(text):
    assert find_unfair_clauses(text) == []


EXCLUSION = "《消费者权益保护法》第二十六条；《民法典》第四百九十七条；《消费者权益保护法实施条例》第十七条"


def test_refund_exclusions_cite_26_497_and_regulation_17_and_each_clause_is_reported_once():
    warnings = find_unfair_clauses("一经售出概不退换", "虚拟商品不退不换", "一经售出概不退换，最终解释权归本店所有")
    assert [w["text"] for w in warnings] == ["一经售出概不退换", "虚拟商品不退不换", "最终解释权归本店所有"]
    assert [w["law"] for w in warnings] == [EXCLUSION] * 3


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("付款后不代表订单成立，以本店确认为准", "付款后订单不成立"),
        ("拍下付款后订单不生效", "付款后订单不成立"),
        ("訂單以賣家發貨為準", "订单以发货为准"),
        ("合同成立以商家确认为准", "订单以发货为准"),
    ],
)
def test_no_contract_after_payment_clauses_cite_ecommerce_article_49_only(text, label):
    [warning] = find_unfair_clauses(text)
    assert warning["text"] == label and warning["law"] == "《电子商务法》第四十九条"


FLAGGED = [
    "加我微信 kameng888，给你便宜点",
    "加V：abc 123 456",
    "v x: kameng_888",
    "V信 13800138000 私聊",
    "扣扣 1 2 3 4 5 6 7 8 9",
    "私下转账给你打九折",
    "支付宝转我 50 就行",
    "不走平台，手续费太贵",
    "QQ：987654321 联系我",
    "威信 kameng666",
    "加个好友，微信上聊",
    "直接转我支付宝，省手续费",
    "转账到我的银行卡 6222 0202 0011 2233 445",
    "wx号：shop_999",
    "薇信：k a m e n g 8 8 8",
    "我的微信是 kameng2026",
    "kameng888 是我微信，加一下",
    "13800138000 同微信",
    "加 q 1 2 3 4 5 6 7 8",
    "扫我的收款码付款更快",
    "下次直接找我买，不用在平台拍",
    "平台手续费高，我们私下交易吧",
    "去闲鱼拍，便宜 20",
    "加我飞机 @kameng_shop",
    "微信红包发我就行",
    "zfb 转我 100",
    "加我企鹅 55667788",
    "退款走微信转账给你，别走平台了",
    "绕过平台交易更便宜",
    "線下轉賬，加微信詳聊",
    "+V 13900139000",
    "微❤ kameng888",
    "VX同号 13800138000",
    "支付宝账号：pay@kameng.cn，转这里",
    "微信号：一三八零零一三八零零零",
    "Ｖ Ｘ：ｋａｍｅｎｇ８８８",
    "扣扣号是 778899001",
]

NORMAL = [
    "激活码已发送，请在设置-激活中输入：VK7JG-NPHTM-C97JM-9MPGT-3V66T",
    "激活失败，提示错误代码 0x8007007B，怎么处理？",
    "订单号 KM2026011500000012 还没收到卡密",
    "价格是 99 元，已经付款了",
    "我的订单 KM202601150000003 显示已发货，但是卡密打不开",
    "请问这个激活码支持 Windows 11 专业版吗？",
    "错误 0xC004F074，密钥管理服务无法访问",
    "你好，账号密码已经发你了，请及时修改密码",
    "游戏币已到账 5000，差 1000 没到",
    "QQ音乐绿钻一个月的兑换码能用吗",
    "微信读书会员兑换码已经发货了，请查收",
    "请通过平台的售后入口申请退款，不要私下转账",
    "平台规定不能私下交易，有问题走平台售后",
    "已经帮你充值到QQ号 123456789，Q币请查收",
    "话费充值到 13800138000 需要 10 分钟左右到账",
    "退款会原路退回到你的平台钱包",
    "这个课程有效期 365 天，价格 199 元",
    "截图发到这里就可以，我看一下报错",
    "谢谢老板，五星好评",
    "代练已经打到钻石 2 段了，预计明天完成",
    "账号等级 V8，皮肤 120 个，和描述一致",
    "请问支持支付宝充值钱包吗？",
    "激活码 XXXXX-XXXXX-XXXXX-XXXXX-XXXXX 格式不对",
    "设置里找到 Microsoft 账户，登录后再激活",
    "版本号是 10.0.19045，专业版",
    "已退款 50 元，剩下的按进度结算",
    "我这边显示 Error 1603，安装失败",
    "卡号 1234567890123456 密码 654321 已发放",
    "Steam 钱包码：ABCDE-FGHIJ-KLMNO",
    "明天上午 10 点前发货，谢谢耐心等待",
    "请提供一下录屏，包含订单号和报错画面",
    "微信支付的话在平台充值页面选就行",
    "vip 会员 30 天，激活后立即生效",
    "wx 版本的游戏不能用这个码",
    "QQ 飞车点券 10000 已到账",
    "授权码 ABCD1234EFGH5678 已绑定到你的账户",
    "报错 KB5034441 更新失败",
    "我在群里看到有人说私下交易会被骗，还是走平台吧",
    "支付宝付款的退款多久到账？",
    "WX7JG-NPHTM-C97JM-9MPGT-3V66T 这个码提示已被使用",
    "价格 99999 微信支付可以吗",
    "已按平台规则全额退款，请查收钱包",
]


@pytest.mark.parametrize("text", FLAGGED)
def test_message_pushing_payment_off_the_platform_is_flagged(text):
    assert message_flags(text) == ["off_platform_payment"]


@pytest.mark.parametrize("text", NORMAL)
def test_normal_message_is_not_flagged(text):
    assert not is_off_platform_payment(text), text


def test_corpora_are_large_enough():
    assert len(FLAGGED) >= 30 and len(NORMAL) >= 30
    assert len(UNFAIR) >= 30 and len(FAIR) >= 30
