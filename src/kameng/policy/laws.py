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
CIVIL_497 = Law(
    CIVIL_CODE,
    "第四百九十七条",
    "Article 497",
    "提供格式条款一方不合理地免除或者减轻其责任、加重对方责任、限制对方主要权利的，该格式条款无效",
    "A standard term is void where the party supplying it unreasonably escapes or reduces its liability, "
    "increases the other party's, or restricts the other party's main rights.",
)
NO_REASON_MEASURES = Law(
    NO_REASON_RETURNS,
    "",
    "",
    "数字化商品等只有在经营者提示、消费者购买时确认不宜退货的情况下，才不适用七日无理由退货",
    "Digital goods and the like escape seven-day no-reason returns only where the seller pointed it out "
    "and the buyer confirmed at purchase that they are unsuitable for return.",
)

LAWS: tuple[Law, ...] = (CPL_24, CPL_25, CPL_26, CPL_44, CPL_55, ECL_17, ECL_49, CIVIL_497, NO_REASON_MEASURES)

# The articles that void an unfair standard clause (霸王条款), most specific first.
CLAUSE_LAWS: tuple[Law, ...] = (CPL_26, ECL_49, CIVIL_497)

# What the public rules page lists, in this order.
PUBLISHED: tuple[Law, ...] = (CPL_24, CPL_25, CPL_26, ECL_49, CIVIL_497)


def cites(*laws: Law) -> str:
    """Several short citations as one text: 《消费者权益保护法》第二十六条；《民法典》第四百九十七条."""
    return "；".join(law.short for law in laws)
