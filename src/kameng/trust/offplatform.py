"""Messages that push payment off the platform (加微信 / 私下转账 / QQ and WeChat ids).

Normalization removes the separators people use to dodge filters ("v x", "1 2 3-4 5"), then
two kinds of signal count: a contact-channel word next to an id-like string, or an explicit
request to pay outside the platform. Plain talk about activation codes and error numbers must
not trip it (tests keep a corpus of both).
"""
import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-_.·•,，。、:：;；|/\\*~～+＋()（）\[\]【】'\"“”‘’!！?？]+")

CHANNEL = r"(微信|威信|薇信|徽信|v信|vx|wx|weixin|wechat|扣扣|qq|企鹅|支付宝|zfb|alipay|飞机|tg|telegram)"
PAY_OUTSIDE = [
    r"加(我)?(个)?(微信|威信|薇信|v信|vx|wx|扣扣|qq|企鹅|好友)",
    r"私下(转账|交易|付款|支付|联系|退款)",
    r"(支付宝|微信|zfb|wx|vx)(直接)?(转|付|打)(给)?我",
    r"转(账)?(到|给)我(的)?(支付宝|微信|银行卡|卡)",
    r"不走平台", r"(绕开|绕过|避开|脱离)平台", r"线下(交易|转账|付款)", r"走(支付宝|微信)(转账|交易)",
    r"(加|联系)(我)?(飞机|tg|telegram)",
]
_PAY_RE = re.compile("|".join(PAY_OUTSIDE))
_ID_NEAR_CHANNEL = re.compile(CHANNEL + r"(号|账号|id)?(是|为)?[a-z0-9]{5,20}")
_ID_BEFORE_CHANNEL = re.compile(r"[a-z][a-z0-9]{5,19}" + r"(是我的|我的)?" + CHANNEL)


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _SEPARATORS.sub("", text)


def is_off_platform_payment(text: str) -> bool:
    norm = normalize(text)
    return bool(_PAY_RE.search(norm) or _ID_NEAR_CHANNEL.search(norm) or _ID_BEFORE_CHANNEL.search(norm))


def message_flags(text: str) -> list[str]:
    return ["off_platform_payment"] if is_off_platform_payment(text) else []
