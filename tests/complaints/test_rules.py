"""Pure rules: demands, the fraud rule, treble damages with the ¥500 minimum, and the articles cited."""

from datetime import UTC, datetime
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kameng import money
from kameng.complaints import rules
from kameng.complaints.rules import CaseFacts, Decision

UNFAIR = (
    {
        "code": "unfair_clause",
        "text": "一经售出概不退换",
        "law": "《消费者权益保护法》第二十六条；《电子商务法》第四十九条；《民法典》第四百九十七条",  # as stored before
    },
)
FORMATION = ({"code": "unfair_clause", "text": "付款后订单不成立", "law": "《电子商务法》第四十九条"},)
INTERPRETATION = (
    {
        "code": "unfair_clause",
        "text": "最终解释权归本店所有",
        "law": "《消费者权益保护法》第二十六条；《民法典》第四百九十七条",
    },
)

# Every citation the package may ever make, with its correct number.
ALLOWED_CITES = {
    "《中华人民共和国消费者权益保护法》第二十四条",
    "《中华人民共和国消费者权益保护法》第二十五条",
    "《中华人民共和国消费者权益保护法》第二十六条",
    "《中华人民共和国消费者权益保护法》第四十四条",
    "《中华人民共和国消费者权益保护法》第五十五条",
    "《中华人民共和国电子商务法》第十七条",
    "《中华人民共和国电子商务法》第四十九条",
    "《中华人民共和国民法典》第四百九十七条",
    "《中华人民共和国消费者权益保护法实施条例》第十七条",
    "《中华人民共和国消费者权益保护法实施条例》第十九条",
    "《网络购买商品七日无理由退货暂行办法》",
}


def facts(**kw) -> CaseFacts:
    base = {"reason": "defective", "price": 9900, "requested": 9900, "refunded": 0}
    base.update(kw)
    return CaseFacts(**base)


def cites(f: CaseFacts, channel: str) -> list[str]:
    return [b.law.cite for b in rules.legal_basis(f, channel)]


def kinds(f: CaseFacts, channel: str) -> list[str]:
    return [d.kind for d in rules.demands(f, channel)]


@pytest.mark.parametrize(
    "price, treble", [(0, 50000), (9900, 50000), (16666, 50000), (16667, 50001), (30000, 90000), (123456, 370368)]
)
def test_treble_damages_is_three_times_the_price_but_at_least_500_yuan(price, treble):
    assert rules.treble_damages(price) == treble


@given(st.integers(min_value=0, max_value=10**9))
def test_treble_damages_never_below_the_minimum_nor_three_times_the_price(price):
    result = rules.treble_damages(price)
    assert result >= 50000 and result >= 3 * price and result in (50000, 3 * price)


@pytest.mark.parametrize(
    "fen, upper",
    [
        (0, "零元整"),
        (9900, "玖拾玖元整"),
        (50000, "伍佰元整"),
        (150000, "壹仟伍佰元整"),
        (10005, "壹佰元零伍分"),
        (1050, "壹拾元零伍角整"),
        (1234567, "壹万贰仟叁佰肆拾伍元陆角柒分"),
        (10000100, "壹拾万零壹元整"),
        (100100000, "壹佰万壹仟元整"),
        (1001000000, "壹仟零壹万元整"),
        (5, "伍分"),
        (30, "叁角整"),
    ],
)
def test_amounts_in_capital_numerals(fen, upper):
    assert money.rmb_upper(fen) == upper


def test_refund_demand_is_what_is_still_unpaid():
    f = facts(requested=30000, refunded=10000)
    refund = [d for d in rules.demands(f, "12315") if d.kind == "refund"]
    assert refund[0].amount == 20000
    assert "人民币200.00元" in refund[0].text and "已退 ¥100.00" in refund[0].text
    assert "refund" not in kinds(facts(requested=9900, refunded=9900), "12315")


@pytest.mark.parametrize(
    "reason, promises, channel, fraud",
    [
        ("not_as_described", ("100%稳定激活",), "12315", True),
        ("not_as_described", ("１００％稳定",), "arbitration", True),  # full-width forms count
        ("not_as_described", ("百分百到账",), "12315", True),
        ("not_as_described", ("24小时内激活",), "12315", False),  # a promise, but not an absolute one
        ("not_as_described", (), "12315", False),
        ("defective", ("100%稳定激活",), "12315", False),  # a defect is not by itself an allegation of fraud
        ("no_reason", ("100%稳定激活",), "arbitration", False),
        ("defective", (), "police", True),  # a police report always alleges fraud
        ("service_missing", (), "police", True),
    ],
)
def test_fraud_rule(reason, promises, channel, fraud):
    f = facts(reason=reason, promises=promises)
    assert rules.fraud_alleged(f, channel) is fraud
    assert ("treble_damages" in kinds(f, channel)) is fraud
    assert ("《中华人民共和国消费者权益保护法》第五十五条" in cites(f, channel)) is fraud


def test_fraud_claim_states_the_treble_amount_and_the_article():
    demand = next(
        d
        for d in rules.demands(facts(reason="not_as_described", promises=("100%稳定激活",)), "arbitration")
        if d.kind == "treble_damages"
    )
    assert demand.amount == 50000
    assert "请求裁决被申请人一按价款 ¥99.00 的三倍增加赔偿人民币500.00元（大写：伍佰元整）" in demand.text
    assert "第五十五条" in demand.text
    big = next(
        d
        for d in rules.demands(
            facts(reason="not_as_described", price=30000, requested=30000, promises=("100%成功",)), "12315"
        )
        if d.kind == "treble_damages"
    )
    assert big.amount == 90000


def test_quality_reasons_cite_article_24_and_no_reason_cites_25_and_the_seven_day_measures():
    for reason in ("defective", "not_as_described", "service_missing"):
        c = cites(facts(reason=reason), "12315")
        assert "《中华人民共和国消费者权益保护法》第二十四条" in c
        assert "《中华人民共和国消费者权益保护法》第二十五条" not in c
    c = cites(facts(reason="no_reason"), "12315")
    assert c[:3] == [
        "《中华人民共和国消费者权益保护法》第二十五条",
        "《中华人民共和国消费者权益保护法实施条例》第十九条",
        "《网络购买商品七日无理由退货暂行办法》",
    ]
    assert "《中华人民共和国消费者权益保护法》第二十四条" not in c


def test_unfair_clause_cites_26_497_and_regulation_17_never_ecommerce_17_or_49():
    basis = rules.legal_basis(facts(warnings=UNFAIR), "12315")
    clause_basis = [b for b in basis if "一经售出概不退换" in b.point]
    # The stored warning still carries the old, wrong 第四十九条: the clause's kind decides now.
    assert [b.law.cite for b in clause_basis] == [
        "《中华人民共和国消费者权益保护法》第二十六条",
        "《中华人民共和国民法典》第四百九十七条",
        "《中华人民共和国消费者权益保护法实施条例》第十七条",
    ]
    assert [b.law.cite for b in rules.legal_basis(facts(warnings=FORMATION), "12315") if "订单" in b.point] == [
        "《中华人民共和国电子商务法》第四十九条"
    ]
    assert all("电子商务法》第十七条" not in b.law.cite for b in clause_basis)
    assert "《中华人民共和国电子商务法》第十七条" not in [b.law.cite for b in basis]
    assert "void_clause" in kinds(facts(warnings=UNFAIR), "12315")


def test_unfair_clause_follows_the_laws_the_clause_detector_recorded():
    c = cites(facts(warnings=INTERPRETATION), "12315")
    assert "《中华人民共和国消费者权益保护法》第二十六条" in c and "《中华人民共和国民法典》第四百九十七条" in c
    assert "《中华人民共和国电子商务法》第四十九条" not in c  # 49 is about "no contract after payment" clauses


def test_false_promotion_cites_ecommerce_article_17_only_when_promises_are_contradicted():
    assert "《中华人民共和国电子商务法》第十七条" in cites(
        facts(reason="not_as_described", promises=("24小时内激活",)), "12315"
    )
    assert "《中华人民共和国电子商务法》第十七条" not in cites(
        facts(reason="defective", promises=("24小时内激活",)), "12315"
    )
    assert "《中华人民共和国电子商务法》第十七条" not in cites(facts(reason="not_as_described"), "12315")


REASONS = ("not_as_described", "defective", "service_missing", "no_reason")
PROMISES = ((), ("100%稳定激活",), ("24小时内激活",))
WARNINGS = ((), UNFAIR, INTERPRETATION, FORMATION)


def test_every_citation_has_the_right_number():
    for reason, promises, warnings, channel in product(REASONS, PROMISES, WARNINGS, rules.CHANNELS):
        _check_citations(reason, promises, warnings, channel)


def _check_citations(reason, promises, warnings, channel):
    basis = rules.legal_basis(facts(reason=reason, promises=promises, warnings=warnings), channel)
    for b in basis:
        assert b.law.cite in ALLOWED_CITES, b.law.cite
        if "格式条款" in b.point:  # the unfair-clause point: 26 / 497 / 实施条例 17, or 49 for formation
            assert b.law.cite.endswith(("法》第二十六条", "第四十九条", "第四百九十七条", "实施条例》第十七条"))
        if b.law.cite.endswith("电子商务法》第十七条"):
            assert reason == "not_as_described" and promises
        if b.law.cite.endswith("电子商务法》第四十九条"):
            assert warnings == FORMATION
    assert len({b.law.cite for b in basis}) == len(basis)  # each article once


def test_platform_decision_and_its_date_are_in_the_demands():
    decided = Decision(
        outcome="refund_partial",
        amount=10000,
        decided_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        final=True,
        rationale="部分退款",
    )
    text = next(
        d.text
        for d in rules.demands(facts(requested=30000, refunded=10000, decision=decided), "12315")
        if d.kind == "platform_decision"
    )
    assert text == "平台于2026年03月02日作出裁决：部分退款 ¥100.00，本人对此不服，请求依法重新处理。"
    pending = Decision(outcome="refund_full", amount=9900, decided_at=datetime(2026, 3, 2, tzinfo=UTC), final=False)
    text = next(d.text for d in rules.demands(facts(decision=pending), "arbitration") if d.kind == "platform_decision")
    assert text == "平台于2026年03月02日作出裁决：全额退款 ¥99.00，至今未执行完毕（已退 ¥0.00），请求督促其履行。"
    assert "platform_decision" not in kinds(facts(), "12315")


def test_each_channel_words_its_own_demands():
    assert kinds(facts(), "12315") == ["refund", "mediation"]
    assert kinds(facts(), "arbitration") == ["refund", "costs"]
    assert kinds(facts(), "police") == ["investigate", "treble_damages"]
    police = rules.demands(facts(), "police")
    assert "立案侦查" in police[0].text and police[0].amount == 9900
    assert "保留" in police[1].text and "¥500.00" in police[1].text


def test_fraud_conduct_for_the_police_report():
    assert rules.fraud_conduct(facts(reason="service_missing", delivered=False)) == ["收款后未交付商品"]
    reclaimed = rules.fraud_conduct(
        facts(reason="not_as_described", category="game_account", description="账号三天后被卖家找回，密码已被修改")
    )
    assert reclaimed[0].startswith("出售游戏账号后又将账号找回")
    assert "虚假宣传" in rules.fraud_conduct(facts(reason="not_as_described", promises=("100%稳定激活",)))[0]
    assert "疑似售假" in rules.fraud_conduct(facts(reason="defective"))[0]
