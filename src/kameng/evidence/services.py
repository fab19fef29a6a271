"""Adding evidence to a case and keeping its hash chain."""

import hashlib
import hmac
import json
import uuid

from django.conf import settings
from django.db import connection, transaction

from kameng.compiled import insert_parts, insert_rows, inserted
from kameng.errors import DomainError, Error

from .models import ChainAnchor, Evidence, EvidenceExtract
from .uploads import EXTENSIONS, extract_text

GENESIS = "0" * 64
CATEGORIES = ("listing", "transaction", "communication", "problem")
MAX_UPLOADS_PER_CASE = 50  # files the parties (and arbitrators) may add to one case; system items aside


def chain_link(prev: str, sha256: str, meta: dict) -> str:
    payload = prev + sha256 + json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def anchor_mac(case_id: int, seq: int, head: str) -> str:
    """HMAC-SHA256 of an anchor with the server key: only the server can write a valid one."""
    message = f"kameng.evidence.anchor:{case_id}:{seq}:{head}".encode()
    return hmac.new(settings.EVIDENCE_CHAIN_KEY.encode(), message, hashlib.sha256).hexdigest()


def anchor(item) -> ChainAnchor:
    """Record the chain head after `item` (in the item's transaction)."""
    return ChainAnchor.objects.create(
        case_id=item.case_id,
        seq=item.seq,
        head=item.chain,
        mac=anchor_mac(item.case_id, item.seq, item.chain),
        at=item.uploaded_at,
    )


def chain_meta(item) -> dict:
    return {
        "seq": item.seq,
        "category": item.category,
        "source": item.source,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "uploaded_at": item.uploaded_at.isoformat(),
    }


def append(
    case,
    *,
    category: str,
    source: str,
    filename: str,
    content_type: str,
    content,
    size: int,
    sha256: str,
    uploaded_by=None,
    note: str = "",
    now,
):
    """Store the bytes under a generated name and link the item into the case's chain.

    `content` is a Django File (or ContentFile). The caller has validated type and size and
    holds the case row lock, so the chain is appended in order and the upload quota holds.
    """
    assert transaction.get_connection().in_atomic_block
    if uploaded_by is not None:
        quota = getattr(settings, "EVIDENCE_MAX_UPLOADS_PER_CASE", MAX_UPLOADS_PER_CASE)
        if Evidence.objects.filter(case=case, uploaded_by__isnull=False).count() >= quota:
            raise DomainError(Error.EVIDENCE_QUOTA_EXCEEDED, quota=quota)
    last = Evidence.objects.filter(case=case).order_by("-seq").first()
    prev = last.chain if last else GENESIS
    ext = EXTENSIONS.get(content_type, "bin")
    item = Evidence(
        case=case,
        seq=(last.seq + 1) if last else 1,
        category=category,
        source=source,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        content_type=content_type,
        size=size,
        sha256=sha256,
        note=note,
        prev=prev,
        uploaded_at=now,
    )
    item.chain = chain_link(prev, sha256, chain_meta(item))
    item.file.save(f"{uuid.uuid4().hex}.{ext}", content, save=False)
    item.save()
    anchor(item)
    return item


def append_text(case, *, category: str, filename: str, text: str, now, source: str = "system"):
    return append_texts(case, [(category, filename, text)], now=now, source=source)[0]


def append_texts(case, texts: list[tuple[str, str, str]], *, now, source: str = "system", first: bool = False) -> list:
    """Several texts, each (category, filename, text), appended to the chain at once, each item's bytes
    (the text's UTF-8) held in its row (`Evidence.text`), not in a stored file: written in the
    transaction that writes the row, so a rollback leaves nothing behind, and no file (or S3 object)
    is created in the request. Two INSERTs, or on PostgreSQL one statement. `first`: the caller
    created the case in this transaction, so its chain starts at the genesis (nothing to read).

    Each item's EvidenceExtract is written with it, in a third INSERT: the row the assist's
    `extract_item` would write after reading the item back (the same `extract_text`), so the
    analysis job that follows the commit finds these items read."""
    assert transaction.get_connection().in_atomic_block
    last = None if first else Evidence.objects.filter(case=case).order_by("-seq").first()
    prev, seq = (last.chain, last.seq) if last else (GENESIS, 0)
    items, extracts = [], []
    for category, filename, text in texts:
        data = text.encode("utf-8")
        seq += 1
        item = Evidence(
            case=case,
            seq=seq,
            category=category,
            source=source,
            uploaded_by=None,
            filename=filename[:255],
            content_type="text/plain",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            note="",
            prev=prev,
            uploaded_at=now,
            text=text,
        )
        item.chain = prev = chain_link(item.prev, item.sha256, chain_meta(item))
        items.append(item)
        extracts.append(
            EvidenceExtract(evidence=item, status="done", text_source="text", text=extract_text(data), analysed_at=now)
        )
    anchors = [
        ChainAnchor(
            case_id=item.case_id,
            seq=item.seq,
            head=item.chain,
            mac=anchor_mac(item.case_id, item.seq, item.chain),
            at=item.uploaded_at,
        )
        for item in items
    ]
    if connection.vendor == "postgresql":
        _insert_links(items, anchors, extracts)
        return items
    insert_rows(Evidence, items)  # bulk_create's rows, each INSERT in fixed text (kameng.compiled)
    insert_rows(ChainAnchor, anchors)
    insert_rows(EvidenceExtract, extracts)
    return items


def _insert_links(items: list[Evidence], anchors: list[ChainAnchor], extracts: list[EvidenceExtract]) -> None:
    """PostgreSQL: the three INSERTs of `append_texts` (`insert_rows` of the items, their anchors, their
    extracts) in one statement, each a part of one WITH; an extract takes its item's new key from the
    items' INSERT, found by the item's place in the case's chain (seq, unique in the case)."""
    for extract, item in zip(extracts, items, strict=True):
        _EXTRACT_OF.delete_cached_value(extract)
        extract.evidence_id = item.seq  # the join's key until the item's own is known
    ev, an = insert_parts(Evidence, items), insert_parts(ChainAnchor, anchors)
    ex = insert_parts(EvidenceExtract, extracts, typed=True)
    by_seq = ex.attnames.index("evidence_id") + 1
    columns = ", ".join("ev.id" if i == by_seq else f"x.column{i}" for i in range(1, len(ex.attnames) + 1))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH ev AS ({ev.into} {ev.rows} RETURNING id, seq), an AS ({an.into} {an.rows}), "
            f"ex AS ({ex.into} SELECT {columns} FROM ({ex.rows}) AS x JOIN ev ON ev.seq = x.column{by_seq} "
            "RETURNING id, evidence_id) SELECT ev.seq, ev.id, ex.id FROM ev JOIN ex ON ex.evidence_id = ev.id",
            [*ev.params, *an.params, *ex.params],
        )
        keys = {seq: (pk, extract_pk) for seq, pk, extract_pk in cursor.fetchall()}
    inserted(Evidence, items, [keys[item.seq][0] for item in items])
    inserted(EvidenceExtract, extracts, [keys[item.seq][1] for item in items])
    for extract, item in zip(extracts, items, strict=True):
        extract.evidence = item


_EXTRACT_OF = EvidenceExtract._meta.get_field("evidence")


def download_name(item) -> str:
    """The uploader's file name with an extension that matches the checked content, so a
    'photo.png' that was really text downloads as 'photo.png.txt'."""
    ext = EXTENSIONS.get(item.content_type, "bin")
    name = item.filename or f"evidence-{item.pk}"
    lowered = name.lower()
    if lowered.endswith(f".{ext}") or (ext == "jpg" and lowered.endswith(".jpeg")):
        return name
    return f"{name}.{ext}"


def by_dimension(case) -> dict[str, list]:
    """The case's evidence grouped by the four dimensions (四个维度), each in upload order."""
    groups: dict[str, list] = {c: [] for c in CATEGORIES}
    for item in Evidence.objects.filter(case=case).order_by("seq"):
        groups.setdefault(item.category, []).append(item)
    return groups
