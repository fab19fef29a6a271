"""One vocabulary: money is formatted by kameng.money alone, and every law citation comes from
the one law table (kameng.policy.laws)."""

import re
from pathlib import Path

import pytest

from kameng import money
from kameng.policy import laws

SRC = Path(__file__).resolve().parents[1] / "src" / "kameng"
CITATION = re.compile(r"《([^》]+)》(第[一二三四五六七八九十百零]+条)")


@pytest.mark.parametrize(
    ("fen", "shown", "plain"),
    [
        (0, "¥0.00", "0.00"),
        (5, "¥0.05", "0.05"),
        (9900, "¥99.00", "99.00"),
        (123456, "¥1,234.56", "1234.56"),
        (100000000, "¥1,000,000.00", "1000000.00"),
        (-30000, "-¥300.00", "-300.00"),
    ],
)
def test_yuan_formats_integer_fen_without_floats(fen, shown, plain):
    assert money.yuan(fen) == shown
    assert money.plain_yuan(fen) == plain


def test_rmb_writes_the_amount_and_its_capital_numerals():
    assert money.rmb(9900) == "人民币99.00元（大写：玖拾玖元整）"


def _source_files():
    for path in SRC.rglob("*"):
        if path.suffix in (".py", ".html", ".txt") and "migrations" not in path.parts and "locale" not in path.parts:
            yield path


def test_no_module_but_kameng_money_formats_fen_by_hand():
    by_hand = re.compile(r"//\s*100\b.*%\s*100|%\s*100:02d")
    offenders = [
        f"{path.relative_to(SRC)}:{n}"
        for path in _source_files()
        if path.suffix == ".py" and path.name != "money.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if by_hand.search(line)
    ]
    assert offenders == []


def test_every_article_cited_anywhere_is_in_the_law_table():
    known = {(law.statute.full, law.article) for law in laws.LAWS} | {
        (law.statute.short, law.article) for law in laws.LAWS
    }
    cited = {
        (match.group(1), match.group(2), f"{path.relative_to(SRC)}")
        for path in _source_files()
        for match in CITATION.finditer(path.read_text(encoding="utf-8"))
    }
    assert cited, "the scan found no citation at all"
    assert [c for c in cited if (c[0], c[1]) not in known] == []


def test_each_law_has_both_citations_and_a_summary_in_both_languages():
    for law in laws.LAWS:
        assert law.cite.startswith("《") and law.short.startswith("《")
        assert law.gist and law.gist_en and law.statute.english
        assert bool(law.article) == bool(law.article_en)
