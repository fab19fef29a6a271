"""Unfair format clauses (霸王条款) in listing text, with the law that voids them.

Text is normalized first (traditional → simplified for the characters these clauses use,
full-width → half-width, spaces, punctuation, symbols and zero-width characters removed), so
"一經售出，概 不 退 換" is caught. Each pattern names its clause and the articles that void it;
where two patterns hit the same words, the earlier (more specific) one reports them.
"""

import re
import unicodedata

from kameng.policy.laws import EXCLUSION_LAWS, FORMATION_LAWS, Law, cites

# 概不退换 / 不退不换 / 最终解释权 / 概不负责 exclude the buyer's rights; 付款后订单不成立 denies the
# contract itself. Which articles void each is decided once, in kameng.policy.laws.
EXCLUSION = EXCLUSION_LAWS
FORMATION = FORMATION_LAWS

# Traditional → simplified, for every character the patterns below (and their usual
# surroundings) are written with. Curated rather than a whole dictionary: no dependency.
_TRAD = str.maketrans(
    {
        "經": "经",
        "賣": "卖",
        "換": "换",
        "貨": "货",
        "擬": "拟",
        "虛": "虚",
        "權": "权",
        "歸": "归",
        "責": "责",
        "負": "负",
        "後": "后",
        "銷": "销",
        "無": "无",
        "條": "条",
        "釋": "释",
        "終": "终",
        "擁": "拥",
        "說": "说",
        "們": "们",
        "與": "与",
        "為": "为",
        "當": "当",
        "對": "对",
        "屬": "属",
        "於": "于",
        "產": "产",
        "價": "价",
        "錢": "钱",
        "謝": "谢",
        "絕": "绝",
        "請": "请",
        "購": "购",
        "買": "买",
        "發": "发",
        "單": "单",
        "擔": "担",
        "擇": "择",
        "規": "规",
        "則": "则",
        "門": "门",
        "鋪": "铺",
        "舖": "铺",
        "務": "务",
        "應": "应",
        "還": "还",
        "這": "这",
        "個": "个",
        "啟": "启",
        "啓": "启",
        "動": "动",
        "概": "概",
        "予": "予",
        "確": "确",
        "認": "认",
        "訂": "订",
        "費": "费",
        "態": "态",
        "隨": "随",
        "變": "变",
        "聲": "声",
        "明": "明",
        "問": "问",
        "題": "题",
        "況": "况",
        "恕": "恕",
        "處": "处",
        "理": "理",
        "號": "号",
        "碼": "码",
        "戶": "户",
        "帳": "账",
        "賬": "账",
        "優": "优",
        "惠": "惠",
        "活": "活",
        "據": "据",
        "壹": "一",
        "準": "准",
    }
)

_DROP = re.compile(r"[\W_]+", re.UNICODE)

_NEG = r"(概不|恕不|一律不|一概不|均不|不予|不接受|不支持|不能|不可|不得|不)"
_REFUND = r"(退换|退还|退款|退货|退|换)"

# (priority order) pattern over normalized text → clause label, laws.
PATTERNS: list[tuple[re.Pattern, str, tuple[Law, ...]]] = [
    # 一经售出概不退换 and its relatives: "once sold/shipped/paid … no refund or exchange".
    (
        re.compile(
            r"(一经|一旦|凡)(售|卖|出售|销售|发货|发出|拍下|购买|下单|付款|支付|交付|成交)出?(后|之后)?"
            r".{0,6}?" + _NEG + _REFUND
        ),
        "一经售出概不退换",
        EXCLUSION,
    ),
    # 虚拟商品不退不换: a blanket exclusion for all virtual goods (消法第二十五条 only excludes no-reason returns).
    (
        re.compile(
            r"虚拟(商品|物品|产品|货物|类商品|物|货|卡密|道具)(一律|均|概|都|全部)?"
            r"(不退不换|不退换|不予退换|不予退款|不退款|不退货|不退|不换|概不退换|恕不退换)"
        ),
        "虚拟商品不退不换",
        EXCLUSION,
    ),
    (re.compile(r"(售|卖)出(后|之后)?(概|恕|一律|均|都)?(不予|不)" + _REFUND), "售出不退", EXCLUSION),
    (re.compile(r"不退不换"), "不退不换", EXCLUSION),
    (re.compile(r"(概不|恕不|一律不|一概不|均不)(退换|退还|退款|退货|换货|退|换)"), "概不退款", EXCLUSION),
    # 最终解释权归本店所有, in either word order.
    (
        re.compile(
            r"(最终|最后)?解释权(归|属|属于|为|由|在)?(本店|本商家|商家|卖家|店家|本公司|本店铺|店铺|掌柜|我方|本人)"
        ),
        "最终解释权归本店所有",
        EXCLUSION,
    ),
    (
        re.compile(
            r"(本店|本商家|商家|卖家|店家|本公司|本店铺|店铺|掌柜|我方|本人)(拥有|享有|保留|具有|有)"
            r"(本活动|本商品|对本商品|对本活动)?(的)?(最终|最后)解释权"
        ),
        "最终解释权归本店所有",
        EXCLUSION,
    ),
    # 概不负责: the seller excludes its own liability.
    (re.compile(r"(概不|恕不|一律不|一概不|均不)(负责|承担(任何)?(责任|后果|损失))"), "概不负责", EXCLUSION),
    (
        re.compile(r"(本店|本商家|商家|卖家|店家|本公司|我方|本人)(不|不会|无需|无须)(承担|负)(任何)?(法律)?责任"),
        "概不负责",
        EXCLUSION,
    ),
    # "The contract is not formed by payment": 付款后订单不成立, 订单以发货为准 (电子商务法第四十九条).
    (
        re.compile(
            r"(付款|支付|下单|拍下|付钱)(后|之后)?(并)?(不代表|不视为|不等于|不意味着)(订单|合同|交易|购买)(已)?(成立|生效)"
        ),
        "付款后订单不成立",
        FORMATION,
    ),
    (
        re.compile(r"(付款|支付|下单|拍下)(后|之后)?(订单|合同|交易)?(不成立|未成立|不生效|不算成立)"),
        "付款后订单不成立",
        FORMATION,
    ),
    (
        re.compile(
            r"(订单|合同|交易)(是否)?(成立|生效)?(以|须以|需以|均以)(卖家|商家|本店|店家|掌柜|我方)?(的)?"
            r"(发货|确认|出库|审核)(为准|后成立|时成立|才成立|方成立|后生效|为成立)"
        ),
        "订单以发货为准",
        FORMATION,
    ),
    # After-sale service refused outright.
    (
        re.compile(r"(售出|发货|交付|成交|出售)(后|之后)(概|一律|均)?(不提供|不负责|不处理|不再提供|无)售后"),
        "售出后不提供售后",
        EXCLUSION,
    ),
]

NOTICE = (
    "「{text}」属于排除消费者权利、免除经营者责任的格式条款，依据{law}无效，对您不具有约束力，不影响您申请售后和退款。"
)


def normalize(text: str) -> str:
    """NFKC, traditional → simplified, lower case; spaces, punctuation, symbols and zero-width characters dropped."""
    text = unicodedata.normalize("NFKC", text or "").translate(_TRAD).lower()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _DROP.sub("", text)


def _clauses_in(norm: str) -> list[tuple[str, tuple[Law, ...]]]:
    taken: list[tuple[int, int]] = []
    found: list[tuple[str, tuple[Law, ...]]] = []
    for pattern, label, law in PATTERNS:
        for match in pattern.finditer(norm):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue  # the same words were already reported under a more specific clause
            taken.append((start, end))
            found.append((label, law))
    return found


def find_unfair_clauses(*texts: str) -> list[dict]:
    """Warnings {code, text, law, notice} for every distinct unfair clause found in the texts."""
    found: dict[str, dict] = {}
    for text in texts:
        for label, voiding in _clauses_in(normalize(text)):
            if label not in found:
                found[label] = {
                    "code": "unfair_clause",
                    "text": label,
                    "law": cites(*voiding),
                    "notice": NOTICE.format(text=label, law=cites(*voiding)),
                }
    return list(found.values())


def published_clauses() -> list[dict]:
    """The curated list as the rules page and /policies publish it: one row per clause."""
    rows: dict[str, dict] = {}
    for _pattern, label, voiding in PATTERNS:
        rows.setdefault(label, {"text": label, "law": cites(*voiding)})
    return list(rows.values())


def laws_for(label: str) -> tuple[Law, ...]:
    """The articles that void the clause `label` names (as a warning's `text` holds it); () if unknown."""
    return next((voiding for _pattern, name, voiding in PATTERNS if name == label), ())
