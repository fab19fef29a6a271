"""Complaint PDFs lay Chinese and Latin text out as a reader expects (issue 15.11): Chinese breaks
between any two characters, Latin words, numbers and keys only at spaces ("merchant1", never
"merchan / t1"; "Windows", never "W / indows"), closing punctuation never starts a line, and the
signature block never sits alone on a page. Checked on the text extracted back from the PDF; the four
channels' PDFs are also left in tests/e2e/artifacts (git-ignored) when it exists, for
`pdftoppm -r 80 -png complaint-court.pdf page` and a look."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from kameng.complaints import documents, services
from kameng.complaints import pdf as complaint_pdf
from kameng.complaints.documents import Block, Document

ARTIFACTS = Path(__file__).resolve().parents[1] / "e2e" / "artifacts"

LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
ENGLISH = (
    "The merchant1 shop sold a Windows 11 Professional retail key (order KM20261201000123) that failed "
    "with error 0x8007007B; its listing promised stable activation for thirty days, and the seller "
    "answered neither the buyer nor the platform within the promised response time."
)


def pages_of(pdf_bytes: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf_bytes)).pages]


def split_words(pdf_bytes: bytes, source: str) -> list[str]:
    """Latin words of the extracted text that are not words of the source: pieces of a split word."""
    words = set(LATIN.findall(source))
    found = [w for page in pages_of(pdf_bytes) for line in page.splitlines() for w in LATIN.findall(line)]
    assert found, "no Latin text came back from the PDF"
    return sorted({w for w in found if w not in words})


def sign_page_has_content(pdf_bytes: bytes, document: Document) -> bool:
    signs = [b.text for b in document.blocks if b.kind == "sign"]
    page = next(p for p in pages_of(pdf_bytes) if "".join(signs[-1].split()) in "".join(p.split()))
    rest = "".join(page.split())
    for text in signs:
        rest = rest.replace("".join(text.split()), "")
    rest = re.sub(re.escape("".join(document.title.split())) + r"·第\d+页/共\d+页", "", rest)
    return len(rest) > 10


def test_latin_words_are_never_split_while_chinese_fills_the_line():
    text = "买家于2026年12月1日购买。" + ENGLISH + "商家未在承诺的时限内答复，平台介入。" * 3 + ENGLISH
    doc = Document("12315", "投诉书", [Block("title", "投诉书"), Block("para", text), Block("item", "  " + ENGLISH)])
    data = complaint_pdf.render(doc)
    assert split_words(data, text) == []
    lines = [line for page in pages_of(data) for line in page.splitlines() if line.strip()]
    assert not any(line.lstrip()[0] in "，。、；：？！）" for line in lines), lines


def test_a_unit_longer_than_a_line_is_broken_by_characters_and_loses_nothing():
    digest = "ab12" * 40  # 160 characters: no line holds it
    doc = Document("12315", "投诉书", [Block("title", "投诉书"), Block("para", f"SHA-256：{digest}")])
    text = "".join("".join(page.split()) for page in pages_of(complaint_pdf.render(doc)))
    assert digest in text


def test_the_wrapper_breaks_chinese_anywhere_and_latin_at_spaces():
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_font("helvetica", size=10)
    assert complaint_pdf.tokens("商家 merchant1，激活") == ["商", "家", " ", "merchant1，", "激", "活"]
    assert complaint_pdf.tokens("（一）事实") == ["（一）", "事", "实"]
    lines = complaint_pdf.wrap(pdf, "Windows activation failed for merchant1 " * 6, 60)
    assert len(lines) > 2 and all(pdf.get_string_width(line) <= 60 for line in lines)
    assert {w for line in lines for w in line.split()} == {"Windows", "activation", "failed", "for", "merchant1"}


@pytest.mark.parametrize("filler", range(30, 52, 3))
def test_the_signature_never_sits_alone_on_a_page(filler):
    """However much comes before it, the page with the signature lines also holds the text before them."""
    blocks = [Block("title", "投诉书")] + [Block("item", f"{i}. 证据 evidence item number {i}") for i in range(filler)]
    blocks += [Block("note", "本投诉书载明投诉人和被投诉人的信息、具体投诉请求及争议事实。")]
    blocks += [Block("sign", "投诉人：张三"), Block("sign", "日期：2026年12月01日")]
    doc = Document("12315", "投诉书", blocks)
    data = complaint_pdf.render(doc)
    assert sign_page_has_content(data, doc), filler


@pytest.mark.parametrize("channel", ["12315", "arbitration", "court", "police"])
def test_every_channels_pdf_keeps_latin_words_whole_and_the_signature_with_its_text(
    channel, order_for, open_case, case_obj
):
    order = order_for(
        title="Windows 11 Professional retail key",
        description="Genuine retail key for Windows 11 Professional, activation by phone or online. " * 3,
        promises=["stable activation for thirty days", "refund if activation fails"],
    )
    case = open_case(order, reason="not_as_described", description=ENGLISH)
    obj = case_obj(case)
    document = documents.build(services.gather(obj), channel)
    archive = zipfile.ZipFile(io.BytesIO(services.build_package(obj, channel)))
    data, source = archive.read("complaint.pdf"), archive.read("complaint.txt").decode("utf-8")
    assert split_words(data, source) == []
    assert sign_page_has_content(data, document)
    if ARTIFACTS.is_dir():  # to look at: make the PNGs with pdftoppm (see the module's docstring)
        (ARTIFACTS / f"complaint-{channel}.pdf").write_bytes(data)


@pytest.mark.parametrize("filler", range(36, 44))
def test_a_heading_never_ends_a_page(filler):
    blocks = [Block("title", "起诉状")] + [Block("item", f"{i}. 证据 {i}") for i in range(filler)]
    blocks += [Block("heading", "立案说明"), Block("note", "本起诉状可在“人民法院在线服务”提交。" * 3)]
    blocks += [Block("para", "此致"), Block("sign", "具状人：张三"), Block("sign", "日期：2026年12月01日")]
    for page in pages_of(complaint_pdf.render(Document("court", "起诉状", blocks))):
        body = [line for line in page.splitlines() if line.strip() and "第" not in line]
        assert body and "立案说明" not in body[-1], (filler, body[-3:])
