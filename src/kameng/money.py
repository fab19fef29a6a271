"""Money as people read it. Amounts are integer fen everywhere; this is the one place that
turns them into text: "¥1,234.56" on pages, notifications and documents, "1234.56" where a
program or a form reads it back (CSV, form fields), and 人民币…元（大写：…） in legal documents.
Integer arithmetic only: money never passes through a float."""


def yuan(fen: int) -> str:
    """12345 → "¥123.45"; thousands grouped (¥1,234.56), a minus sign for debts."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def plain_yuan(fen: int) -> str:
    """12345 → "123.45": no symbol, no grouping (CSV cells, form fields, the 人民币 amount)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def rmb(fen: int) -> str:
    """人民币 amount as legal documents write it: 人民币99.00元（大写：玖拾玖元整）."""
    return f"人民币{plain_yuan(fen)}元（大写：{rmb_upper(fen)}）"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def rmb_upper(fen: int) -> str:
    """The amount in capital Chinese numerals (大写金额), e.g. 10005 → 壹佰元零伍分."""
    if fen < 0:
        raise ValueError("negative amount")
    yuan_part, jiao, fen_digit = fen // 100, fen // 10 % 10, fen % 10
    if yuan_part == 0 and jiao == 0 and fen_digit == 0:
        return "零元整"
    text = ""
    if yuan_part:
        text = _integer_upper(yuan_part) + "元"
    if jiao == 0 and fen_digit == 0:
        return text + "整"
    if jiao:
        text += ("零" if yuan_part and yuan_part % 10 == 0 else "") + _DIGITS[jiao] + "角"
    elif yuan_part:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    else:
        text += "整"
    return text


def _integer_upper(n: int) -> str:
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or group < 1000):
            out += "零"
        out += _group_upper(group) + _BIG_UNITS[index]
        need_zero = False
    return out


def _group_upper(group: int) -> str:
    out, zero = "", False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _SMALL_UNITS[position]
    return out
