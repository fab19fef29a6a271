"""Evidence fixtures: an isolated storage root, cases through the API, uploads over HTTP, and
builders for real files of every accepted type (and some that must be refused)."""

import io
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores evidence under its own folder, through the same storage API."""
    settings.MEDIA_ROOT = str(tmp_path / "files")
    return Path(settings.MEDIA_ROOT)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def delivered_order(api, buyer, merchant, make_listing, fund, buy):
    listing = make_listing(merchant)
    fund(buyer, 100000)
    return buy(buyer, listing)


@pytest.fixture
def case(delivered_order, open_case):
    return open_case(delivered_order)


@pytest.fixture
def upload(api):
    """POST a file to a case's evidence as multipart over HTTP; returns the response."""

    def post(
        case_id,
        user,
        data: bytes,
        name="evidence.bin",
        category="problem",
        note="",
        declared_type="application/octet-stream",
    ):
        file = SimpleUploadedFile(name, data, content_type=declared_type)
        res = api.client.post(
            f"/api/v1/refunds/{case_id}/evidence",
            {"file": file, "category": category, "note": note},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        try:
            res.data = res.json()
        except ValueError:
            res.data = None
        return res

    return post


# ---- file builders -------------------------------------------------------------------------


def cjk_font_path() -> str:
    try:  # Noto Sans CJK from the noto-cjk-sans-otc wheel (a project dependency for complaint PDFs)
        import noto_cjk_sans_otc

        bundled = Path(noto_cjk_sans_otc.__file__).parent / "NotoSansCJK-Regular.ttc"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    for path in CJK_FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True).stdout
        if found and Path(found).is_file():
            return found
    pytest.fail("no CJK font: `make install` brings noto-cjk-sans-otc, `make browser` fonts-noto-cjk", pytrace=False)


def text_image(lines: list[str], size=(900, 80), font_size=28) -> Image.Image:
    """A white 'screenshot' with the given lines of (Chinese) text in a CJK font."""
    font = ImageFont.truetype(cjk_font_path(), font_size)
    height = max(size[1], 40 + len(lines) * int(font_size * 2))
    image = Image.new("RGB", (size[0], height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((24, 24 + i * int(font_size * 2)), line, font=font, fill=(20, 20, 20))
    return image


def pattern_image(seed: int = 1, size=(320, 240)) -> Image.Image:
    """A picture with structure (no text): shapes placed by `seed`."""
    import random

    rnd = random.Random(seed)
    image = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        w, h = rnd.randrange(20, 120), rnd.randrange(20, 120)
        draw.rectangle((x, y, x + w, y + h), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def png_bytes(image: Image.Image | None = None) -> bytes:
    return encode(image or pattern_image(), "PNG")


def gif_bytes() -> bytes:
    frames = [pattern_image(1), pattern_image(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buf.getvalue()


def video_bytes(frames: list[Image.Image], container="mp4", fps=2) -> bytes:
    """A tiny real video (H.264 in MP4, VP8 in WebM) encoded with PyAV's bundled FFmpeg."""
    import av

    buf = io.BytesIO()
    codec = {"mp4": "libx264", "webm": "libvpx"}[container]
    with av.open(buf, mode="w", format=container) as out:
        try:
            stream = out.add_stream(codec, rate=fps)
        except Exception:  # an FFmpeg build without x264: MPEG-4 part 2 is always there
            stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def pdf_bytes(extra: bytes = b"") -> bytes:
    """A minimal valid one-page PDF (with an optional extra object), xref offsets computed."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    if extra:
        objects.append(extra)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
