"""The four complaint documents, each in the form its recipient expects (pure: a Dossier in, a Document out).

- `12315`: 消费者投诉书 for the market regulator (投诉人, 被投诉人, 消费信息, 投诉请求, 事实与理由,
  法律依据, 证据清单), with what 《市场监督管理投诉举报处理暂行办法》 asks a complaint to state.
- `arbitration`: 仲裁申请书 for an online arbitration commission (申请人, 被申请人, 仲裁请求,
  事实与理由, 证据清单).
- `court`: 民事起诉状 for a small claim (小额诉讼) filed through 人民法院在线服务 (原告, 被告, 诉讼请求,
  事实与理由, 证据清单).
- `police`: 报案材料 for fraud (报案人, 被报案人, 涉嫌行为, 损失金额, 事实经过, 报案请求, 证据清单).
Blanks the buyer must fill by hand are marked 【请填写：…】; nothing is ever invented.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone, translation

from kameng.aftersales.lifecycle import AS_THE_BUYER_SAYS, EVENTS, Telling
from kameng.aftersales.models import CaseStatus, Resolution
from kameng.labels import label
from kameng.money import rmb, yuan
from kameng.policy.laws import (
    ARBITRATION_16,
    COMPLAINT_14,
    COMPLAINT_21,
    COMPLAINT_CONTENTS,
    ONLINE_DELIVERY_VENUE,
    SMALL_CLAIMS,
)

from . import rules
from .rules import CaseFacts, Claims, blank

REASON_LABELS = {
    "not_as_described": "描述不符",
    "defective": "功能缺陷",
    "service_missing": "服务缺失",
    "no_reason": "无理由退货",
}
CATEGORY_LABELS = {
    "listing": "商品页面快照",
    "transaction": "交易记录",
    "communication": "沟通记录",
    "problem": "问题证明",
}
SOURCE_LABELS = {"system": "平台系统生成", "buyer": "本人提交", "merchant": "商家提交"}
PURPOSE = {
    "listing": "证明商品页面的宣传内容和商家承诺（下单时快照）",
    "transaction": "证明购买时间、订单号、支付金额及交付情况",
    "communication": "证明双方沟通经过及商家的答复",
    "problem": "证明商品存在的问题",
}
CHANNEL_TITLES = {"12315": "消费者投诉书", "arbitration": "仲裁申请书", "court": "民事起诉状", "police": "报案材料"}


# ---- the facts a document is written from --------------------------------------------------


@dataclass(frozen=True)
class Person:
    username: str
    real_name: str = ""
    phone: str = ""
    address: str = ""

    def missing(self, fields=tuple(rules.PROFILE_FIELDS)) -> list[str]:
        return [name for name in fields if not (getattr(self, name) or "").strip()]

    def value(self, name: str) -> str:
        return (getattr(self, name) or "").strip() or blank(rules.PROFILE_FIELDS[name])


@dataclass(frozen=True)
class Shop:
    id: str
    name: str
    owner_username: str
    contact: str = ""


@dataclass(frozen=True)
class Operator:
    name: str
    address: str = ""
    arbitration_commission: str = ""  # named in the user agreement's arbitration clause; "" when there is none


@dataclass(frozen=True)
class OrderInfo:
    number: str
    created_at: datetime
    title: str
    category: str
    quantity: int
    amount: int
    paid_amount: int
    delivered_at: datetime | None
    snapshot_sha256: str
    promises: tuple[str, ...] = ()
    special_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    at: datetime
    text: str


@dataclass(frozen=True)
class EvidenceEntry:
    seq: int
    category: str
    source: str
    filename: str
    sha256: str
    size: int
    uploaded_at: datetime
    path: str  # where the file sits in the package
    note: str = ""


@dataclass(frozen=True)
class Dossier:
    case_id: str
    case_created_at: datetime
    status: str
    resolution: str | None
    buyer: Person
    shop: Shop
    operator: Operator
    order: OrderInfo
    facts: CaseFacts
    timeline: list[Fact]
    evidence: list[EvidenceEntry]
    chain_head: str | None
    generated_at: datetime


# ---- the document --------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # title | subtitle | heading | para | item | note | sign
    text: str


@dataclass
class Document:
    channel: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.blocks.append(Block(kind, text))

    def text(self) -> str:
        """Plain text (complaint.txt and the page's preview)."""
        lines: list[str] = []
        for block in self.blocks:
            if block.kind == "title":
                lines += [block.text.center(30).rstrip(), ""]
            elif block.kind == "heading":
                if lines and lines[-1] != "":
                    lines.append("")
                lines.append(block.text)
            elif block.kind == "item":
                lines.append(f"  {block.text}")
            elif block.kind == "sign":
                if lines and lines[-1] != "":
                    lines.append("")
                lines.append(block.text.rjust(30))
            else:
                lines.append(block.text)
        return "\n".join(lines).rstrip() + "\n"


def local(dt: datetime | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    return timezone.localtime(dt).strftime(fmt) if dt else "—"


def build(dossier: Dossier, channel: str) -> Document:
    claims = rules.claims(dossier.facts, channel)
    builders = {"12315": _complaint_12315, "arbitration": _arbitration, "court": _court, "police": _police}
    return builders[channel](dossier, claims)


# ---- shared sections -----------------------------------------------------------------------


def _person_lines(p: Person, *, id_number: bool) -> list[str]:
    lines = [f"姓名：{p.value('real_name')}"]
    if id_number:
        lines.append(f"身份证号码：{blank('身份证号码')}")
    lines += [f"联系电话：{p.value('phone')}", f"通讯地址：{p.value('address')}", f"平台账号：{p.username}"]
    return lines


def _shop_lines(d: Dossier, party: str) -> list[str]:
    return [
        f"名称：网店“{d.shop.name}”的经营者（{d.operator.name}店铺编号 {d.shop.id}，商家账号 {d.shop.owner_username}）",
        f"地址：{blank(party + '地址')}（不知道的，可要求平台经营者提供销售者的真实名称、地址和有效联系方式）",
        f"联系方式：{d.shop.contact or '平台站内交易留言'}",
    ]


def _operator_lines(d: Dossier) -> list[str]:
    return [f"名称：{d.operator.name}（网络交易平台经营者）", f"地址：{d.operator.address or blank('平台经营者地址')}"]


def _purchase_lines(d: Dossier) -> list[str]:
    o = d.order
    lines = [
        f"购买时间：{local(o.created_at)}",
        f"订单号：{o.number}",
        f"商品名称：{o.title}",
        f"数量：{o.quantity}",
        f"订单金额：{yuan(o.amount)}（已支付 {yuan(o.paid_amount)}）",
        f"交付时间：{local(o.delivered_at) if o.delivered_at else '商家至今未交付'}",
        f"平台售后单号：{d.case_id}（{REASON_LABELS.get(d.facts.reason, d.facts.reason)}，"
        f"申请退款 {yuan(d.facts.requested)}，已退 {yuan(d.facts.refunded)}）",
    ]
    if o.promises:
        lines.append("商家承诺：" + "；".join(f"“{p}”" for p in o.promises))
    return lines


def _facts(doc: Document, d: Dossier) -> None:
    for i, fact in enumerate(d.timeline, 1):
        text = fact.text if fact.text.endswith("。") else fact.text + "。"
        doc.add("item", f"{i}. {local(fact.at)}，{text}")


def _reasons(doc: Document, claims: Claims) -> None:
    """Each reason once, with every article that supports it (an unfair clause is void under several)."""
    grouped: dict[str, list[str]] = {}
    for b in claims.basis:
        grouped.setdefault(b.point, []).append(b.law.cite)
    for i, (point, cites) in enumerate(grouped.items(), 1):
        doc.add("item", f"{i}. {point}（依据：{'；'.join(cites)}）")


def _laws(doc: Document, claims: Claims) -> None:
    for i, b in enumerate(claims.basis, 1):
        doc.add("item", f"{i}. {b.law.cite}：{b.law.gist}。")


def _demands(doc: Document, claims: Claims) -> None:
    for i, demand in enumerate(claims.demands, 1):
        doc.add("item", f"{i}. {demand.text}")


def _evidence(doc: Document, d: Dossier, *, purpose: bool) -> None:
    for e in d.evidence:
        line = (
            f"证据{e.seq}：{CATEGORY_LABELS.get(e.category, e.category)}《{e.filename}》，"
            f"{SOURCE_LABELS.get(e.source, e.source)}，{local(e.uploaded_at)}入链"
        )
        if purpose:
            line += f"；证明目的：{PURPOSE.get(e.category, '证明案件事实')}"
        if e.note:
            line += f"；说明：{e.note}"
        doc.add("item", line)
        doc.add("item", f"    文件：{e.path}（{e.size} 字节）")
        doc.add("item", f"    SHA-256：{e.sha256}")
    doc.add(
        "note",
        f"以上证据文件均附于本材料压缩包的 evidence/ 目录；manifest.json 列明每个文件的 SHA-256。"
        f"平台证据链（每项证据的哈希依次链接，任何增删改都会被发现）链头：{d.chain_head or '无'}。",
    )


# ---- 12315 投诉书 ----------------------------------------------------------------------------


def _complaint_12315(d: Dossier, claims: Claims) -> Document:
    doc = Document("12315", CHANNEL_TITLES["12315"])
    doc.add("title", "消费者投诉书")
    doc.add("subtitle", "提交至：全国12315平台，或被投诉人所在地的市场监督管理部门")
    doc.add("heading", "一、投诉人")
    for line in _person_lines(d.buyer, id_number=False):
        doc.add("item", line)
    doc.add("heading", "二、被投诉人")
    doc.add("para", "被投诉人一（销售者）：")
    for line in _shop_lines(d, "被投诉人"):
        doc.add("item", line)
    doc.add("para", "被投诉人二（网络交易平台经营者）：")
    for line in _operator_lines(d):
        doc.add("item", line)
    doc.add("heading", "三、消费信息")
    for line in _purchase_lines(d):
        doc.add("item", line)
    doc.add("heading", "四、投诉请求")
    _demands(doc, claims)
    doc.add("heading", "五、事实与理由")
    doc.add("para", "（一）事实经过")
    _facts(doc, d)
    doc.add("para", "（二）理由")
    _reasons(doc, claims)
    doc.add("heading", "六、法律依据")
    _laws(doc, claims)
    doc.add("heading", "七、证据清单")
    _evidence(doc, d, purpose=False)
    doc.add(
        "note",
        f"本投诉书按{COMPLAINT_CONTENTS.cite}的要求载明投诉人和被投诉人的信息、具体投诉请求及消费者权益争议事实。"
        f"依据{COMPLAINT_14.short}，市场监督管理部门应当自收到投诉之日起七个工作日内决定是否受理；"
        f"依据{COMPLAINT_21.short}，自受理之日起四十五个工作日内未达成调解协议的，终止调解，"
        "投诉人可再通过仲裁或诉讼解决。",
    )
    doc.add("sign", f"投诉人：{d.buyer.value('real_name')}")
    doc.add("sign", f"日期：{local(d.generated_at, '%Y年%m月%d日')}")
    return doc


# ---- 仲裁申请书 -------------------------------------------------------------------------------


def _arbitration(d: Dossier, claims: Claims) -> Document:
    doc = Document("arbitration", CHANNEL_TITLES["arbitration"])
    doc.add("title", "仲裁申请书")
    commission = d.operator.arbitration_commission or blank("仲裁委员会名称")
    doc.add("subtitle", f"提交至：{commission}（网络仲裁）")
    doc.add("heading", "申请人")
    for line in _person_lines(d.buyer, id_number=True):
        doc.add("item", line)
    doc.add("heading", "被申请人")
    _respondents(doc, d, "被申请人")
    doc.add("heading", "仲裁依据")
    doc.add("para", f"《{d.operator.name}用户协议》争议解决条款（仲裁条款）：")
    doc.add("item", rules.arbitration_clause(commission, d.operator.name))
    doc.add(
        "para",
        f"申请人依该条款选择仲裁；该条款载明请求仲裁的意思表示、仲裁事项和选定的仲裁委员会（{ARBITRATION_16.cite}）。",
    )
    doc.add("heading", "仲裁请求")
    _demands(doc, claims)
    total = claims.total_amount
    if total:
        doc.add("para", f"以上请求金额合计 {rmb(total)}。")
    _facts_and_reasons(doc, d, claims)
    doc.add("para", "综上，为维护申请人的合法权益，特依法申请仲裁，请求支持申请人的全部仲裁请求。")
    doc.add("heading", "证据清单")
    _evidence(doc, d, purpose=True)
    doc.add("para", "此致")
    doc.add("para", commission)
    doc.add("sign", f"申请人：{d.buyer.value('real_name')}")
    doc.add("sign", f"日期：{local(d.generated_at, '%Y年%m月%d日')}")
    return doc


def _respondents(doc: Document, d: Dossier, party: str) -> None:
    """The two respondents of an arbitration application or a statement of claim: the seller, then
    the platform operator."""
    doc.add("para", f"{party}一（销售者）：")
    for line in _shop_lines(d, party):
        doc.add("item", line)
    doc.add("para", f"{party}二（网络交易平台经营者）：")
    for line in _operator_lines(d):
        doc.add("item", line)


def _facts_and_reasons(doc: Document, d: Dossier, claims: Claims) -> None:
    """事实与理由 as arbitration commissions and courts ask for it: the purchase, what happened, the
    reasons and the laws."""
    doc.add("heading", "事实与理由")
    doc.add("para", "一、交易情况")
    for line in _purchase_lines(d):
        doc.add("item", line)
    doc.add("para", "二、事实经过")
    _facts(doc, d)
    doc.add("para", "三、理由")
    _reasons(doc, claims)
    doc.add("para", "四、法律依据")
    _laws(doc, claims)


# ---- 民事起诉状（小额诉讼） ---------------------------------------------------------------------


def _court(d: Dossier, claims: Claims) -> Document:
    doc = Document("court", CHANNEL_TITLES["court"])
    doc.add("title", "民事起诉状")
    doc.add("subtitle", "（小额诉讼 · 买卖合同纠纷 · 通过人民法院在线服务网上立案）")
    doc.add("heading", "原告")
    doc.add("item", f"姓名：{d.buyer.value('real_name')}")
    doc.add("item", f"性别：{blank('性别')}；出生日期：{blank('出生日期')}；民族：{blank('民族')}")
    doc.add("item", f"身份证号码：{blank('身份证号码')}")
    doc.add("item", f"住址：{d.buyer.value('address')}")
    doc.add("item", f"联系电话：{d.buyer.value('phone')}；平台账号：{d.buyer.username}")
    doc.add("heading", "被告")
    _respondents(doc, d, "被告")
    doc.add("heading", "诉讼请求")
    _demands(doc, claims)
    total = claims.total_amount
    if total:
        doc.add("para", f"以上金钱请求合计 {rmb(total)}（诉讼标的额）。")
    _facts_and_reasons(doc, d, claims)
    doc.add(
        "para",
        f"本案事实清楚、权利义务关系明确、争议不大，属简单的金钱给付纠纷，请求适用小额诉讼的程序审理"
        f"（{SMALL_CLAIMS.cite}：{SMALL_CLAIMS.gist}）。",
    )
    doc.add("heading", "证据清单")
    _evidence(doc, d, purpose=True)
    doc.add("heading", "立案说明")
    doc.add(
        "note",
        "本起诉状可在“人民法院在线服务”（微信小程序或网站）选择“网上立案 → 民事一审 → 买卖合同纠纷”提交："
        "上传本起诉状、身份证明和证据文件（压缩包 evidence/ 目录，manifest.json 列明每个文件的 SHA-256）。"
        f"通过网络交付的商品，原告住所地为合同履行地（{ONLINE_DELIVERY_VENUE.cite}），"
        "可向原告住所地或被告住所地的基层人民法院起诉。",
    )
    doc.add("para", "此致")
    doc.add("para", blank("人民法院名称（如某市某区人民法院）"))
    doc.add("sign", f"具状人（原告）：{d.buyer.value('real_name')}")
    doc.add("sign", f"日期：{local(d.generated_at, '%Y年%m月%d日')}")
    return doc


# ---- 报案材料 --------------------------------------------------------------------------------


def _police(d: Dossier, claims: Claims) -> Document:
    f = d.facts
    doc = Document("police", CHANNEL_TITLES["police"])
    doc.add("title", "报案材料")
    doc.add("subtitle", f"提交至：{blank('公安机关名称（如某市公安局某分局，或网上报案平台）')}")
    doc.add("heading", "一、报案人")
    for line in _person_lines(d.buyer, id_number=True):
        doc.add("item", line)
    doc.add("heading", "二、被报案人")
    doc.add(
        "item",
        f"网店“{d.shop.name}”的经营者（{d.operator.name}店铺编号 {d.shop.id}，商家账号 {d.shop.owner_username}）",
    )
    doc.add("item", f"联系方式：{d.shop.contact or '平台站内交易留言'}")
    doc.add("item", f"真实身份：{blank('如已知')}；平台经营者“{d.operator.name}”掌握其实名信息，可依法调取。")
    doc.add("heading", "三、涉嫌行为")
    for i, conduct in enumerate(rules.fraud_conduct(f), 1):
        doc.add("item", f"{i}. {conduct}")
    doc.add("heading", "四、涉案金额")
    loss = rules.unpaid_refund(f)
    doc.add("item", f"订单金额：{yuan(d.order.amount)}；本人已支付：{yuan(d.order.paid_amount)}")
    doc.add("item", f"申请退款：{yuan(f.requested)}；已退回：{yuan(f.refunded)}")
    doc.add("item", f"尚未追回的损失：{rmb(loss)}")
    doc.add("heading", "五、交易情况")
    for line in _purchase_lines(d):
        doc.add("item", line)
    doc.add("heading", "六、事实经过")
    _facts(doc, d)
    doc.add("heading", "七、报案请求")
    _demands(doc, claims)
    doc.add("heading", "八、相关法律规定")
    _laws(doc, claims)
    doc.add("heading", "九、证据清单")
    _evidence(doc, d, purpose=True)
    doc.add("para", "本人保证以上所述情况属实，如有捏造、歪曲事实，愿意承担相应的法律责任。")
    doc.add("sign", f"报案人：{d.buyer.value('real_name')}")
    doc.add("sign", f"日期：{local(d.generated_at, '%Y年%m月%d日')}")
    return doc


# ---- the timeline, in words ----------------------------------------------------------------


def event_sentence(
    type_: str,
    role: str,
    data: dict,
    to_status: str,
    *,
    reason_label: str = "",
    description: str = "",
    rationale: str = "",
) -> str | None:
    """One case event as a sentence of the facts (事实经过), from the lifecycle's EVENTS table (in
    the buyer's voice, in Chinese whatever the reader's language); None for bookkeeping events."""
    text = EVENTS.get(type_)
    if text is None or text.sentence is None:
        return None  # claimed, refunded (the closing event states it) and other bookkeeping
    amount = data.get("amount")
    with translation.override("zh-hans"):
        sentence = text.sentence(
            Telling(
                data=data,
                to_status=to_status,
                who=AS_THE_BUYER_SAYS.get(role, role),
                money=yuan(amount) if isinstance(amount, int) else "",
                category=CATEGORY_LABELS.get(data.get("category", ""), data.get("category", "")),
                reason=reason_label,
                description=description,
                rationale=rationale,
            )
        )
        if to_status != CaseStatus.CLOSED or not text.closing:
            return sentence
        refund = data.get("refund")
        closing = f"售后单结束（{label(Resolution, data.get('resolution', ''))}" + (
            f"，退款 {yuan(refund)}）" if isinstance(refund, int) and refund else "）"
        )
    return f"{sentence}；{closing}"
