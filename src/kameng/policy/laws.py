"""The laws kameng cites, in one table: every page, warning, published policy and complaint
document takes its citation and its summary from here (a test checks that nothing cites an
article this table does not hold).

`cite` is the formal citation legal documents use (《中华人民共和国消费者权益保护法》第二十六条);
`short` the one pages and warnings use (《消费者权益保护法》第二十六条); `gist` says what the
provision says in one sentence — a summary, not a quotation.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Statute:
    full: str  # 中华人民共和国消费者权益保护法
    short: str  # 消费者权益保护法
    english: str


@dataclass(frozen=True)
class Law:
    statute: Statute
    article: str  # 第二十六条; "" for a regulation cited as a whole
    article_en: str
    gist: str
    gist_en: str

    @property
    def cite(self) -> str:
        return f"《{self.statute.full}》{self.article}"

    @property
    def short(self) -> str:
        return f"《{self.statute.short}》{self.article}"

    @property
    def cite_en(self) -> str:
        return f"{self.statute.english}{', ' + self.article_en if self.article_en else ''}"


CONSUMER_PROTECTION = Statute(
    "中华人民共和国消费者权益保护法", "消费者权益保护法", "Consumer Rights Protection Law of the PRC"
)
E_COMMERCE = Statute("中华人民共和国电子商务法", "电子商务法", "E-Commerce Law of the PRC")
CIVIL_CODE = Statute("中华人民共和国民法典", "民法典", "Civil Code of the PRC")
CPL_REGULATION = Statute(
    "中华人民共和国消费者权益保护法实施条例",
    "消费者权益保护法实施条例",
    "Regulation on the Implementation of the Consumer Rights Protection Law of the PRC",
)
CONTRACT_INTERPRETATION = Statute(
    "最高人民法院关于适用〈中华人民共和国民法典〉合同编通则若干问题的解释",
    "合同编通则司法解释",
    "SPC Interpretation on the General Part of the Contracts Book of the Civil Code",
)
COMPLAINT_MEASURES = Statute(
    "市场监督管理投诉举报处理暂行办法",
    "市场监督管理投诉举报处理暂行办法",
    "Interim Measures for Handling Complaints and Reports by Market Regulators",
)
ARBITRATION_LAW = Statute("中华人民共和国仲裁法", "仲裁法", "Arbitration Law of the PRC")
CIVIL_PROCEDURE = Statute("中华人民共和国民事诉讼法", "民事诉讼法", "Civil Procedure Law of the PRC")
CIVIL_PROCEDURE_INTERPRETATION = Statute(
    "最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释",
    "民事诉讼法司法解释",
    "SPC Interpretation on the Application of the Civil Procedure Law",
)
NO_REASON_RETURNS = Statute(
    "网络购买商品七日无理由退货暂行办法",
    "网络购买商品七日无理由退货暂行办法",
    "Interim Measures for Seven-Day No-Reason Returns of Goods Bought Online",
)

CPL_24 = Law(
    CONSUMER_PROTECTION,
    "第二十四条",
    "Article 24",
    "经营者提供的商品或者服务不符合质量要求的，消费者可以依照国家规定、当事人约定退货，"
    "或者要求经营者履行更换、修理等义务；没有国家规定和当事人约定的，可以自收到商品之日起七日内退货",
    "Goods or services that fail the quality requirements may be returned as the law or the parties' "
    "agreement provides, or the seller made to replace or repair them; without either, within seven days of receipt.",
)
CPL_25 = Law(
    CONSUMER_PROTECTION,
    "第二十五条",
    "Article 25",
    "经营者采用网络等方式销售商品，消费者有权自收到商品之日起七日内退货，且无需说明理由，"
    "法定的除外商品以及消费者在购买时确认不宜退货的商品除外",
    "Goods sold online may be returned within seven days of receipt without a reason, except the goods "
    "the law excludes and goods the buyer confirmed at purchase as unsuitable for return.",
)
CPL_26 = Law(
    CONSUMER_PROTECTION,
    "第二十六条",
    "Article 26",
    "经营者不得以格式条款、通知、声明、店堂告示等方式排除或者限制消费者权利、减轻或者免除经营者责任，"
    "含有上述内容的，其内容无效",
    "A seller may not use standard terms, notices, statements or shop signs to exclude or limit the "
    "consumer's rights or to reduce or escape its own liability; such content is void.",
)
CPL_44 = Law(
    CONSUMER_PROTECTION,
    "第四十四条",
    "Article 44",
    "消费者通过网络交易平台购买商品，合法权益受到损害的，可以向销售者要求赔偿；网络交易平台提供者"
    "不能提供销售者的真实名称、地址和有效联系方式的，消费者也可以向网络交易平台提供者要求赔偿",
    "A consumer harmed buying through an online marketplace may claim from the seller; if the marketplace "
    "cannot give the seller's real name, address and contact, the consumer may claim from the marketplace.",
)
CPL_55 = Law(
    CONSUMER_PROTECTION,
    "第五十五条",
    "Article 55",
    "经营者提供商品或者服务有欺诈行为的，应当按照消费者的要求增加赔偿其受到的损失，增加赔偿的金额为"
    "消费者购买商品的价款或者接受服务的费用的三倍；增加赔偿的金额不足五百元的，为五百元",
    "A seller who commits fraud pays, at the consumer's request, additional compensation of three times the "
    "price paid, and at least 500 yuan.",
)
ECL_17 = Law(
    E_COMMERCE,
    "第十七条",
    "Article 17",
    "电子商务经营者应当全面、真实、准确、及时地披露商品或者服务信息，不得以虚构交易、编造用户评价等方式"
    "进行虚假或者引人误解的商业宣传",
    "An e-commerce business must disclose goods and service information fully, truly, accurately and in "
    "time, and may not advertise falsely or misleadingly (fake sales, invented reviews).",
)
ECL_49 = Law(
    E_COMMERCE,
    "第四十九条",
    "Article 49",
    "电子商务经营者不得以格式条款等方式约定消费者支付价款后合同不成立；格式条款等含有该内容的，其内容无效",
    "An e-commerce business may not stipulate in standard terms that the contract is not formed after the "
    "consumer has paid; such content is void.",
)
ECL_51 = Law(
    E_COMMERCE,
    "第五十一条",
    "Article 51",
    "合同标的为采用在线传输方式交付的，合同标的进入对方当事人指定的特定系统并且能够检索识别的时间为交付时间",
    "Goods delivered online are delivered when they enter the system the buyer named and can be retrieved.",
)
CIVIL_496 = Law(
    CIVIL_CODE,
    "第四百九十六条",
    "Article 496",
    "提供格式条款的一方应当采取合理的方式提示对方注意免除或者减轻其责任等与对方有重大利害关系的条款，"
    "并按照对方的要求予以说明；未履行提示或者说明义务的，对方可以主张该条款不成为合同的内容",
    "The party supplying a standard term must draw attention to terms that exempt or reduce its liability and "
    "explain them on request; otherwise the other party may claim the term is not part of the contract.",
)
CIVIL_497 = Law(
    CIVIL_CODE,
    "第四百九十七条",
    "Article 497",
    "提供格式条款一方不合理地免除或者减轻其责任、加重对方责任、限制对方主要权利的，该格式条款无效",
    "A standard term is void where the party supplying it unreasonably escapes or reduces its liability, "
    "increases the other party's, or restricts the other party's main rights.",
)
CIVIL_498 = Law(
    CIVIL_CODE,
    "第四百九十八条",
    "Article 498",
    "对格式条款的理解发生争议的，应当按照通常理解予以解释；有两种以上解释的，应当作出不利于提供格式条款一方的解释",
    "A disputed standard term is read as commonly understood; where it allows two readings, the one less "
    "favourable to the party who supplied it prevails.",
)
REGULATION_17 = Law(
    CPL_REGULATION,
    "第十七条",
    "Article 17",
    "经营者不得利用格式条款不合理地免除或者减轻其责任、加重消费者的责任，或者限制消费者依法变更或者解除合同、"
    "选择诉讼或者仲裁解决消费争议等权利",
    "A seller may not use standard terms to unreasonably escape or reduce its liability, increase the "
    "consumer's, or limit the consumer's right to change or end the contract or to choose a court or arbitration.",
)
REGULATION_19 = Law(
    CPL_REGULATION,
    "第十九条",
    "Article 19",
    "经营者应当以显著方式标注不适用无理由退货的商品，提示消费者在购买时确认，不得将不适用无理由退货作为"
    "消费者默认同意的选项；未经消费者确认，经营者不得拒绝无理由退货",
    "Goods excluded from no-reason returns must be labelled conspicuously and confirmed by the consumer at "
    "purchase, never as a default choice; without that confirmation the seller may not refuse a no-reason return.",
)
INTERPRETATION_10 = Law(
    CONTRACT_INTERPRETATION,
    "第十条",
    "Article 10",
    "提供格式条款的一方应当以足以引起对方注意的方式提示并按要求说明；仅以设置勾选、弹窗等方式提示的，"
    "不足以证明已经履行提示或者说明义务",
    "The supplier of a standard term must draw attention to it in a way that is noticed and explain it on "
    "request; a tick box or a pop-up alone does not prove that duty was met.",
)
COMPLAINT_14 = Law(
    COMPLAINT_MEASURES,
    "第十四条",
    "Article 14",
    "市场监督管理部门应当自收到投诉之日起七个工作日内作出受理或者不予受理的决定，并告知投诉人",
    "The market regulator decides within seven working days of receiving a complaint whether it accepts it, "
    "and tells the complainant.",
)
COMPLAINT_21 = Law(
    COMPLAINT_MEASURES,
    "第二十一条",
    "Article 21",
    "自投诉受理之日起四十五个工作日内投诉人和被投诉人未能达成调解协议的，终止调解",
    "Mediation ends when the parties reach no agreement within forty-five working days of the complaint's acceptance.",
)
COMPLAINT_CONTENTS = Law(
    COMPLAINT_MEASURES,
    "",
    "",
    "投诉应当提供投诉人的姓名、电话、地址，被投诉人的名称、地址，具体的投诉请求以及消费者权益争议事实",
    "A complaint states the complainant's name, phone and address, the respondent's name and address, the "
    "specific demand and the facts of the dispute.",
)
ARBITRATION_4 = Law(
    ARBITRATION_LAW,
    "第四条",
    "Article 4",
    "当事人采用仲裁方式解决纠纷，应当双方自愿，达成仲裁协议；没有仲裁协议，一方申请仲裁的，仲裁委员会不予受理",
    "Arbitration needs both parties' consent in an arbitration agreement; without one, the commission does "
    "not accept the case.",
)
ARBITRATION_16 = Law(
    ARBITRATION_LAW,
    "第十六条",
    "Article 16",
    "仲裁协议包括合同中订立的仲裁条款和以其他书面方式达成的请求仲裁的协议，应当写明请求仲裁的意思表示、"
    "仲裁事项和选定的仲裁委员会",
    "An arbitration agreement (a clause in the contract or another written agreement) states the wish to "
    "arbitrate, the matters and the chosen arbitration commission.",
)
SMALL_CLAIMS = Law(
    CIVIL_PROCEDURE,
    "",
    "",
    "基层人民法院审理事实清楚、权利义务关系明确、争议不大的简单金钱给付民事案件，标的额在规定限额以下的，"
    "适用小额诉讼的程序，一审终审",
    "Basic people's courts hear simple, undisputed money claims under the statutory limit in the small-claims "
    "procedure, with one instance only.",
)
ONLINE_DELIVERY_VENUE = Law(
    CIVIL_PROCEDURE_INTERPRETATION,
    "第二十条",
    "Article 20",
    "以信息网络方式订立的买卖合同，通过信息网络交付标的的，以买受人住所地为合同履行地",
    "For a sale concluded online whose goods are delivered online, the buyer's domicile is the place of "
    "performance (so the buyer may sue there).",
)
NO_REASON_MEASURES = Law(
    NO_REASON_RETURNS,
    "",
    "",
    "数字化商品等只有在经营者提示、消费者购买时确认不宜退货的情况下，才不适用七日无理由退货",
    "Digital goods and the like escape seven-day no-reason returns only where the seller pointed it out "
    "and the buyer confirmed at purchase that they are unsuitable for return.",
)

LAWS: tuple[Law, ...] = (
    CPL_24,
    CPL_25,
    CPL_26,
    CPL_44,
    CPL_55,
    REGULATION_17,
    REGULATION_19,
    ECL_17,
    ECL_49,
    ECL_51,
    CIVIL_496,
    CIVIL_497,
    CIVIL_498,
    INTERPRETATION_10,
    NO_REASON_MEASURES,
    COMPLAINT_CONTENTS,
    COMPLAINT_14,
    COMPLAINT_21,
    ARBITRATION_4,
    ARBITRATION_16,
    SMALL_CLAIMS,
    ONLINE_DELIVERY_VENUE,
)

# Which articles void which kind of unfair standard clause (霸王条款). Clauses that exclude or
# limit the buyer's rights (概不退换, 不退不换, 最终解释权归本店所有, 概不负责) are void under
# 消法第二十六条, 民法典第四百九十七条 and 实施条例第十七条; 电子商务法第四十九条 only voids
# clauses that deny the contract was formed once the buyer paid (付款后订单不成立, 以发货为准).
EXCLUSION_LAWS: tuple[Law, ...] = (CPL_26, CIVIL_497, REGULATION_17)
FORMATION_LAWS: tuple[Law, ...] = (ECL_49,)

# Every article a clause warning may cite, in the order documents list them.
CLAUSE_LAWS: tuple[Law, ...] = (*EXCLUSION_LAWS, *FORMATION_LAWS)

# What the public rules page lists, in this order.
PUBLISHED: tuple[Law, ...] = (
    CPL_24,
    CPL_25,
    CPL_26,
    REGULATION_17,
    REGULATION_19,
    ECL_17,
    ECL_49,
    ECL_51,
    CIVIL_496,
    CIVIL_497,
    CIVIL_498,
    INTERPRETATION_10,
)


def cites(*laws: Law) -> str:
    """Several short citations as one text: 《消费者权益保护法》第二十六条；《民法典》第四百九十七条."""
    return "；".join(law.short for law in laws)


def by_short(text: str) -> list[Law]:
    """The laws of the table whose short citation appears in `text`, in table order."""
    return [law for law in LAWS if law.article and law.short in text]
