"""Unfair format clauses (霸王条款) in listing text, with the law that voids them.

Text is normalized first (traditional → simplified for the characters these clauses use,
full-width → half-width, spaces and punctuation removed) so "一經售出，概不退換" is caught.
"""
import re
import unicodedata

LAW_26 = "《消费者权益保护法》第二十六条"
LAW_EC_49 = "《电子商务法》第四十九条"
LAW_CIVIL_497 = "《民法典》第四百九十七条"

_TRAD = str.maketrans({
    "經": "经", "賣": "卖", "換": "换", "貨": "货", "擬": "拟", "虛": "虚", "權": "权", "歸": "归",
    "責": "责", "負": "负", "後": "后", "概": "概", "銷": "销", "無": "无", "條": "条", "釋": "释",
    "終": "终", "擁": "拥", "說": "说", "們": "们", "與": "与", "為": "为", "當": "当", "對": "对",
})

# (pattern over normalized text, human text of the clause, laws)
PATTERNS: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"一经(售|卖)出.{0,4}(概不|不予|不)(退|换)"), "一经售出概不退换", f"{LAW_26}；{LAW_EC_49}；{LAW_CIVIL_497}"),
    (re.compile(r"虚拟(商品|物品|产品).{0,4}不(退|换)"), "虚拟商品不退不换", f"{LAW_26}；{LAW_CIVIL_497}"),
    (re.compile(r"(售|卖)出(概)?不(退|换)"), "售出不退", f"{LAW_26}；{LAW_EC_49}；{LAW_CIVIL_497}"),
    (re.compile(r"(最终)?解释权(归|属于)?(本店|本商家|卖家|商家|本公司)(所有)?"), "最终解释权归本店所有", f"{LAW_26}；{LAW_CIVIL_497}"),
    (re.compile(r"概不负责"), "概不负责", f"{LAW_26}；{LAW_CIVIL_497}"),
    (re.compile(r"(概|一律)不(退款|退货|退换)"), "概不退款", f"{LAW_26}；{LAW_CIVIL_497}"),
]


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_TRAD)
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch)[0] in "PSZ"))


def find_unfair_clauses(*texts: str) -> list[dict]:
    """Warnings {code, text, law} for every distinct unfair clause found in the texts."""
    found: dict[str, dict] = {}
    for text in texts:
        norm = normalize(text)
        for pattern, label, law in PATTERNS:
            if pattern.search(norm) and label not in found:
                found[label] = {"code": "unfair_clause", "text": label, "law": law}
    # "售出不退" is implied by "一经售出概不退换"; report the clause once.
    if "一经售出概不退换" in found:
        found.pop("售出不退", None)
    return list(found.values())
