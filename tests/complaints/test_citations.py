"""Every article kameng cites — in code, templates, the English catalogue, the demo's decisions and
every channel's complaint document — is one the law table (kameng.policy.laws) holds, and each kind
of unfair clause cites the articles that actually void it (issue 18.1)."""

import re
from pathlib import Path

import pytest

from kameng.aftersales.models import RefundCase
from kameng.catalog.clauses import find_unfair_clauses
from kameng.complaints import rules, services
from kameng.demo import load_demo
from kameng.policy import laws

SRC = Path(__file__).resolve().parents[2] / "src" / "kameng"
# 《statute》 optionally followed by an article; only names that are laws (a book or a file name is not).
CITATION = re.compile(r"《([^《》{}]{2,80}?(?:法|条例|办法|解释|规定))》(第[一二三四五六七八九十百零]+条)?")

KNOWN = {(name, law.article) for law in laws.LAWS for name in (law.statute.full, law.statute.short)}
STATUTES = {name for law in laws.LAWS for name in (law.statute.full, law.statute.short)}


def unknown_citations(text: str) -> list[str]:
    """Citations in `text` the table does not hold: an unknown statute, or an article it lacks."""
    bad = []
    for match in CITATION.finditer(text):
        statute, article = match.group(1), match.group(2) or ""
        if statute not in STATUTES or (article and (statute, article) not in KNOWN):
            bad.append(match.group(0))
    return bad


def _texts_of_the_code():
    for path in SRC.rglob("*"):
        if "migrations" in path.parts:
            continue
        if path.suffix in (".py", ".html", ".txt", ".po"):
            yield path.relative_to(SRC), path.read_text(encoding="utf-8")


def test_the_scanner_catches_a_wrong_article():
    assert unknown_citations("依据《电子商务法》第九十九条") == ["《电子商务法》第九十九条"]
    assert unknown_citations("依据《反不正当竞争法》") == ["《反不正当竞争法》"]
    assert unknown_citations(laws.REGULATION_19.cite + laws.INTERPRETATION_10.cite + laws.SMALL_CLAIMS.cite) == []


def test_every_article_cited_in_the_code_templates_and_catalogue_is_in_the_table():
    cited, bad = 0, []
    for name, text in _texts_of_the_code():
        cited += len(CITATION.findall(text))
        bad += [f"{name}: {c}" for c in unknown_citations(text)]
    assert cited >= 5, "the scan found (almost) no citation"
    assert bad == []


EXCLUSION = "《消费者权益保护法》第二十六条；《民法典》第四百九十七条；《消费者权益保护法实施条例》第十七条"


@pytest.mark.parametrize(
    ("text", "law"),
    [
        ("虚拟商品，一经售出概不退换", EXCLUSION),
        ("本店商品不退不换", EXCLUSION),
        ("本活动最终解释权归本店所有", EXCLUSION),
        ("付款后不代表订单成立", "《电子商务法》第四十九条"),
        ("订单以卖家发货为准", "《电子商务法》第四十九条"),
    ],
)
def test_each_kind_of_clause_cites_the_articles_that_void_it(text, law):
    [warning] = find_unfair_clauses(text)
    assert warning["law"] == law and law in warning["notice"]


@pytest.mark.parametrize("channel", rules.CHANNELS)
def test_every_channels_document_cites_only_the_table(channel, order_for, open_case, case_obj):
    order = order_for(description="虚拟商品一经售出概不退换，付款后不代表订单成立。最终解释权归本店所有。")
    case = case_obj(open_case(order, reason="not_as_described"))
    text = services.preview_text(case, channel)
    assert CITATION.search(text), text
    assert unknown_citations(text) == []
    # 概不退换 is argued under 26/497/实施条例17, 付款后订单不成立 under 电子商务法 49 — both present.
    assert laws.REGULATION_17.cite in text and laws.ECL_49.cite in text


def test_the_demos_decision_cites_the_quality_article_not_ecommerce_17(db):
    load_demo()
    rationales = [c.decision["rationale"] for c in RefundCase.objects.exclude(decision=None)]
    assert rationales
    for rationale in rationales:
        assert unknown_citations(rationale) == []
        assert "电子商务法》第十七条" not in rationale
    assert any(laws.CPL_24.short in r for r in rationales)
    for case in RefundCase.objects.all():
        for channel in rules.CHANNELS:
            assert unknown_citations(services.preview_text(case, channel)) == [], (case.pk, channel)
