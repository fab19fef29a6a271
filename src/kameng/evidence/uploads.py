"""Checking uploads by their content, never their name or declared type.

Two layers. `UploadSizeLimitHandler` sits first in Django's upload handlers and aborts any
multipart upload as soon as a file passes 20 MiB, counting the bytes actually received (a
lying or missing Content-Length changes nothing); files above FILE_UPLOAD_MAX_MEMORY_SIZE go
to temporary files, so memory stays flat whatever the size. `inspect_upload` then reads the
file once in chunks — SHA-256, magic bytes, active-content scan — and validates its structure
for the sniffed type (Pillow with decompression-bomb limits for images, a box walk and an
FFmpeg probe for video). Anything not PNG, JPEG, WebP, GIF, MP4, WebM, PDF or text is refused.
"""

import codecs
import ctypes
import ctypes.util
import hashlib
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from PIL import Image

from kameng.errors import DomainError, Error

MAX_BYTES = 20 * 1024 * 1024  # one evidence file
MAX_REQUEST_BYTES = 5 * MAX_BYTES  # all files of one multipart request together
# One decoded image or video frame at most this many bytes of pixels (width x height x bytes per
# pixel of its mode): a 4000 x 4000 photo or a 1080 x 14000 long screenshot in RGB. Checked from
# the header, before anything is decoded; a 7000 x 7000 PNG of 208 KB is refused at once.
MAX_DECODED_BYTES = 48 * 1024 * 1024
MAX_PIXELS = MAX_DECODED_BYTES // 3  # the same cap in RGB pixels (video frames, the assist)
MAX_ANIMATION_PIXELS = 400_000_000  # all frames of an animated GIF/WebP together
BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "I;16": 2,
    "RGB": 3,
    "YCbCr": 3,
    "RGBA": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}
CHUNK = 64 * 1024
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 64 * 1024 + 22  # a ZIP's end-of-central-directory record lies in the last 64 KiB + 22

ALLOWED_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "video/mp4",
    "video/webm",
    "application/pdf",
    "text/plain",
)
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
VIDEO_TYPES = ("video/mp4", "video/webm")

# ISO base-media brands that are MP4 video; HEIC/AVIF images and M4A audio share the box format.
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso3",
    b"iso4",
    b"iso5",
    b"iso6",
    b"iso7",
    b"iso8",
    b"iso9",
    b"mp41",
    b"mp42",
    b"mp71",
    b"avc1",
    b"av01",
    b"hvc1",
    b"dash",
    b"M4V ",
    b"M4VH",
    b"M4VP",
    b"mmp4",
    b"MSNV",
    b"3gp4",
    b"3gp5",
    b"3gp6",
    b"3g2a",
    b"f4v ",
}
NOT_MP4_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
    b"M4A ",
    b"M4B ",
    b"M4P ",
    b"qt  ",
    b"crx ",
}

# Markup or script that a browser could run if it ever took the file for HTML: polyglots
# (a valid image whose bytes are also a page) and disguised pages. Scanned case-insensitively
# in images, PDFs and text; long enough patterns that compressed data does not hit them by chance.
ACTIVE_MARKUP = re.compile(
    rb"<(?:script|iframe|html|svg|body|object|embed|frameset)[\s>/]|<!doctype\s+html|<\?php|javascript:"
    rb"|<meta\s+http-equiv"
)
ACTIVE_MARKUP_TEXT = re.compile(ACTIVE_MARKUP.pattern.decode("ascii"))  # the same, in decoded text
# PDF features that run code or carry other files: a quick look at the raw bytes first; the parse
# (`pdf_active_content`) then reads names decoded (/J#61vaScript) and inside object streams.
PDF_ACTIVE = re.compile(rb"/(?:JavaScript|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])")
# Action types (/S) that run code, open other programs, files or sites, or send the form away.
PDF_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/URI", "/SubmitForm", "/ImportData", "/RichMedia", "/GoToE", "/GoToR", "/Rendition"}
)
# Keys and types that carry scripts, embedded files or rich media wherever they appear.
PDF_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/RichMediaContent", "/XFA"})
PDF_ACTIVE_TYPES = frozenset({"/EmbeddedFile", "/FileAttachment", "/RichMedia", "/Sound", "/Movie", "/Screen"})
PDF_MAX_OBJECTS = 200_000  # a 20 MiB evidence PDF has far fewer; more is a parser bomb
SCAN_OVERLAP = 32
# Control characters never found in human text (tab, newlines, form feed and ESC are allowed).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


class UploadTooLarge(DomainError, RequestDataTooBig):
    """too_large for the API; outside it Django's own handling of RequestDataTooBig applies (400)."""

    def __init__(self, limit: int = MAX_BYTES):
        super().__init__(Error.UPLOAD_TOO_LARGE, param="file", mib=limit // (1024 * 1024))


def unsupported(error: Error) -> DomainError:
    return DomainError(error, param="file")


class UploadSizeLimitHandler(FileUploadHandler):
    """First upload handler: stops a multipart upload the moment a file passes MAX_BYTES.

    Counts the bytes it is handed, never the declared Content-Length, so a client that lies
    about the length (or streams forever) is cut off after 20 MiB of real data. Before
    raising, it closes the other handlers' files (their temporary files are deleted) and marks
    the request's form data as unparsable so nothing reads the rest of the stream.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        if content_length and content_length > MAX_REQUEST_BYTES + 1024 * 1024:
            self._abort(MAX_REQUEST_BYTES)
        return None  # let the memory / temporary-file handlers do the storing

    def receive_data_chunk(self, raw_data, start):
        self.received = getattr(self, "received", 0) + len(raw_data)
        if start + len(raw_data) > MAX_BYTES:
            self._abort(MAX_BYTES)
        if self.received > MAX_REQUEST_BYTES:
            self._abort(MAX_REQUEST_BYTES)
        return raw_data

    def file_complete(self, file_size):
        return None

    def _abort(self, limit: int):
        request = self.request
        for handler in getattr(request, "upload_handlers", ()):
            if handler is not self and getattr(handler, "file", None) is not None:
                handler.file.close()
        if request is not None and hasattr(request, "_mark_post_parse_error"):
            request._mark_post_parse_error()
        raise UploadTooLarge(limit)


_decode_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6") if ctypes.util.find_library("c") else None


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of the process's settings.EVIDENCE_DECODE_SLOTS while decoding pixels, so parallel
    uploads and OCR never hold more than slots x MAX_DECODED_BYTES; afterwards hand the freed
    pixel memory back to the system (glibc keeps freed arenas otherwise: workers stayed at GBs)."""
    global _decode_slots
    with _slots_lock:
        if _decode_slots is None:
            _decode_slots = threading.BoundedSemaphore(settings.EVIDENCE_DECODE_SLOTS)
    with _decode_slots:
        try:
            yield
        finally:
            release_memory()


def release_memory() -> None:
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)


def decoded_bytes(im: Image.Image) -> int:
    return im.width * im.height * BYTES_PER_PIXEL.get(im.mode, 4)


@dataclass
class CheckedUpload:
    file: object
    filename: str
    content_type: str
    size: int
    sha256: str
    encoding: str | None = None  # for text: utf-8, utf-8-sig, utf-16, gb18030


def sniff(head: bytes) -> str | None:
    """The content type from magic bytes: PNG, JPEG, WebP, GIF, MP4, WebM, PDF, or plain text."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp":
        return "video/mp4" if _mp4_brand_ok(head) else None
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if _ebml_doctype(head) == b"webm" else None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if text_encoding(head, complete=False) is not None:
        return "text/plain"
    return None


def _mp4_brand_ok(head: bytes) -> bool:
    size = struct.unpack(">I", head[:4])[0]
    if size < 16 or size > len(head):
        return False
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, size - 3, 4)}
    if major in NOT_MP4_BRANDS:
        return False
    return major in MP4_BRANDS or bool(compatible & MP4_BRANDS)


def _read_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, length) or None."""
    if pos >= len(data):
        return None
    first = data[pos]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8 or pos + length > len(data):
        return None
    value = first if keep_marker else first & (mask - 1)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    return value, length


def _ebml_doctype(head: bytes) -> bytes | None:
    """The DocType of an EBML header (b"webm", b"matroska"), or None when it is not well formed."""
    size = _read_vint(head, 4, keep_marker=False)
    if size is None:
        return None
    pos = 4 + size[1]
    end = min(pos + size[0], len(head))
    while pos < end:
        element = _read_vint(head, pos, keep_marker=True)
        if element is None:
            return None
        pos += element[1]
        length = _read_vint(head, pos, keep_marker=False)
        if length is None:
            return None
        pos += length[1]
        if element[0] == 0x4282:
            return head[pos : pos + length[0]]
        pos += length[0]
    return None


def text_encoding(data: bytes, *, complete: bool = True) -> str | None:
    """The encoding that reads `data` as human text (no NULs or control characters), or None.

    UTF-8 (with or without BOM), UTF-16 with BOM, then GB18030 (Windows Notepad's 'ANSI' in
    China). Markup and scripts are never text: a page or script renamed .txt is rejected.
    `complete=False` tolerates a character cut at the end of a sample.
    """
    if not data:
        return None
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        text = _decode(data, encoding, complete)
        if text is not None and _is_plain_text(text):
            return encoding
    return None


MAX_TEXT_CHARS = 200_000  # the characters of one item's text the assist keeps (EvidenceExtract.text)


def extract_text(data: bytes) -> str:
    """The text the assist keeps of a text file: its first MAX_TEXT_CHARS characters, read in the
    encoding `text_encoding` finds in the first MAX_TEXT_CHARS * 4 bytes (UTF-8 when none fits).
    The one reading of it, whether the file was just written (`services.append_texts`) or is read
    back from storage (kameng.arbitration.assist)."""
    sample = data[: MAX_TEXT_CHARS * 4]
    encoding = text_encoding(sample, complete=False) or "utf-8"
    return sample.decode(encoding, errors="replace")[:MAX_TEXT_CHARS]


def _decode(data: bytes, encoding: str, complete: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def _is_plain_text(text: str) -> bool:
    if CONTROL_CHARS.search(text):
        return False
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    return not lowered.startswith(("<!doctype", "<html", "<script", "<svg", "<?xml", "<?php", "#!"))


def inspect_upload(upload) -> CheckedUpload:
    """Validate an UploadedFile: size (too_large), type by content and structure (unsupported_media_type); hash it.

    The type comes from the first 64 KiB; the file is then read once in chunks (memory stays
    flat) for its hash and the scans that type needs, and its structure is checked last.
    Raises DomainError; the caller stores nothing unless this returns.
    """
    if upload is None:
        raise DomainError(Error.UPLOAD_FILE_REQUIRED, param="file")
    if upload.size is not None and upload.size > MAX_BYTES:
        raise UploadTooLarge()
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    if not head:
        raise unsupported(Error.UPLOAD_EMPTY)
    content_type = sniff(head)
    if content_type is None:
        raise unsupported(Error.UPLOAD_TYPE_UNSUPPORTED)
    scan_markup = content_type not in VIDEO_TYPES
    text = _StreamingText(head) if content_type == "text/plain" else None
    digest = hashlib.sha256()
    size = 0
    tail = carry = b""
    markup_hit = pdf_active = False
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise UploadTooLarge()
        digest.update(chunk)
        tail = (tail + chunk)[-TAIL_BYTES:]
        window = carry + chunk
        carry = window[-SCAN_OVERLAP:]
        if scan_markup and not markup_hit:
            lowered = window.lower()
            markup_hit = (b"<" in lowered and ACTIVE_MARKUP.search(lowered) is not None) or b"javascript:" in lowered
        if content_type == "application/pdf" and not pdf_active:
            pdf_active = PDF_ACTIVE.search(window) is not None
        if text is not None:
            text.feed(chunk)
    encoding = None
    if text is not None:
        encoding = text.finish() or _gb18030_fallback(upload, text)
        if encoding is None:
            raise unsupported(Error.UPLOAD_TEXT_ENCODING)
        markup_hit = markup_hit or text.markup
    if b"PK\x05\x06" in tail:
        raise unsupported(Error.UPLOAD_ARCHIVE_APPENDED)
    if markup_hit:
        raise unsupported(Error.UPLOAD_ACTIVE_CONTENT)
    if content_type == "application/pdf":
        _check_pdf(upload, tail, pdf_active)
    elif content_type in IMAGE_TYPES:
        _check_image(upload, content_type, size)
    elif content_type in VIDEO_TYPES:
        _check_video(upload, content_type, size)
    upload.seek(0)
    name = (upload.name or "evidence").replace("\\", "/").rsplit("/", 1)[-1][:200] or "evidence"
    return CheckedUpload(
        file=upload, filename=name, content_type=content_type, size=size, sha256=digest.hexdigest(), encoding=encoding
    )


# Bytes that are control characters in UTF-8 and GB18030 alike (both keep ASCII as is).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


class _StreamingText:
    """Checks a whole file as text while it streams by, in the encoding its head suggests.

    For UTF-8 and GB18030 the control-character check runs on the bytes (fast); UTF-16 is
    checked on the decoded text. A file whose head read as UTF-8 but whose body does not gets
    one more pass as GB18030 (`_gb18030_fallback`).
    """

    def __init__(self, head: bytes):
        self.encoding = text_encoding(head, complete=False)
        self.decoder = codecs.getincrementaldecoder(self.encoding)() if self.encoding else None
        self.carry = ""
        self.markup = False  # markup found in the decoded text (UTF-16 hides it from a byte scan)

    def feed(self, chunk: bytes) -> None:
        if self.decoder is None:
            return
        try:
            decoded = self.decoder.decode(chunk)
        except UnicodeDecodeError:
            self.decoder = None
            return
        if self.encoding == "utf-16":
            bad = CONTROL_CHARS.search(decoded) is not None
        else:
            bad = bool(chunk.translate(None, _NOT_CONTROL_BYTES))
        if bad:
            self.decoder = None
            self.encoding = "rejected"
            return
        window = (self.carry + decoded).lower()
        self.carry = window[-SCAN_OVERLAP:]
        if not self.markup and ("<" in window or "javascript:" in window):
            self.markup = ACTIVE_MARKUP_TEXT.search(window) is not None

    def finish(self) -> str | None:
        if self.decoder is None:
            return None
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
        return self.encoding


def _gb18030_fallback(upload, checker: _StreamingText) -> str | None:
    if checker.encoding != "utf-8":
        return None
    retry = _StreamingText(b"")
    retry.encoding, retry.decoder = "gb18030", codecs.getincrementaldecoder("gb18030")()
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        retry.feed(chunk)
    checker.markup = retry.markup
    return retry.finish()


def _check_pdf(upload, tail: bytes, active: bool) -> None:
    if b"%%EOF" not in tail[-2048:]:
        raise unsupported(Error.UPLOAD_PDF_INCOMPLETE)
    if active or pdf_active_content(upload):
        raise unsupported(Error.UPLOAD_PDF_ACTIVE_CONTENT)


def pdf_active_content(upload) -> bool:
    """Parse the PDF (pypdf) and look at every object, those inside object streams included, with
    names decoded: any script, launch, URI, form submission, data import, rich media, file
    attachment or embedded file. A PDF pypdf cannot read is refused as well (True)."""
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    upload.seek(0)
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted:
            return True  # nothing inside can be checked
        numbers = {(num, gen) for gen, objects in reader.xref.items() for num in objects}
        numbers |= {(num, 0) for num in reader.xref_objStm}
        if len(numbers) > PDF_MAX_OBJECTS:
            return True
        roots = [reader.trailer] + [IndirectObject(num, gen, reader) for num, gen in sorted(numbers)]
        return any(_pdf_object_active(root) for root in roots)
    except Exception:  # pypdf raises many kinds on malformed input
        return True
    finally:
        upload.seek(0)


def _pdf_object_active(obj) -> bool:
    """One object and what it holds directly (its references are visited as objects of their own)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack = [obj.get_object() if isinstance(obj, IndirectObject) else obj]
    while stack:
        item = stack.pop()
        if isinstance(item, DictionaryObject):
            if any(str(key) in PDF_ACTIVE_KEYS for key in item):
                return True
            for key in ("/S", "/Type", "/Subtype"):
                value = item.get(key)
                if isinstance(value, str) and (value in PDF_ACTIONS or value in PDF_ACTIVE_TYPES):
                    return True
            stack.extend(v for v in item.values() if not isinstance(v, IndirectObject))
        elif isinstance(item, ArrayObject):
            stack.extend(v for v in item if not isinstance(v, IndirectObject))
    return False


def _jpeg_ends_at_eoi(f, size: int) -> bool:
    """Walk a JPEG's segments and entropy-coded scans to its EOI marker, which must end the file."""
    f.seek(2)
    reader = _ByteReader(f, 2)
    while True:
        byte = reader.byte()
        if byte != 0xFF:
            return False
        marker = reader.byte()
        while marker == 0xFF:  # fill bytes
            marker = reader.byte()
        if marker is None:
            return False
        if marker == 0xD9:  # EOI
            return reader.pos == size
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        length = reader.read(2)
        if length is None or len(length) < 2:
            return False
        seg = struct.unpack(">H", length)[0]
        if seg < 2 or not reader.skip(seg - 2):
            return False
        if marker == 0xDA and not reader.skip_entropy_data():  # SOS: scan data up to the next marker
            return False


class _ByteReader:
    """Buffered forward reads over a file, in chunks (bounded memory)."""

    def __init__(self, f, pos: int):
        self.f, self.pos, self.buf, self.start = f, pos, b"", pos

    def _fill(self, need: int) -> bool:
        offset = self.pos - self.start
        while len(self.buf) - offset < need:
            chunk = self.f.read(CHUNK)
            if not chunk:
                return False
            self.buf = self.buf[offset:] + chunk
            self.start, offset = self.pos, 0
        return True

    def byte(self) -> int | None:
        if not self._fill(1):
            return None
        value = self.buf[self.pos - self.start]
        self.pos += 1
        return value

    def read(self, n: int) -> bytes | None:
        if not self._fill(n):
            return None
        offset = self.pos - self.start
        self.pos += n
        return self.buf[offset : offset + n]

    def skip(self, n: int) -> bool:
        offset = self.pos - self.start
        if len(self.buf) - offset >= n:
            self.pos += n
            return True
        self.pos += n
        self.f.seek(self.pos)
        self.buf, self.start = b"", self.pos
        return self._fill(0)

    def skip_entropy_data(self) -> bool:
        """Past a scan's data: stop before the first 0xFF that starts a marker (not 0xFF00 or RSTn)."""
        while True:
            if not self._fill(2):
                return False
            offset = self.pos - self.start
            at = self.buf.find(b"\xff", offset)
            if at < 0 or at + 1 >= len(self.buf):
                keep = len(self.buf) - 1 if at >= 0 else len(self.buf)
                self.pos = self.start + keep
                if not self._fill(2):
                    return False
                continue
            following = self.buf[at + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                self.pos = self.start + at + 2
                continue
            self.pos = self.start + at
            return True


def _webp_ends_at_riff_length(f, size: int) -> bool:
    f.seek(4)
    declared = struct.unpack("<I", f.read(4))[0]
    return declared + 8 == size


def _check_image(upload, content_type: str, size: int) -> None:
    """Decode the image with bomb limits; PNG must end at IEND and GIF at its trailer."""
    expected = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}[content_type]
    gif_frames = _gif_frames(upload, size) if content_type == "image/gif" else 1
    if gif_frames is None:
        raise unsupported(Error.UPLOAD_GIF_MALFORMED)
    try:
        with warnings.catch_warnings(), decode_slot():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload, formats=[expected]) as im:
                if decoded_bytes(im) > MAX_DECODED_BYTES:
                    raise Image.DecompressionBombError("too many pixels")  # from the header alone
                im.verify()
            upload.seek(0)
            with Image.open(upload, formats=[expected]) as im:
                pixels = im.width * im.height
                if decoded_bytes(im) > MAX_DECODED_BYTES:
                    raise Image.DecompressionBombError("too many pixels")
                if content_type == "image/gif":
                    # Pillow decodes every frame to count them: count descriptors without decoding
                    frames = gif_frames
                else:
                    frames = getattr(im, "n_frames", 1)  # PNG (acTL) and WebP read it from headers
                if frames * pixels > MAX_ANIMATION_PIXELS:
                    raise Image.DecompressionBombError("too many frames")
                im.load()  # the first frame, fully: truncated or corrupt data fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(Error.UPLOAD_IMAGE_TOO_LARGE, param="file", megapixels=MAX_PIXELS // 1_000_000) from None
    except Exception:  # Pillow raises many kinds on malformed input
        raise unsupported(Error.UPLOAD_IMAGE_INVALID) from None
    if content_type == "image/png" and not _png_ends_at_iend(upload, size):
        raise unsupported(Error.UPLOAD_PNG_TRAILING_DATA)
    if content_type == "image/jpeg" and not _jpeg_ends_at_eoi(upload, size):
        raise unsupported(Error.UPLOAD_IMAGE_TRAILING_DATA)
    if content_type == "image/webp" and not _webp_ends_at_riff_length(upload, size):
        raise unsupported(Error.UPLOAD_IMAGE_TRAILING_DATA)


def _gif_frames(f, size: int) -> int | None:
    """Frames in a GIF, walking its blocks without decoding; None unless it ends at its trailer."""
    f.seek(0)
    header = f.read(13)
    if len(header) < 13:
        return None
    packed = header[10]
    if packed & 0x80:
        f.seek(3 * (2 << (packed & 7)), 1)
    frames = 0

    def skip_sub_blocks() -> bool:
        while True:
            length = f.read(1)
            if not length:
                return False
            if length[0] == 0:
                return True
            f.seek(length[0], 1)

    while True:
        introducer = f.read(1)
        if introducer == b"\x3b":
            return frames if f.tell() == size else None
        if introducer == b"\x21":
            if not f.read(1) or not skip_sub_blocks():
                return None
        elif introducer == b"\x2c":
            descriptor = f.read(9)
            if len(descriptor) < 9:
                return None
            if descriptor[8] & 0x80:
                f.seek(3 * (2 << (descriptor[8] & 7)), 1)
            if not f.read(1) or not skip_sub_blocks():  # LZW minimum code size, then the data
                return None
            frames += 1
        else:
            return None


def _png_ends_at_iend(f, size: int) -> bool:
    f.seek(8)
    pos = 8
    for _ in range(1_000_000):
        header = f.read(8)
        if len(header) < 8:
            return False
        length, kind = struct.unpack(">I4s", header)
        pos += 12 + length
        if pos > size:
            return False
        if kind == b"IEND":
            return pos == size
        f.seek(pos)
    return False


def _check_video(upload, content_type: str, size: int) -> None:
    """MP4: top-level boxes must tile the file exactly. Both: FFmpeg must find a video stream."""
    if content_type == "video/mp4" and not _mp4_boxes_ok(upload, size):
        raise unsupported(Error.UPLOAD_MP4_MALFORMED)
    import av

    upload.seek(0)
    try:
        with av.open(upload, mode="r", format="mp4" if content_type == "video/mp4" else "webm") as container:
            streams = container.streams.video
            if not streams:
                raise unsupported(Error.UPLOAD_VIDEO_WITHOUT_PICTURE)
            stream = streams[0]
            if (stream.codec_context.width or 0) * (stream.codec_context.height or 0) > MAX_PIXELS:
                raise DomainError(Error.UPLOAD_VIDEO_TOO_LARGE, param="file")
    except DomainError:
        raise
    except Exception:
        raise unsupported(Error.UPLOAD_VIDEO_INVALID) from None


def _mp4_boxes_ok(f, size: int) -> bool:
    f.seek(0)
    pos = 0
    seen: set[int] = set()
    for _ in range(100_000):
        if pos == size:
            return b"ftyp" in seen and bool(seen & {b"moov", b"moof"})
        header = f.read(8)
        if len(header) < 8:
            return False
        box_size, kind = struct.unpack(">I4s", header)
        header_len = 8
        if box_size == 1:
            large = f.read(8)
            if len(large) < 8:
                return False
            box_size = struct.unpack(">Q", large)[0]
            header_len = 16
        elif box_size == 0:
            box_size = size - pos
        if box_size < header_len or not all(32 <= b < 127 for b in kind):
            return False
        if not seen and kind != b"ftyp":
            return False
        seen.add(kind)
        pos += box_size
        if pos > size:
            return False
        f.seek(pos)
    return False
