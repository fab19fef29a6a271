"""Active content found by parsing, not by a regex over raw bytes (issue 16, point 5): PDF names
decoded (#xx escapes) and object streams opened; data after a JPEG's EOI or past a WebP's RIFF
length refused; text evidence scanned after decoding (UTF-16 too)."""

import io
import struct
import zlib

import pytest
from pypdf import PdfWriter

from kameng.evidence.models import Evidence

from .conftest import encode, pattern_image, pdf_bytes, stored_files


def pdf_with_object_stream(hidden: bytes) -> bytes:
    """A PDF 1.5 whose catalog's /OpenAction (object 4) lives compressed inside an object stream,
    with a cross-reference stream: no raw byte of `hidden` appears in the file."""
    stream_objects = {4: hidden}
    header = b" ".join(b"%d %d" % (num, 0) for num in stream_objects) + b" "
    offsets, body = [], b""
    for obj in stream_objects.values():
        offsets.append(len(body))
        body += obj + b" "
    header = b" ".join(b"%d %d" % (num, off) for num, off in zip(stream_objects, offsets, strict=True)) + b" "
    packed = zlib.compress(header + body)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        5: b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (len(header), len(packed))
        + packed
        + b"\nendstream",
    }
    out = bytearray(b"%PDF-1.5\n")
    positions = {}
    for num, obj in objects.items():
        positions[num] = len(out)
        out += b"%d 0 obj\n" % num + obj + b"\nendobj\n"
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for num in range(1, 7):
        if num in positions:
            rows.append(struct.pack(">BIH", 1, positions[num], 0))
        elif num == 4:
            rows.append(struct.pack(">BIH", 2, 5, 0))  # in object stream 5, index 0
        else:
            rows.append(struct.pack(">BIH", 1, xref_at, 0))  # 6: the xref stream itself
    data = b"".join(rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(data)
        + data
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    )
    return bytes(out)


def _attachment_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("notes.txt", b"hidden payload")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


REFUSED_PDFS = {
    "javascript_name_escaped": pdf_bytes(b"<< /S /J#61vaScript /JS (app.alert(1)) >>"),
    "launch_name_escaped": pdf_bytes(b"<< /S /L#61unch /F (calc.exe) >>"),
    "javascript_in_object_stream": pdf_with_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"),
    "open_action_uri": pdf_with_object_stream(b"<< /S /URI /URI (https://phish.example/) >>"),
    "submit_form": pdf_bytes(b"<< /S /SubmitForm /F << /FS /URL /F (https://collect.example/) >> >>"),
    "import_data": pdf_bytes(b"<< /S /ImportData /F (data.fdf) >>"),
    "rich_media": pdf_bytes(b"<< /Type /Annot /Subtype /RichMedia /RichMediaContent 9 0 R >>"),
    "attachment": _attachment_pdf(),
}


@pytest.mark.parametrize("kind", sorted(REFUSED_PDFS))
def test_pdf_active_content_is_found_by_parsing(buyer, case, upload, media_root, kind):
    before_rows, before_files = Evidence.objects.count(), stored_files(media_root)
    res = upload(case["id"], buyer, REFUSED_PDFS[kind], name="proof.pdf", declared_type="application/pdf")
    assert res.status_code == 415, (res.status_code, res.data)
    assert res.data["error"]["code"] == "active_content"
    assert Evidence.objects.count() == before_rows
    assert stored_files(media_root) == before_files


def test_a_plain_pdf_with_an_object_stream_is_accepted(buyer, case, upload):
    res = upload(
        case["id"], buyer, pdf_with_object_stream(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"), "a.pdf"
    )
    assert res.status_code == 201, res.data
    assert res.data["content_type"] == "application/pdf"


def _webp() -> bytes:
    return encode(pattern_image(), "WEBP", quality=80)


REFUSED_IMAGES = {
    "jpeg_then_bytes_after_eoi": (encode(pattern_image(), "JPEG") + b"\x00appended payload", "a.jpg"),
    "jpeg_then_a_second_jpeg": (encode(pattern_image(1), "JPEG") + encode(pattern_image(2), "JPEG"), "a.jpg"),
    "webp_then_bytes_past_riff_length": (_webp() + b"appended payload", "a.webp"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED_IMAGES))
def test_data_after_an_images_end_is_refused(buyer, case, upload, media_root, kind):
    data, name = REFUSED_IMAGES[kind]
    before_rows = Evidence.objects.count()
    res = upload(case["id"], buyer, data, name=name)
    assert res.status_code == 415, res.data
    assert res.data["error"]["code"] == "polyglot"
    assert Evidence.objects.count() == before_rows


@pytest.mark.parametrize(
    "options",
    [{}, {"progressive": True}, {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"}, {"quality": 5}],
    ids=["baseline", "progressive", "exif", "low_quality"],
)
def test_ordinary_jpegs_end_at_their_eoi(buyer, case, upload, options):
    res = upload(case["id"], buyer, encode(pattern_image(3, size=(640, 480)), "JPEG", **options), name="a.jpg")
    assert res.status_code == 201, res.data


def test_an_ordinary_webp_is_accepted(buyer, case, upload):
    assert upload(case["id"], buyer, _webp(), name="a.webp").status_code == 201


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_with_a_script_is_refused(buyer, case, upload, encoding):
    text = "客服聊天记录\n<script>alert(document.cookie)</script>\n"
    data = text.encode(encoding)
    if encoding != "utf-16":
        data = ("\ufeff" + text).encode(encoding)  # with its byte-order mark, as Notepad saves it
    res = upload(case["id"], buyer, data, name="chat.txt")
    assert res.status_code == 415, res.data
    assert res.data["error"]["code"] == "active_content"


def test_utf16_text_without_markup_is_accepted(buyer, case, upload):
    res = upload(case["id"], buyer, "客服聊天记录：卡密无法激活，1 < 2 没问题\n".encode("utf-16"), name="chat.txt")
    assert res.status_code == 201, res.data


def test_gb18030_text_with_a_script_is_refused(buyer, case, upload):
    data = "聊天记录 <iframe src=x>".encode("gb18030")
    res = upload(case["id"], buyer, data, name="chat.txt")
    assert res.status_code == 415, res.data
