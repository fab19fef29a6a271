"""The complaint ZIP: complaint.pdf, complaint.txt, every evidence file, and manifest.json with SHA-256s.

The manifest lets the recipient check each file (its SHA-256 is of the bytes in the ZIP) and the
platform's evidence chain (each item's `prev`/`chain` link, and the head), recomputed here as the
files are copied: `chain_valid` is false if any stored file or link no longer matches.
"""

import hashlib
import json
import unicodedata
import zipfile
from io import BytesIO
from pathlib import PurePosixPath

from django.utils import timezone

from kameng.evidence.services import GENESIS, chain_link, chain_meta

from .documents import Document, Dossier, EvidenceEntry
from .rules import Claims

FORMAT = "kameng-complaint-package/1"
CHUNK = 1 << 20


def safe_name(filename: str, limit: int = 80) -> str:
    """A file name safe inside a ZIP on any system: no directories, no control or reserved characters."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch if ch.isalnum() or ch in "._-()（）" else "_" for ch in name).strip("._") or "file"
    if len(name) > limit:
        path = PurePosixPath(name)
        suffix = path.suffix[:16]
        name = path.stem[: limit - len(suffix)] + suffix
    return name


# The extension follows the checked content type, so "photo.png" that was really text opens as text.
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


def evidence_path(seq: int, category: str, filename: str, content_type: str = "") -> str:
    """evidence/<seq>-<category>-<name>, e.g. evidence/004-problem-error-screen.png."""
    name = safe_name(filename)
    ext = EXTENSIONS.get(content_type, "bin")
    lowered = name.lower()
    if not (lowered.endswith(f".{ext}") or (ext == "jpg" and lowered.endswith(".jpeg"))):
        name = f"{name}.{ext}"
    return f"evidence/{seq:03d}-{category}-{name}"


def build_zip(dossier: Dossier, document: Document, claims: Claims, *, text: str, pdf: bytes, items) -> bytes:
    """`items` are the case's Evidence rows in chain order (their stored files are read, never changed)."""
    stamp = timezone.localtime(dossier.generated_at).timetuple()[:6]
    entries: list[dict] = []
    buffer = BytesIO()
    by_seq: dict[int, EvidenceEntry] = {e.seq: e for e in dossier.evidence}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(path: str, data: bytes) -> None:
            zf.writestr(zipfile.ZipInfo(path, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
            entries.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})

        put("complaint.pdf", pdf)
        put("complaint.txt", text.encode("utf-8"))
        chain_valid = True
        prev = GENESIS
        for item in items:
            entry = by_seq[item.seq]
            digest, size = hashlib.sha256(), 0
            info = zipfile.ZipInfo(entry.path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with item.open() as source, zf.open(info, "w") as target:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            sha256 = digest.hexdigest()
            link_ok = (
                item.prev == prev
                and sha256 == item.sha256
                and chain_link(item.prev, sha256, chain_meta(item)) == item.chain
            )
            chain_valid = chain_valid and link_ok
            prev = item.chain
            entries.append(
                {
                    "path": entry.path,
                    "sha256": sha256,
                    "size": size,
                    "evidence": {
                        "id": str(item.pk),
                        "seq": item.seq,
                        "category": item.category,
                        "source": item.source,
                        "filename": item.filename,
                        "content_type": item.content_type,
                        "uploaded_at": item.uploaded_at.isoformat(),
                        "recorded_sha256": item.sha256,
                        "prev": item.prev,
                        "chain": item.chain,
                        "link_valid": link_ok,
                    },
                }
            )
        manifest = {
            "format": FORMAT,
            "channel": document.channel,
            "document": document.title,
            "case": dossier.case_id,
            "order": dossier.order.number,
            "generated_at": dossier.generated_at.isoformat(),
            "chain_head": dossier.chain_head,
            "chain_valid": chain_valid and (dossier.chain_head or GENESIS) == prev,
            "missing_fields": dossier.buyer.missing(),
            "fraud_alleged": claims.fraud_alleged,
            "demands": [{"kind": d.kind, "amount": d.amount, "text": d.text} for d in claims.demands],
            "legal_basis": [b.law.cite for b in claims.basis],
            "files": entries,
        }
        zf.writestr(
            zipfile.ZipInfo("manifest.json", date_time=stamp),
            json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()
