"""Evidence endpoints beside the vault's: the arbitrator's assist (kameng.arbitration) and image previews.

(Upload, download and manifest live with the refund-case endpoints.)
"""

from typing import Annotated

from ninja import Router

from kameng.accounts.models import Role
from kameng.aftersales import precedents
from kameng.aftersales.models import Outcome
from kameng.aftersales.services import get_case_for
from kameng.arbitration.assist import assist_for, preview_file
from kameng.errors import DomainError, Error, is_english
from kameng.ops.storage import download_response

from .contract import Fen, Id, Out, PathId, download, enum_of, raises

router = Router(tags=["evidence"])


class Checklist(Out):
    listing: bool
    transaction: bool
    communication: bool
    problem: bool


class FindingOut(Out):
    kind: str  # error_code, http_error, activation_failed, …, recording_elements
    text: str
    source: str  # an evidence id, or "description"
    source_label: str | None = None  # "#4 error.png", "售后描述"
    elements: dict[str, bool] | None = None  # recording_elements only: the four elements


class ContradictionOut(Out):
    promise: str
    finding: str
    finding_kind: str
    source: str  # the evidence item (or "description") that shows it best
    source_label: str = ""
    also_in: list[str] = []  # the other sources that show the same finding (labels)


class BuyerRiskOut(Out):
    score: int  # 0–100, context only
    reasons: list[str]


class ReusedOut(Out):
    evidence: str  # this case's item
    other_case: str
    other_evidence: str
    match: str  # identical (same SHA-256) | similar (perceptual hash)
    distance: int
    uploaded_by: str
    same_order: bool


class SimilarRuleOut(Out):
    id: str
    text: str


class SimilarCaseOut(Out):
    """A final case like this one (same category and reason, nearest amount) and how it was decided."""

    case: Id
    outcome: Annotated[str, enum_of(Outcome)]
    rule: SimilarRuleOut | None
    requested_amount: Fen
    refunded_amount: Fen


class AssistOut(Out):
    checklist: Checklist
    promises: list[str]
    findings: list[FindingOut]
    contradictions: list[ContradictionOut]
    buyer_risk: BuyerRiskOut
    reused_evidence: list[ReusedOut]
    similar_cases: list[SimilarCaseOut]


@router.get("/refunds/{case_id}/assist", response=AssistOut, exclude_none=True)
@raises(Error.CASE_NOT_FOUND, Error.EVIDENCE_ASSIST_ARBITRATORS_ONLY)
def assist(request, case_id: PathId):
    """Evidence assist (AI证据辅助审核): the four-dimension checklist, the listing's promises,
    findings from OCR, text and the description, promise-vs-finding contradictions, buyer risk
    and reused evidence. Arbitrators and admins; the case's parties get 403, anyone else 404.
    Hints for a human decision, never a decision."""
    case = get_case_for(case_id, request.auth)
    if request.auth.role not in (Role.ARBITRATOR, Role.ADMIN):
        raise DomainError(Error.EVIDENCE_ASSIST_ARBITRATORS_ONLY)
    english = is_english()
    similar = [
        {
            "case": str(p.case_id),
            "outcome": p.outcome,
            "rule": precedents.rule_ref(p, english),
            "requested_amount": p.requested_amount,
            "refunded_amount": p.refunded_amount,
        }
        for p in precedents.similar_to(case)
    ]
    return {**assist_for(case), "similar_cases": similar}


@router.get(
    "/refunds/{case_id}/evidence/{evidence_id}/preview",
    openapi_extra=download("image/jpeg", "A JPEG preview drawn from an image or video item"),
)
@raises(Error.CASE_NOT_FOUND, Error.EVIDENCE_NOT_FOUND, Error.EVIDENCE_PREVIEW_NOT_FOUND)
def preview(request, case_id: PathId, evidence_id: PathId):
    """A small JPEG the platform drew from an image or video item (a separate derived file: the
    original is never altered), safe to show inline. Same audience as the file itself."""
    case = get_case_for(case_id, request.auth)
    item = case.evidence.filter(pk=int(evidence_id)).first()
    if item is None:
        raise DomainError(Error.EVIDENCE_NOT_FOUND)
    fieldfile = preview_file(item)
    if fieldfile is None:
        raise DomainError(Error.EVIDENCE_PREVIEW_NOT_FOUND)
    response = download_response(fieldfile, f"preview-{item.pk}.jpg", "image/jpeg")
    if response.has_header("Content-Disposition"):  # our own re-encoded JPEG may be shown inline
        response["Content-Disposition"] = response["Content-Disposition"].replace("attachment", "inline", 1)
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
