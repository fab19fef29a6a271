"""Evidence assist (AI证据辅助审核) for arbitrators: what the evidence says, set against what the
listing promised.

The job `analyse_case` (kameng.arbitration.tasks) runs after each committed upload (on Celery when
KAMENG_BROKER_URL is set, in this process otherwise); `analyse_case(case_id)` reads every new
item once (OCR of images and video frames, text of text files, perceptual hashes) and stores the
case's latest analysis; `assist_for(case)` is what the API and the arbitrator's page show. The
opening queues no job: its three system files come already read (evidence.append_texts writes their
extracts), so the first `assist_for` analyses the case from them and stores it. The
rules themselves live in kameng.arbitration.rules. Context for a human decision, never a decision.
Its results are stored in the evidence vault's tables (EvidenceExtract, ImageHash, CaseAnalysis).
"""

import logging
import re
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from kameng.aftersales.models import RefundCase
from kameng.clock.services import now as clock_now
from kameng.evidence.models import CaseAnalysis, Evidence, EvidenceExtract, ImageHash
from kameng.evidence.services import GENESIS
from kameng.evidence.uploads import IMAGE_TYPES, MAX_TEXT_CHARS, VIDEO_TYPES, extract_text
from kameng.orders.models import Order

from . import media, ocr, rules

log = logging.getLogger(__name__)

NEAR_DHASH = 5  # bits of 64: within this the 64-bit hashes are candidates (six bands find them)
NEAR_FINE = 26  # bits of 256: within this a candidate is the same picture (resized, recompressed)
DISTINCT_FRAME = 6  # video frames further apart than this show different screens (operation)
RISK_WINDOW = timedelta(days=90)
# Claims in a listing's title or description that read as promises, besides its promise list.
_CLAIM_TAIL = r"[^\s，。,;；!！、（）()【】\[\]「」“”\"'：:]"  # a claim ends at punctuation and brackets ("（永久）")
CLAIM = re.compile(
    rf"100\s*%{_CLAIM_TAIL}{{1,8}}|\d+\s*(?:小时|分钟)内{_CLAIM_TAIL}{{1,6}}|永久{_CLAIM_TAIL}{{0,6}}"
    rf"|终身{_CLAIM_TAIL}{{0,6}}|7\s*[×xX*]\s*(?:12|24)\s*小时{_CLAIM_TAIL}{{0,4}}"
    rf"|包(?:激活|成功|售后|赔|到账){_CLAIM_TAIL}{{0,4}}"
)
DESCRIPTION = "售后描述"  # the source label of the buyer's own description (pages translate it)
SOURCE_RANK = {"uploaded": 0, "system": 1, "description": 2}  # which source of one finding tells most


# ---- the analysis --------------------------------------------------------------------------


def analyse_case(case_id: int) -> CaseAnalysis | None:
    """Read every item not read yet, then store the case's analysis. Idempotent."""
    started = time.monotonic()
    case = RefundCase.objects.select_related("order", "buyer", "shop").filter(pk=case_id).first()
    if case is None:
        return None
    for item in case.evidence.filter(extract__isnull=True).order_by("seq"):
        extract_item(item)
    items = list(case.evidence.select_related("extract").order_by("seq"))
    return _store(case, items, _result(case, items), started)


def _store(case, items: list[Evidence], result: dict, started: float) -> CaseAnalysis:
    """Keep `result` as the case's analysis of `items` (its evidence in chain order, every item read)."""
    values = {
        "head": items[-1].chain if items else GENESIS,
        "rules_version": rules.RULES_VERSION,
        "result": result,
        "analysed_at": clock_now(),
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
    try:
        with transaction.atomic():
            analysis, _ = CaseAnalysis.objects.update_or_create(case=case, defaults=values)
    except IntegrityError:  # a parallel analysis created it first; ours is as new
        analysis = CaseAnalysis.objects.get(case=case)
        CaseAnalysis.objects.filter(pk=analysis.pk).update(**values)
        analysis.refresh_from_db()
    return analysis


def extract_item(item: Evidence) -> EvidenceExtract | None:
    """Read one item: its text (OCR for pictures) and perceptual hashes. Failures are recorded."""
    values = {"status": "done", "text_source": "", "text": "", "frames": 0, "error": "", "engine": ""}
    hashes: list[tuple[int, object]] = []
    preview_source = None
    try:
        if item.content_type == "text/plain":
            with item.open() as fh:
                data = fh.read(MAX_TEXT_CHARS * 4)
            values.update(text_source="text", text=extract_text(data))
        elif item.content_type in IMAGE_TYPES:
            with item.open() as fh:
                image = media.open_image(fh)
            hashes.append((0, image))
            preview_source = image
            values.update(text_source="ocr", text=ocr.read_text(image), engine=ocr.engine_name(), frames=1)
        elif item.content_type in VIDEO_TYPES:
            with item.open() as fh:
                frames = media.video_frames(fh)
            texts: list[str] = []
            read: list[str] = []
            for frame in frames:  # a still screen gives the same frame thrice: read it once
                h = media.dhash(frame)
                if all(media.hamming(h, seen) > 2 for seen in read):
                    read.append(h)
                    texts.append(ocr.read_text(frame))
            hashes.extend(enumerate(frames))
            preview_source = frames[len(frames) // 2] if frames else None
            values.update(
                text_source="video_ocr",
                text="\n".join(t for t in texts if t)[:MAX_TEXT_CHARS],
                frames=len(frames),
                engine=ocr.engine_name(),
            )
        else:
            values["status"] = "skipped"
    except Exception as exc:
        log.warning("could not read evidence %s: %r", item.pk, exc)
        values.update(status="failed", error=repr(exc)[:200])
    try:
        with transaction.atomic():
            extract = EvidenceExtract(evidence=item, analysed_at=clock_now(), **values)
            if preview_source is not None:
                extract.preview.save(
                    f"{uuid.uuid4().hex}.jpg", ContentFile(media.preview_jpeg(preview_source)), save=False
                )
            extract.save()
            for frame_no, picture in hashes:
                _store_hash(item, frame_no, picture)
    except IntegrityError:  # read in parallel by another analysis
        return EvidenceExtract.objects.filter(evidence=item).first()
    return extract


def preview_file(item: Evidence):
    """The item's derived preview JPEG (a FieldFile), or None: not a picture, or not read yet."""
    extract = EvidenceExtract.objects.filter(evidence=item).first()
    if extract is None and item.content_type in IMAGE_TYPES + VIDEO_TYPES and not settings.BROKER_URL:
        extract = extract_item(item)  # embedded: read it now rather than show nothing
    return extract.preview if extract is not None and extract.preview else None


def _store_hash(item: Evidence, frame: int, image) -> None:
    if media.is_featureless(image):
        return
    d = media.dhash(image)
    b = media.bands(d)
    ImageHash.objects.create(
        evidence=item,
        case_id=item.case_id,
        frame=frame,
        dhash=d,
        fine=media.fine_hash(image),
        band0=b[0],
        band1=b[1],
        band2=b[2],
        band3=b[3],
        band4=b[4],
        band5=b[5],
    )


def _label(item: Evidence) -> str:
    return f"#{item.seq} {item.filename}"


def _result(case, items: list[Evidence]) -> dict:
    order = case.order
    snapshot = order.snapshot or {}
    promises = listing_promises(snapshot)
    findings: list[dict] = []
    plain: list[rules.Finding] = []
    labels: dict[str, str] = {"description": DESCRIPTION}
    source_rank: dict[str, int] = {"description": SOURCE_RANK["description"]}

    def add(found: list[rules.Finding], label: str) -> None:
        for f in found:
            plain.append(f)
            findings.append({**f.as_dict(), "source_label": label})

    add(rules.find_findings(case.description, "description"), DESCRIPTION)
    for item in items:
        extract = getattr(item, "extract", None)
        if extract is None or not extract.text:
            continue
        if item.source == "system" and item.category in ("listing", "transaction"):
            continue  # the platform's own snapshot and record: the promises, not the problem
        labels[str(item.pk)] = _label(item)
        source_rank[str(item.pk)] = SOURCE_RANK["system" if item.source == "system" else "uploaded"]
        add(rules.find_findings(extract.text, str(item.pk)), _label(item))
    for item in items:
        extract = getattr(item, "extract", None)
        if (
            item.category != "problem"
            or extract is None
            or extract.status != "done"
            or extract.text_source not in ("ocr", "video_ocr")
        ):
            continue
        video = extract.text_source == "video_ocr"
        problem = any(f.source == str(item.pk) for f in plain)
        elements = rules.recording_elements(
            extract.text,
            order_number=order.number or "",
            product_name=snapshot.get("title", ""),
            distinct_frames=_distinct_frames(item) if video else 1,
            problem_found=problem,
        )
        findings.append(
            {
                "kind": "recording_elements",
                "text": rules.elements_text(elements, video=video),
                "source": str(item.pk),
                "source_label": _label(item),
                "elements": elements,
            }
        )
    return {
        "checklist": checklist(case, items),
        "promises": promises,
        "findings": findings,
        "contradictions": [
            {**row, "source_label": labels[row["source"]], "also_in": [labels[a] for a in row["also_in"]]}
            for row in rules.contradictions(promises, plain, source_rank)
        ],
    }


def listing_promises(snapshot: dict) -> list[str]:
    """The snapshot's promises, then claims read from its title and description."""
    promises: list[str] = []
    for p in snapshot.get("promises") or []:
        p = str(p).strip()
        if p and p not in promises:
            promises.append(p)
    for text in (snapshot.get("title", ""), snapshot.get("description", "")):
        for m in CLAIM.finditer(text or ""):
            claim = m.group(0).strip()
            if claim and not any(claim in p or p in claim for p in promises):
                promises.append(claim)
    return promises


def checklist(case, items: list[Evidence]) -> dict[str, bool]:
    """The four dimensions (四个维度) of the evidence chain: is each one there?"""
    present = dict.fromkeys(("listing", "transaction", "communication", "problem"), False)
    for item in items:
        if item.category == "communication" and item.source == "system":
            continue  # the platform's chat log counts only when there was a conversation
        present[item.category] = True
    if not present["communication"]:
        present["communication"] = case.order.messages.exists()
    return present


def _distinct_frames(item: Evidence) -> int:
    hashes = [h.dhash for h in item.image_hashes.order_by("frame")]
    distinct: list[str] = []
    for h in hashes:
        if all(media.hamming(h, d) > DISTINCT_FRAME for d in distinct):
            distinct.append(h)
    return len(distinct) or (1 if item.extract.frames else 0)


# ---- cross-case signals (read live: other cases change after this one was analysed) --------


def reused_evidence(case) -> list[dict]:
    """Party uploads of this case that appear, identical or nearly so, in other cases."""
    uploads = list(case.evidence.filter(uploaded_by__isnull=False).order_by("seq"))
    out: dict[tuple[int, int], dict] = {}
    for item in uploads:
        same = (
            Evidence.objects.filter(sha256=item.sha256, uploaded_by__isnull=False)
            .exclude(case_id=case.pk)
            .select_related("case")
            .order_by("id")
        )
        for other in same:
            out.setdefault((item.pk, other.case_id), _reuse(item, other, "identical", 0, case))
    for hashed in ImageHash.objects.filter(evidence__in=uploads).select_related("evidence"):
        b = media.bands(hashed.dhash)
        near = Q(band0=b[0]) | Q(band1=b[1]) | Q(band2=b[2]) | Q(band3=b[3]) | Q(band4=b[4]) | Q(band5=b[5])
        for match in (
            ImageHash.objects.filter(near, evidence__uploaded_by__isnull=False)
            .exclude(case_id=case.pk)
            .select_related("evidence", "evidence__case")
        ):
            if (
                media.hamming(hashed.dhash, match.dhash) <= NEAR_DHASH
                and media.hamming(hashed.fine, match.fine) <= NEAR_FINE
            ):
                key = (hashed.evidence_id, match.case_id)
                if key not in out:
                    out[key] = _reuse(
                        hashed.evidence, match.evidence, "similar", media.hamming(hashed.fine, match.fine), case
                    )
    return sorted(out.values(), key=lambda r: (int(r["evidence"]), int(r["other_case"])))


def _reuse(item: Evidence, other: Evidence, match: str, distance: int, case) -> dict:
    return {
        "evidence": str(item.pk),
        "other_case": str(other.case_id),
        "other_evidence": str(other.pk),
        "match": match,
        "distance": distance,
        "uploaded_by": item.source,
        "same_order": other.case.order_id == case.order_id,
    }


def buyer_risk(case, reused: list[dict] | None = None) -> dict:
    """The buyer's refund history as a score and reasons (恶意退款 context, never a verdict)."""
    since = clock_now() - RISK_WINDOW
    others = RefundCase.objects.filter(buyer_id=case.buyer_id, created_at__gte=since).exclude(pk=case.pk)
    refunded = others.filter(refunded_amount__gt=0)
    reused = reused_evidence(case) if reused is None else reused
    history = rules.BuyerHistory(
        orders=Order.objects.filter(buyer_id=case.buyer_id, created_at__gte=since).exclude(pk=case.order_id).count(),
        cases=others.count(),
        refunded_cases=refunded.count(),
        refunds_after_confirm=refunded.filter(
            order__completed_at__isnull=False, order__completed_at__lt=F("created_at")
        ).count(),
        reused_items=len({r["evidence"] for r in reused if r["uploaded_by"] == "buyer" and not r["same_order"]}),
    )
    return rules.buyer_risk(history)


# ---- what the arbitrator sees --------------------------------------------------------------


def current_head(case) -> str:
    last = case.evidence.order_by("-seq").values_list("chain", flat=True).first()
    return last or GENESIS


def assist_for(case) -> dict:
    """{checklist, promises, findings, contradictions, buyer_risk, reused_evidence} for `case`.

    The stored analysis when it covers the current evidence; otherwise the analysis runs now
    (jobs run in the caller's thread), or is made now from the items and stored when every item
    has been read (the opening's system files: nothing to OCR), or, while a queue or the background
    pool reads the new items, is what can be said from the items already read (no OCR inside a
    page request).
    """
    started = time.monotonic()
    analysis = CaseAnalysis.objects.filter(case=case).first()
    fresh = (
        analysis is not None and analysis.head == current_head(case) and analysis.rules_version == rules.RULES_VERSION
    )
    if analysis is not None and fresh:
        result = dict(analysis.result)
    elif (
        not settings.BROKER_URL and not settings.JOBS_IN_BACKGROUND and (analysed := analyse_case(case.pk)) is not None
    ):
        result = dict(analysed.result)
    else:
        items = list(case.evidence.select_related("extract").order_by("seq"))
        result = _result(case, items)
        if all(getattr(item, "extract", None) is not None for item in items):
            _store(case, items, result, started)  # nothing left to read: this is the analysis
    reused = reused_evidence(case)
    return {
        "checklist": result["checklist"],
        "promises": result["promises"],
        "findings": result["findings"],
        "contradictions": result["contradictions"],
        "buyer_risk": buyer_risk(case, reused),
        "reused_evidence": reused,
    }
