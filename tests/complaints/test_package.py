"""The ZIP: every evidence file, hashes that match, the chain head; a PDF whose Chinese renders and extracts."""

import hashlib
import io
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from kameng.complaints import pdf as complaint_pdf
from kameng.complaints import services
from kameng.complaints.documents import Block, Document
from kameng.evidence.models import Evidence

from .conftest import squash


def _need_pdftoppm() -> str:
    path = shutil.which("pdftoppm")
    if path:
        return path
    message = "pdftoppm (Debian poppler-utils) is needed to render the PDF: `make browser` installs it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def render_page(pdf_bytes: bytes, tmp_path, dpi: int = 60) -> Image.Image:
    """Page 1 of the PDF as a grayscale image, through poppler's pdftoppm (as a reader would see it)."""
    exe = _need_pdftoppm()
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf_bytes)
    subprocess.run(
        [
            exe,
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(tmp_path / "page.png").convert("L")


def ink_box(image: Image.Image, box=None):
    """Bounding box of the dark pixels (optionally inside `box`), or None on a blank area."""
    area = image.crop(box) if box else image
    return area.point(lambda v: 255 if v < 128 else 0).getbbox()


@pytest.fixture
def case_with_uploads(api, buyer, merchant, order_for, open_case, upload, png_bytes):
    order = order_for()
    case = open_case(order, reason="not_as_described", description="宣传100%稳定激活，激活后提示错误代码 0x8007007B")
    upload(case, buyer, "激活失败截图.png", png_bytes, note="激活界面报错")
    upload(
        case,
        merchant,
        "../../etc/激活日志.txt",
        "2026-01-05 12:00 激活成功（商家日志）".encode(),
        category="communication",
    )
    return order, case


def test_zip_holds_every_evidence_file_and_a_manifest_whose_hashes_match(
    api, buyer, case_with_uploads, case_obj, open_package
):
    order, case = case_with_uploads
    obj = case_obj(case)
    package = open_package(services.build_package(obj, "12315"))
    items = list(Evidence.objects.filter(case=obj).order_by("seq"))
    assert [i.source for i in items] == ["system", "system", "system", "buyer", "merchant"]

    evidence_names = [n for n in package.names() if n.startswith("evidence/")]
    assert evidence_names == [
        f"evidence/001-listing-listing-snapshot-{order['number']}.txt",
        f"evidence/002-transaction-transaction-{order['number']}.txt",
        f"evidence/003-communication-chat-log-{order['number']}.txt",
        "evidence/004-problem-激活失败截图.png",
        "evidence/005-communication-激活日志.txt",  # no directories from the uploader's name
    ]
    assert set(package.names()) == {"complaint.pdf", "complaint.txt", "manifest.json", *evidence_names}

    manifest = package.manifest
    assert manifest["channel"] == "12315" and manifest["order"] == order["number"] and manifest["case"] == case["id"]
    assert [f["path"] for f in manifest["files"]] == ["complaint.pdf", "complaint.txt", *evidence_names]
    for entry in manifest["files"]:
        data = package.read(entry["path"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
    for entry, item in zip(manifest["files"][2:], items, strict=True):
        assert entry["sha256"] == item.sha256 == entry["evidence"]["recorded_sha256"]
        assert package.read(entry["path"]) == item.open().read()
        assert entry["evidence"]["chain"] == item.chain and entry["evidence"]["link_valid"] is True
    assert package.read("evidence/004-problem-激活失败截图.png").startswith(b"\x89PNG")

    head = api.get(f"/refunds/{case['id']}/evidence/manifest", token=buyer.token).data["head"]
    assert manifest["chain_head"] == items[-1].chain == head
    assert manifest["chain_valid"] is True
    assert manifest["missing_fields"] == ["real_name", "phone", "address"]
    assert manifest["fraud_alleged"] is True
    assert [d["kind"] for d in manifest["demands"]] == ["refund", "treble_damages", "mediation"]
    assert [d["amount"] for d in manifest["demands"]] == [9900, 50000, None]

    # complaint.txt is the page's preview, and lists the uploads with their hashes
    assert package.text() == services.preview_text(obj, "12315")
    assert f"SHA-256：{items[3].sha256}" in package.text() and "说明：激活界面报错" in package.text()


def test_tampered_evidence_shows_in_the_manifest(case_with_uploads, case_obj, open_package):
    obj = case_obj(case_with_uploads[1])
    item = Evidence.objects.get(case=obj, seq=4)
    with open(item.file.path, "r+b") as stored:  # someone edits a stored file behind the platform's back
        stored.seek(-1, os.SEEK_END)
        stored.write(b"\x00")
    manifest = open_package(services.build_package(obj, "arbitration")).manifest
    entry = next(f for f in manifest["files"] if f["path"].startswith("evidence/004-"))
    assert entry["sha256"] != entry["evidence"]["recorded_sha256"]
    assert entry["evidence"]["link_valid"] is False and manifest["chain_valid"] is False


@pytest.mark.parametrize(
    "channel, title, expected",
    [
        ("12315", "消费者投诉书", ["第二十四条", "要求被投诉人一退还货款人民币99.00元", "第十七条", "第五十五条"]),
        (
            "arbitration",
            "仲裁申请书",
            [
                "仲裁请求",
                "请求裁决被申请人一按价款¥99.00的三倍增加赔偿人民币500.00元",
                "请求裁决本案仲裁费用由被申请人承担",
            ],
        ),
        ("police", "报案材料", ["涉嫌行为", "虚假宣传", "尚未追回的损失：人民币99.00元", "立案侦查"]),
    ],
)
def test_pdf_text_is_extractable_and_carries_the_case(
    channel, title, expected, case_with_uploads, case_obj, open_package
):
    order, case = case_with_uploads
    package = open_package(services.build_package(case_obj(case), channel))
    text = squash(package.pdf_text())
    assert text.startswith(title)
    for piece in [order["number"], "【请填写：联系电话】", *expected]:
        assert squash(piece) in text, piece
    # the whole document comes back, line by line, once the page footers are taken out
    body = re.sub(squash(title) + r"·第\d+页/共\d+页", "", text)
    for line in package.text().splitlines():
        assert squash(line) in body, line


def test_pdf_embeds_a_truetype_subset_of_the_cjk_font(case_with_uploads, case_obj, open_package):
    from pypdf import PdfReader

    package = open_package(services.build_package(case_obj(case_with_uploads[1]), "12315"))
    reader = PdfReader(io.BytesIO(package.read("complaint.pdf")))
    font = reader.pages[0]["/Resources"]["/Font"]
    fonts = [f.get_object() for f in font.values()]
    assert len(fonts) == 1
    assert fonts[0]["/Encoding"] == "/Identity-H" and "/ToUnicode" in fonts[0]
    descendant = fonts[0]["/DescendantFonts"][0].get_object()
    assert descendant["/Subtype"] == "/CIDFontType2"
    assert "+NotoSansCJKSC" in descendant["/BaseFont"]  # a subset ("ABCDEF+"), not the 20 MB font
    assert "/FontFile2" in descendant["/FontDescriptor"]
    assert len(package.read("complaint.pdf")) < 400_000


def test_rendered_pdf_shows_chinese_glyphs_not_boxes(tmp_path, case_with_uploads, case_obj, open_package):
    # "一" is one flat horizontal stroke; a missing glyph (tofu) is a tall box.
    flat = Document("12315", "一", [Block("title", "一")])
    page = render_page(complaint_pdf.render(flat), tmp_path, dpi=100)
    width, height = page.size
    left, top, right, bottom = ink_box(page, (0, 0, width, height // 4))
    assert (right - left) > 4 * (bottom - top), (left, top, right, bottom)

    # The real complaint: ink where the title and the text are, on the top of page 1.
    package = open_package(services.build_package(case_obj(case_with_uploads[1]), "police"))
    page = render_page(package.read("complaint.pdf"), tmp_path, dpi=60)
    width, height = page.size
    title = ink_box(page, (0, 0, width, height // 10))
    assert title is not None and (width * 0.3) < (title[0] + title[2]) / 2 < (width * 0.7)  # centred title
    body = page.crop((0, height // 10, width, height * 9 // 10))
    dark = sum(1 for v in body.getdata() if v < 128)
    assert dark > 0.01 * body.size[0] * body.size[1]
