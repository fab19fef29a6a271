"""Pure evidence-assist rules: what counts as a finding, which listing promise a finding
contradicts, the four elements of a recording, and the buyer-risk score. No ORM, no I/O.

Everything here is a hint for the arbitrator (AI证据辅助审核), never a decision.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

RULES_VERSION = 2  # 2: contradictions compared by promise category, ranked, de-duplicated

# Key phrases found in OCR text, descriptions and chat: (kind, pattern). The kind is what the
# promise table below talks about; the matched words are the finding's text.
PHRASES: tuple[tuple[str, str], ...] = (
    (
        "activation_failed",
        r"激活码无效|激活失败|无法激活|激活不了|激活不成功|序列号无效|授权码无效|密钥无效|产品密钥无效"
        r"|卡密无效|兑换码无效|invalid (?:product |license |activation )?key|activation failed"
        r"|licen[cs]e (?:is )?invalid",
    ),
    (
        "already_used",
        r"已被使用|已经被使用|已使用过|已被激活|已被兑换|已兑换过|已被他人使用|already (?:been )?(?:used|redeemed|activated)",
    ),
    (
        "account_banned",
        r"封号|账号被封|帐号被封|已被封禁|封禁|永久冻结|账号冻结|account (?:has been )?(?:banned|suspended)",
    ),
    ("amount_short", r"到账不足|金额不足|少到账|到账金额不符|只到账|未足额到账|少了\d+"),
    ("not_received", r"未到账|没到账|没有到账|未发货|没发货|没有收到|未收到货|not received"),
    ("playback_failed", r"无法播放|播放失败|不能播放|视频无法加载|视频加载失败|playback (?:error|failed)|cannot play"),
    (
        "login_failed",
        r"登录失败|登陆失败|无法登录|无法登陆|登不上|密码错误|login failed|unable to (?:log|sign) ?in"
        r"|authentication failed|sign[- ]in failed",
    ),
    ("account_recovered", r"账号被找回|帐号被找回|被找回|被原主找回|找回了账号|account (?:was )?recovered"),
    ("disconnect", r"频繁掉线|掉线|断线|连接中断|连接已断开|disconnected|connection lost"),
    ("expired", r"已过期|已失效|已到期|授权过期|expired"),
    ("trial_version", r"试用版|试用服|体验服|trial version|evaluation copy"),
    ("no_response", r"客服不回复|客服未回复|不回复|没人回复|联系不上|超时未响应|无人处理|no response"),
)
_PHRASE_RE = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in PHRASES]

# Error codes: Windows/HRESULT style, "错误代码 NNN" / "error code NNN", HTTP 4xx/5xx.
_HEX_CODE = re.compile(r"(?<![0-9A-Za-z])0[xX][0-9A-Fa-f]{4,8}(?![0-9A-Za-z])")
_NAMED_CODE = re.compile(
    r"(?:错误代码|错误码|错误编号|error\s*code|err(?:or)?\s*no\.?)\s*[:：#]?\s*"
    r"(0[xX][0-9A-Fa-f]{4,8}|[A-Za-z]{0,4}-?\d{2,8})",
    re.IGNORECASE,
)
_HTTP_CODE = re.compile(
    r"(?:HTTP(?:/\d(?:\.\d)?)?\s*(?:error|错误|状态码)?\s*[:：]?\s*([45]\d\d)(?!\d))"
    r"|(?<!\d)([45]\d\d)\s+(Bad Request|Unauthorized|Forbidden|Not Found|Too Many Requests"
    r"|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)",
    re.IGNORECASE,
)

# What a listing promises, by category: (category, pattern). A promise belongs to the FIRST category
# it matches — "1小时内响应" is about response time, not activation, though it names a time limit.
PROMISE_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("response", r"响应|回复|客服|售后|在线|7\s*[×xX*]\s*\d+|\d+\s*[×xX*]\s*\d+\s*小时"),
    ("delivery", r"\d+\s*(?:小时|分钟|天)内|秒发|秒到|即时|自动发(?:货|卡)|发货"),
    ("amount", r"到账|足额|充值|金币|钻石|点券|结晶|面值"),
    (
        "activation",  # activation and stability: the thing works, and keeps working
        r"激活|正版|授权|可用|有效|成功率|包成功|100\s*%|稳定|不掉线|流畅|永久|终身|长期|不过期|无限期"
        r"|防封|不封|安全|绿色|找回|包赔|绑定|登录|登陆|上号|账号|帐号|可转正|正式服|正式版",
    ),
    ("content", r"播放|高清|课程|视频|回放|内容|课时|教程|段位|代练"),
)
_CATEGORY_RE = [(category, re.compile(pattern, re.IGNORECASE)) for category, pattern in PROMISE_CATEGORIES]

# How strongly each finding kind contradicts a promise of each category (3: directly; 1: only hints).
CONTRADICTS: dict[str, dict[str, int]] = {
    "activation": {
        "activation_failed": 3,
        "already_used": 3,
        "account_banned": 3,
        "account_recovered": 3,
        "expired": 2,
        "trial_version": 2,
        "disconnect": 2,
        "login_failed": 2,
        "error_code": 1,
    },
    "delivery": {"not_received": 3, "activation_failed": 2, "amount_short": 1},
    "response": {"no_response": 3},
    "amount": {"amount_short": 3, "not_received": 3},
    "content": {"playback_failed": 3, "trial_version": 2, "http_error": 1, "error_code": 1},
}
MAX_CONTRADICTIONS = 4  # the few that matter; the findings list keeps everything

# Words that show an operation being performed on screen (录屏"操作过程").
# Matched on text with spacing removed and the product title cut out ("…激活码" is not an action).
_OPERATION = re.compile(
    r"点击|输入|提交|确定|确认|下一步|立即|正在|开始|兑换(?!码)|充值(?!卡)|安装|打开|使用(?:激活码|卡密)"
    r"|激活(?!码|失败|不了|不成功)|登录(?!失败)|登陆(?!失败)|播放(?!失败)"
    r"|click|enter|submit|next|redeem|install|open|activate(?!d)|signin|login(?!failed)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str
    source: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "source": self.source}


def find_findings(text: str, source: str) -> list[Finding]:
    """Error codes, HTTP errors and key phrases in `text`, each once, in order of appearance."""
    found: list[tuple[int, Finding]] = []
    seen: set[tuple[str, str]] = set()
    codes_in_named: set[str] = set()

    def add(pos: int, kind: str, value: str) -> None:
        value = re.sub(r"\s+", " ", value).strip()
        key = (kind, value.lower())
        if value and key not in seen:
            seen.add(key)
            found.append((pos, Finding(kind, value, source)))

    for m in _NAMED_CODE.finditer(text):
        codes_in_named.add(m.group(1).lower())
        add(m.start(), "error_code", m.group(0))
    for m in _HEX_CODE.finditer(text):
        if m.group(0).lower() not in codes_in_named:
            add(m.start(), "error_code", m.group(0))
    for m in _HTTP_CODE.finditer(text):
        add(m.start(), "http_error", m.group(0))
    for kind, pattern in _PHRASE_RE:
        for m in pattern.finditer(text):
            add(m.start(), kind, m.group(0))
    found.sort(key=lambda pair: pair[0])
    return [f for _, f in found]


def promise_category(promise: str) -> str | None:
    """The one category a promise is about (None: nothing a finding could contradict)."""
    return next((category for category, pattern in _CATEGORY_RE if pattern.search(promise)), None)


def contradicting_kinds(promise: str) -> frozenset[str]:
    """The finding kinds that contradict `promise` at all."""
    return frozenset(CONTRADICTS.get(promise_category(promise) or "", {}))


def _finding_key(f: Finding) -> tuple[str, str]:
    """The same finding seen in several sources: an error code by its code, a phrase by its words."""
    if f.kind in ("error_code", "http_error"):
        code = re.findall(r"0x[0-9a-f]+|\d{3,}|[a-z]{0,4}-?\d{2,}", f.text.lower())
        return (f.kind, code[-1] if code else f.text.lower())
    return (f.kind, re.sub(r"\s+", "", f.text.lower()))


def contradictions(
    promises: list[str], findings: list[Finding], source_rank: dict[str, int] | None = None
) -> list[dict]:
    """The findings that contradict a promise, each once, against the promise it contradicts most
    (the merchant's own list before claims read from the text), strongest first and, among equals,
    from the most telling source (`source_rank`: lower first; an uploaded item before the description).
    Only the first MAX_CONTRADICTIONS: [{promise, finding, finding_kind, source, also_in}]."""
    rank = source_rank or {}
    categories = [(p, promise_category(p)) for p in promises]
    distinct: dict[tuple[str, str], list[Finding]] = {}
    for f in sorted(findings, key=lambda f: rank.get(f.source, 99)):  # stable: order of appearance among equals
        distinct.setdefault(_finding_key(f), []).append(f)
    rows = []
    for position, seen in enumerate(distinct.values()):
        best = seen[0]
        matches = [(CONTRADICTS.get(c or "", {}).get(best.kind, 0), -i, p) for i, (p, c) in enumerate(categories)]
        strength, _order, promise = max(matches, default=(0, 0, ""))
        if strength:
            also = list(dict.fromkeys(f.source for f in seen[1:] if f.source != best.source))
            rows.append((strength, rank.get(best.source, 99), position, promise, best, also))
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    return [
        {"promise": promise, "finding": f.text, "finding_kind": f.kind, "source": f.source, "also_in": also}
        for _s, _r, _p, promise, f, also in rows[:MAX_CONTRADICTIONS]
    ]


def _squash(text: str) -> str:
    return re.sub(r"[\s\u3000:：\-_/|·•]+", "", text or "").lower()


def recording_elements(
    text: str, *, order_number: str, product_name: str, frames: int = 1, distinct_frames: int = 1, problem_found: bool
) -> dict[str, bool]:
    """The four elements a recording (or screenshot) should show: 订单号, 商品名称, 操作过程, 问题画面.

    Order number and product name are looked up in the OCR text (spacing ignored; the product
    name matches on any 4-character run of its title). The operation shows as operation words,
    or, in a video, frames that differ. The problem screen is any finding in the item.
    """
    squashed = _squash(text)
    title = _squash(product_name)
    runs = {title[i : i + 4] for i in range(max(1, len(title) - 3))} if len(title) >= 4 else {title}
    actions = squashed.replace(title, " ") if title else squashed
    return {
        "order_number": bool(order_number) and _squash(order_number) in squashed,
        "product_name": bool(title) and any(run and run in squashed for run in runs),
        "operation": distinct_frames >= 2 or bool(_OPERATION.search(actions)),
        "problem_screen": problem_found,
    }


ELEMENT_LABELS = {
    "order_number": "订单号",
    "product_name": "商品名称",
    "operation": "操作过程",
    "problem_screen": "问题画面",
}


def elements_text(elements: dict[str, bool], *, video: bool) -> str:
    marks = "  ".join(f"{ELEMENT_LABELS[k]}{'✓' if v else '✗'}" for k, v in elements.items())
    return f"{'录屏' if video else '截图'}四要素：{marks}"


@dataclass(frozen=True)
class BuyerHistory:
    """The buyer's last 90 days, this case excluded."""

    orders: int
    cases: int
    refunded_cases: int
    refunds_after_confirm: int
    reused_items: int


def buyer_risk(h: BuyerHistory) -> dict:
    """A 0–100 score with plain reasons. Context for the arbitrator, never a verdict."""
    score = 0
    reasons: list[str] = []
    if h.cases >= 2:
        score += min(30, 10 * (h.cases - 1))
        reasons.append(_("近90天另有 %(n)s 次售后申请") % {"n": h.cases})
    elif h.cases == 1:
        score += 5
        reasons.append(_("近90天另有 1 次售后申请"))
    if h.orders >= 3 and h.refunded_cases:
        rate = h.refunded_cases / h.orders
        if rate >= 0.5:
            score += 25
        elif rate >= 0.3:
            score += 15
        elif rate >= 0.15:
            score += 5
        reasons.append(
            _("近90天 %(orders)s 笔订单中 %(refunded)s 笔获得退款（退款率 %(rate)s）")
            % {"orders": h.orders, "refunded": h.refunded_cases, "rate": f"{rate:.0%}"}
        )
    elif h.refunded_cases:
        score += 5 * h.refunded_cases
        reasons.append(_("近90天已获退款 %(n)s 次") % {"n": h.refunded_cases})
    if h.refunds_after_confirm:
        score += min(30, 15 * h.refunds_after_confirm)
        reasons.append(_("%(n)s 次在确认收货（货款已放给商家）后申请并获得退款") % {"n": h.refunds_after_confirm})
    if h.reused_items:
        score += 35
        reasons.append(_("买家提交的 %(n)s 份证据与其他售后单中的文件相同或近似") % {"n": h.reused_items})
    if not reasons:
        reasons.append(_("近90天无其他售后或退款记录"))
    return {"score": max(0, min(100, score)), "reasons": reasons}
