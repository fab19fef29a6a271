"""Messages that push payment off the platform (站外交易: 加微信 / 私下转账 / QQ and WeChat ids).

Two kinds of signal count:
- a request to pay or trade outside the platform ("私下转账", "支付宝转我", "不走平台", "加V"),
  unless it is said as a warning ("不要私下转账", "私下交易会被骗");
- a contact handle on a payment or chat channel ("vx: kameng888", "扣扣 1 2 3 4 5 6").
Before matching, the tokens our own goods are made of (licence keys "XXXXX-XXXXX-…", error
codes "0x8007007B", order numbers "KM2026…") are masked, then the separators people use to
dodge filters are dropped ("v x", "1 2 3-4 5"). Plain talk about activation codes, errors,
orders and prices must not trip it: tests keep a corpus of both kinds.

Chat messages are flagged (the message stands, both parties see the warning). Listing text is
public and is read by every buyer, so a contact there is refused at create and update
(`listing_contact_field`): besides the chat signals, a bare mobile number, an e-mail address or a
t.me / wa.me link counts in a listing.
"""

import re
import unicodedata

FLAG = "off_platform_payment"
WARNING = (
    "平台提示：站外付款（加微信/QQ、私下转账、扫个人收款码）不受平台担保交易和售后保障，请始终在平台内付款和退款。"
)
WARNING_EN = (
    "Platform notice: payments made off the platform (WeChat/QQ contacts, private transfers, personal "
    "QR codes) are not covered by escrow or buyer protection. Always pay and refund on the platform."
)

_TRAD = str.maketrans(
    {
        "轉": "转",
        "賬": "账",
        "帳": "账",
        "寶": "宝",
        "號": "号",
        "幫": "帮",
        "給": "给",
        "線": "线",
        "臺": "台",
        "聯": "联",
        "繫": "系",
        "係": "系",
        "掃": "扫",
        "維": "维",
        "碼": "码",
        "紅": "红",
        "發": "发",
        "銀": "银",
        "戶": "户",
        "錢": "钱",
        "個": "个",
        "飛": "飞",
        "機": "机",
        "詳": "详",
        "聊": "聊",
        "費": "费",
        "續": "续",
        "過": "过",
        "開": "开",
        "離": "离",
        "買": "买",
        "賣": "卖",
        "價": "价",
        "單": "单",
        "別": "别",
        "們": "们",
        "關": "关",
        "網": "网",
        "訊": "讯",
        "員": "员",
        "騙": "骗",
        "護": "护",
        "險": "险",
        "規": "规",
        "違": "违",
        "讓": "让",
        "這": "这",
        "還": "还",
        "裡": "里",
        "裏": "里",
        "鹹": "咸",
        "閑": "闲",
        "閒": "闲",
        "薇": "薇",
    }
)
_CN_DIGITS = str.maketrans(
    {
        "零": "0",
        "〇": "0",
        "一": "1",
        "幺": "1",
        "二": "2",
        "两": "2",
        "三": "3",
        "四": "4",
        "五": "5",
        "六": "6",
        "七": "7",
        "八": "8",
        "九": "9",
    }
)

# Tokens of the goods themselves, masked before separators are dropped.
_MASKS = [
    re.compile(r"[a-z0-9]{4,8}(?:-[a-z0-9]{4,8}){2,}"),  # licence keys XXXXX-XXXXX-XXXXX
    re.compile(r"0x[0-9a-f]{4,}"),  # Windows error codes
    re.compile(r"km\d{8,}"),  # our order numbers
    re.compile(r"\b(?:kb|error|err|code)\d{3,}\b"),  # KB numbers, error numbers
]
_MASK = "ǂ"
_DROP = re.compile(r"[\W_]+", re.UNICODE)

CHANNEL = (
    r"(?:微信|威信|薇信|徽信|维信|卫星|v信|vx|wx|weixin|wechat|扣扣|qq|企鹅|支付宝|zfb|alipay|飞机|电报|tg|telegram"
    r"|银行卡)"
)
_HANDLE = r"[a-z0-9@]{5,30}"

# Requests to pay or trade outside the platform.
PAY_OUTSIDE = [
    r"加(?:我|他|她|下|一下|个|我的)?(?:微信|威信|薇信|徽信|维信|v信|vx|wx|weixin|wechat|扣扣|qq|企鹅|好友|飞机|电报|tg|telegram)",
    r"加(?:我|下|一下)?(?:v|w|q|微|薇|威)(?:号)?[a-z0-9]{5,}",
    r"(?:私下|私底下|私聊|线下|场外|站外)(?:转账|交易|付款|支付|退款|打款|结算|成交|给钱|转给|转钱|汇款)",
    r"(?:微信|支付宝|zfb|wx|vx|v信|qq|银行卡)(?:直接)?(?:转|付|打|汇)(?:账|款|钱)?(?:给|到)?我",
    r"转(?:账|钱|款)?(?:到|给)我(?:的)?(?:支付宝|微信|银行卡|卡上|卡里|私人|个人)",
    r"直接(?:转|打|付|汇)(?:账|款|钱)?(?:给)?我",
    r"(?:不|别|不要|不用|无需|无须|绕开|绕过|避开|脱离|跳过)(?:走|用|经过|通过|在)?平台(?:交易|付款|下单|拍|了|吧)?",
    r"走(?:支付宝|微信|v信|vx|qq|银行卡)(?:转账|交易|付款|支付)",
    r"(?:扫|加)(?:我|一下我)(?:的)?(?:二维码|收款码|收钱码|付款码)|(?:收款码|收钱码)",
    r"发(?:你|给你)(?:个|一个)?(?:收款码|二维码)",
    r"红包(?:给我|发我|到我)|(?:微信|qq|支付宝)(?:发)?红包",
    r"直接找我(?:买|拿货|交易|续费)",
    r"(?:去|到|在)(?:淘宝|闲鱼|咸鱼|拼多多|转转)(?:上)?(?:拍|下单|付款|买|交易)",
    r"(?:手续费|平台费).{0,10}(?:私下|直接)(?:交易|转|付|打款)",
]
_PAY_RE = re.compile("|".join(f"(?:{p})" for p in PAY_OUTSIDE))
_NEGATION = re.compile(r"(?:不要|别|勿|禁止|不能|不可以|不会|谨防|小心|拒绝|严禁|不得|不允许|防止|避免|切莫|提醒)$")
_WARNED = re.compile(r"^(?:.{0,6})(?:保障|保护|风险|骗|不安全|违规|封号|被封|后果)")

# A handle right after a channel word ("vx同号 138…", "微信号是 kameng888"), or before one ("kameng888 是我微信").
_HANDLE_AFTER = re.compile(
    CHANNEL + r"(?:同号|同手机号?|同电话|手机号|号码|账号|号|id|是|为|也是|就是){0,2}(" + _HANDLE + r")"
)
_HANDLE_BEFORE = re.compile(
    r"(?<![a-z0-9])([a-z0-9][a-z0-9@]{4,29})(?:(?:是|就是|为|同|也是)(?:我的?|本人)?|我的?|本人)" + CHANNEL
)
# One-letter or one-character channels ("+V 139…", "微❤ kameng888") only with a phone number or a handle.
_SHORT_CHANNEL = re.compile(
    r"(?:^|(?<=[^a-z0-9]))(?:(?:v|w|q)1[3-9]\d{9}|(?:微|薇|威)[a-z][a-z0-9]{4,19}\d)(?![a-z0-9])"
)
_TOPUP_CONTEXT = re.compile(r"充值|充到|充入|到账|q币|qb|点券|会员|话费")


def normalize(text: str) -> str:
    """NFKC, lower case, traditional → simplified; our goods' tokens masked; separators dropped."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_TRAD)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    for mask in _MASKS:
        text = mask.sub(_MASK, text)
    return _DROP.sub("", text)


def _pay_request(norm: str) -> bool:
    for match in _PAY_RE.finditer(norm):
        before = norm[max(0, match.start() - 6) : match.start()]
        after = norm[match.end() : match.end() + 10]
        if _NEGATION.search(before) or _WARNED.search(after):
            continue  # "不要私下转账", "私下交易会被骗": a warning, not a request
        return True
    return False


def _shares_handle(norm: str) -> bool:
    digits = norm.translate(_CN_DIGITS)
    for text in (norm, digits):
        for match in _HANDLE_AFTER.finditer(text):
            handle = match.group(1)
            if handle.replace(_MASK, "") != handle or not any(c.isdigit() for c in handle) and len(handle) < 6:
                continue
            channel = text[match.start() : match.start() + 2]
            if channel == "qq" and _TOPUP_CONTEXT.search(text):
                continue  # a QQ number as a top-up target (QQ币/会员), not a contact
            return True
        if _HANDLE_BEFORE.search(text) or _SHORT_CHANNEL.search(text):
            return True
    return False


def is_off_platform_payment(text: str) -> bool:
    norm = normalize(text)
    return _pay_request(norm) or _shares_handle(norm)


def message_flags(text: str) -> list[str]:
    return [FLAG] if is_off_platform_payment(text) else []


# Listing text only: contacts that need no channel word there (a listing has no reason to carry any).
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9](?:[ \-]?[0-9]){8}(?![0-9])")
_EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")
_CHAT_LINK = re.compile(r"(?:t\.me|telegram\.me|wa\.me|qm\.qq\.com|u\.wechat\.com)/")


def has_listing_contact(text: str) -> bool:
    """Whether listing text invites the buyer off the platform: the chat detector, or a contact."""
    if is_off_platform_payment(text):
        return True
    plain = unicodedata.normalize("NFKC", text or "").lower()
    for mask in _MASKS:
        plain = mask.sub(_MASK, plain)
    return bool(_MOBILE.search(plain) or _EMAIL.search(plain) or _CHAT_LINK.search(plain))


def listing_contact_field(fields: list[tuple[str, str]]) -> str | None:
    """The first (field, text) pair whose text carries an off-platform contact: its field name."""
    for name, text in fields:
        if has_listing_contact(text):
            return name
    return None
