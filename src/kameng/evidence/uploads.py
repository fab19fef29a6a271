"""Checking uploads by their content, never their name or declared type."""
import hashlib
from dataclasses import dataclass

from kameng.api.errors import ApiError

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class CheckedUpload:
    file: object
    filename: str
    content_type: str
    size: int
    sha256: str


def sniff(head: bytes) -> str | None:
    """The content type from magic bytes: PNG, JPEG, WebP, GIF, MP4, WebM, PDF, or plain UTF-8 text."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _is_text(head):
        return "text/plain"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end of the sample is fine
            return False
        text = head[: exc.start].decode("utf-8")
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html", "<script", "<svg", "<?xml")):
        return False  # markup is never accepted as "text"
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
    return controls == 0


def inspect_upload(upload) -> CheckedUpload:
    """Validate an UploadedFile: size (413) and content type by magic bytes (415); hash it."""
    if upload is None:
        raise ApiError(400, "invalid_request", "file_required", "请选择要上传的文件", param="file")
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ApiError(413, "too_large", "file_too_large", "文件不能超过 20 MiB", param="file")
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in upload.chunks(64 * 1024):
        if len(head) < 4096:
            head += chunk[: 4096 - len(head)]
        size += len(chunk)
        if size > MAX_BYTES:
            raise ApiError(413, "too_large", "file_too_large", "文件不能超过 20 MiB", param="file")
        digest.update(chunk)
    content_type = sniff(head)
    if content_type is None:
        raise ApiError(415, "unsupported_media_type", "unsupported_type",
                       "只接受 PNG、JPEG、WebP、GIF、MP4、WebM、PDF 或纯文本文件", param="file")
    upload.seek(0)
    name = (upload.name or "evidence").replace("\\", "/").rsplit("/", 1)[-1][:200] or "evidence"
    return CheckedUpload(file=upload, filename=name, content_type=content_type, size=size, sha256=digest.hexdigest())
