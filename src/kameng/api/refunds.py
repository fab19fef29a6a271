"""Refund-case endpoints: open, act, read, queue, evidence, notifications.

The action routes `POST /refunds/{id}/<action>` are generated from the lifecycle table
(kameng.aftersales.lifecycle.ACTIONS): one route per public action, its body schema built from
the action's input, every one answered by `act`."""

from collections.abc import Callable
from typing import Annotated, Any

from django.db.models import F, Q
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import StrictBool, create_model

from kameng.accounts.models import Role
from kameng.aftersales import lifecycle, services
from kameng.aftersales.models import (
    Actor,
    CaseEvent,
    CaseStatus,
    Notification,
    Outcome,
    Phase,
    Reason,
    RefundCase,
    Resolution,
)
from kameng.catalog.models import Shop
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error, is_english
from kameng.evidence.models import Evidence
from kameng.evidence.services import download_name
from kameng.notify import webhooks
from kameng.ops.storage import download_response

from .base import check_limit, cursor_pk, iso, order_bearer, paginate, require_role
from .contract import (
    Amount,
    Currency,
    Cursor,
    Fen,
    Id,
    IdIn,
    Limit,
    Out,
    PathId,
    Timestamp,
    download,
    enum_of,
    page_of,
    raises,
)

router = Router(tags=["refunds"])


class OpenIn(Schema):
    order: IdIn
    reason: Annotated[str, enum_of(Reason)]
    description: str
    amount: Amount


EvidenceCategory = Annotated[str, enum_of("listing", "transaction", "communication", "problem")]


class EvidenceOut(Out):
    id: Id
    category: EvidenceCategory
    source: Annotated[str, enum_of("buyer", "merchant", "system")]
    filename: str
    content_type: str
    size: int
    sha256: str
    note: str
    uploaded_at: Timestamp


class DecisionRuleOut(Out):
    """The rule a decision applied (GET /policies `rules`; the rules page's #rule-<id>)."""

    id: str
    text: str


class DecisionOut(Out):
    outcome: Annotated[str, enum_of(Outcome)]
    amount: Fen | None
    rationale: str
    arbitrator: Id
    decided_at: Timestamp
    final: bool
    category_rule: str | None
    rule: DecisionRuleOut | None


class AppealOut(Out):
    by: Annotated[str, enum_of(Actor.BUYER, Actor.MERCHANT)]
    reason: str
    decision: DecisionOut | None


class OfferOut(Out):
    amount: Fen


class DeadlinesOut(Out):
    """Each deadline that is running (null otherwise)."""

    merchant_respond_by: Timestamp | None
    buyer_respond_by: Timestamp | None
    decide_by: Timestamp | None
    appeal_by: Timestamp | None
    compromise_respond_by: Timestamp | None


class CaseEventOut(Out):
    type: str
    actor_role: Annotated[str, enum_of(Actor)]
    at: Timestamp
    from_status: str
    to_status: str
    data: dict[str, Any]  # what the event recorded (amounts, reasons…): differs by type


class ReplacementOut(Out):
    """补发: what the merchant sent instead (keys masked for anyone but the parties)."""

    items: list[str]
    content: str | None
    at: Timestamp


class NextStepOut(Out):
    """Who must act next, by when, and what the platform does if nobody does."""

    actor: Annotated[str, enum_of("buyer", "merchant", "arbitrator", "parties")] | None
    due_by: Timestamp | None
    on_timeout: str | None


class CaseOut(Out):
    id: Id
    order: Id
    status: Annotated[str, enum_of(CaseStatus)]
    phase: Annotated[str, enum_of(Phase)]
    reason: Annotated[str, enum_of(Reason)]
    description: str
    requested_amount: Fen
    refunded_amount: Fen
    currency: Currency
    fast_track: bool
    merchant_timed_out: bool
    offer: OfferOut | None
    rejection_reason: str | None
    decision: DecisionOut | None
    appeal: AppealOut | None
    resolution: Annotated[str, enum_of(Resolution)] | None
    deadlines: DeadlinesOut
    overdue: bool
    claimed_by: Id | None
    available_actions: list[Annotated[str, enum_of(*lifecycle.PUBLIC_ACTIONS)]]
    created_at: Timestamp
    closed_at: Timestamp | None
    evidence: list[EvidenceOut]
    events: list[CaseEventOut]
    replacement: ReplacementOut | None
    next_step: NextStepOut


class ManifestItem(Out):
    id: Id
    seq: int
    sha256: str
    prev: str
    chain: str


class ManifestOut(Out):
    """A hash chain over all the case's evidence in upload order; `head` is the last link."""

    items: list[ManifestItem]
    head: str | None


class DeliveredTo(Out):
    channel: str  # "in_app", "email", or a notification channel's kind (telegram, wecom, …)
    to: str  # the address, masked ("b***@example.com"); "" for in-app


class NotificationOut(Out):
    id: Id
    kind: str
    text: str
    case: Id | None
    created_at: Timestamp
    read: bool
    delivered_to: list[DeliveredTo]  # where it was sent: always in-app, and the e-mail / channels it also went to


def evidence_out(item) -> dict:
    return {
        "id": str(item.pk),
        "category": item.category,
        "source": item.source,
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "note": item.note,
        "uploaded_at": iso(item.uploaded_at),
    }


def decision_out(record: dict | None, *, final: bool | None = None) -> dict | None:
    if not record:
        return None
    return {
        "outcome": record["outcome"],
        "amount": record["amount"],
        "rationale": record["rationale"],
        "arbitrator": record["arbitrator"],
        "decided_at": record["decided_at"],
        "final": record.get("final", False) if final is None else final,
        "category_rule": record.get("category_rule"),
        "rule": decision_rule_out(record),
    }


def decision_rule_out(record: dict) -> dict | None:
    """{id, text} of the rule a decision applied, in the caller's language; None when it cited none."""
    if not record.get("rule"):
        return None
    english = is_english()
    return {"id": record["rule"], "text": record.get("rule_text_en" if english else "rule_text") or record["rule"]}


def next_step_out(step: lifecycle.NextStep) -> dict:
    return {"actor": step.actor, "due_by": iso(step.due_by), "on_timeout": step.on_timeout}


def replacement_out(case: RefundCase, user) -> dict | None:
    """补发: what was sent and when. The keys only for the parties (secret like any stock item)."""
    if not case.replacement:
        return None
    items = services.replacement_items(case, user)
    visible = items is not None
    return {
        "items": items if visible else ["******"] * len(case.replacement.get("items") or []),
        "content": case.replacement.get("content")
        if visible
        else ("******" if case.replacement.get("content") else ""),
        "at": case.replacement["at"],
    }


def case_out(case: RefundCase, user, *, now=None, timelines: dict | None = None) -> dict:
    now = now or clock_now()  # lists pass it: one clock read per page
    appeal_decision = case.appeal.get("decision") if case.appeal else None
    # Once an appeal is decided, that decision is the one that stands (and it is final).
    decision = decision_out(appeal_decision, final=True) if appeal_decision else decision_out(case.decision)
    role = services.role_on_case(case, user)
    data = {
        "id": str(case.pk),
        "order": str(case.order_id),
        "status": case.status,
        "phase": case.phase,
        "reason": case.reason,
        "description": case.description,
        "requested_amount": case.requested_amount,
        "refunded_amount": case.refunded_amount,
        "currency": "CNY",
        "fast_track": case.fast_track,
        "merchant_timed_out": case.merchant_timed_out,
        "offer": {"amount": case.offer_amount} if case.offer_amount is not None else None,
        "rejection_reason": case.rejection_reason or None,
        "replacement": replacement_out(case, user),
        "decision": decision,
        "appeal": (
            {
                "by": case.appeal["by"],
                "reason": case.appeal["reason"],
                "decision": decision_out(appeal_decision, final=True),
            }
            if case.appeal
            else None
        ),
        "resolution": case.resolution,
        "deadlines": {
            "merchant_respond_by": iso(case.merchant_respond_by),
            "buyer_respond_by": iso(case.buyer_respond_by),
            "decide_by": iso(case.decide_by),
            "appeal_by": iso(case.appeal_by),
            "compromise_respond_by": iso(case.compromise_respond_by),
        },
        "next_step": next_step_out(lifecycle.next_step(case)),
        "overdue": bool(case.decide_by and case.decide_by < now and case.status in ("in_arbitration", "in_appeal")),
        "claimed_by": str(case.claimed_by_id) if case.claimed_by_id else None,
        "available_actions": lifecycle.offered(case, role, now),
        "created_at": iso(case.created_at),
        "closed_at": iso(case.closed_at),
    }
    if timelines is not None:  # a list page read every case's evidence and events in two queries
        data["evidence"], data["events"] = timelines.get(case.pk, ([], []))
        return data
    evidence, events = services.case_timeline(case.pk)
    data["evidence"] = [_evidence_row_out(*row) for row in evidence]
    data["events"] = [_event_out(*row) for row in events]
    return data


_EVENT_FIELDS = services.EVENT_COLUMNS


def _evidence_row_out(pk, category, source, filename, content_type, size, sha256, note, uploaded_at) -> dict:
    """evidence_out of a services.EVIDENCE_COLUMNS row."""
    return {
        "id": str(pk),
        "category": category,
        "source": source,
        "filename": filename,
        "content_type": content_type,
        "size": size,
        "sha256": sha256,
        "note": note,
        "uploaded_at": iso(uploaded_at),
    }


def _event_out(type_, actor_role, at, from_status, to_status, data) -> dict:
    return {
        "type": type_,
        "actor_role": actor_role,
        "at": iso(at),
        "from_status": from_status,
        "to_status": to_status,
        "data": data,
    }


def _timelines(case_ids: list[int]) -> dict:
    """{case id: (evidence, events)} for a page of cases, as plain rows (no model instances:
    a queue page carries hundreds of events)."""
    out: dict[int, tuple[list, list]] = {pk: ([], []) for pk in case_ids}
    for item in Evidence.objects.filter(case_id__in=case_ids).order_by("case_id", "seq"):
        out[item.case_id][0].append(evidence_out(item))
    for case_id, *row in (
        CaseEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "id").values_list("case_id", *_EVENT_FIELDS)
    ):
        out[case_id][1].append(_event_out(*row))
    return out


@router.post("/refunds", response={201: CaseOut}, auth=order_bearer)  # a guest's lookup_token too
@raises(Error.CASE_BUYER_ONLY, Error.ORDER_NOT_FOUND, Error.CASE_DESCRIPTION_INVALID, Error.CASE_AMOUNT_INVALID)
@raises(Error.CASE_REASON_INVALID, Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, Error.REFUND_WINDOW_CLOSED)
@raises(Error.CASE_ALREADY_OPEN, Error.NO_REASON_NOT_ALLOWED, Error.CASE_ALREADY_SETTLED, Error.REOPEN_LIMIT_REACHED)
def open_case(request, payload: OpenIn):
    """The buyer opens a refund case on an order: the escrow freezes and the merchant must answer."""
    with webhooks.read_once():
        opened = services.open_case_with_rows(
            acting_user=request.auth,
            order_id=payload.order,
            reason=payload.reason,
            description=payload.description,
            amount=payload.amount,
        )
    case = opened.case
    # The new case's whole timeline is what the opening wrote: answered from those rows, not read back.
    timeline = (
        [evidence_out(item) for item in opened.evidence],
        [_event_out(*(getattr(event, name) for name in _EVENT_FIELDS)) for event in opened.events],
    )
    return Status(201, case_out(case, request.auth, timelines={case.pk: timeline}))


def _by_own_shop(qs, user):
    """A merchant's rows filtered by the shop's id too, not only by a join on its owner: the planner
    then walks (shop_id, -id) for one page, instead of every row by id looking for the shop's few."""
    if user.role != Role.MERCHANT:
        return qs
    return qs.filter(shop_id=Shop.objects.filter(owner=user).values_list("pk", flat=True).first())


@router.get("/refunds", response=page_of(CaseOut))
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def list_cases(
    request,
    status: Annotated[str, enum_of(CaseStatus)] | None = None,
    limit: Limit = 20,
    starting_after: Cursor = None,
):
    """The caller's cases (a buyer's, a merchant's shop's; every case for staff), newest first."""
    qs = _by_own_shop(services.visible_cases(request.auth).select_related("shop"), request.auth)
    if status:
        qs = qs.filter(status=status)
    page = paginate(qs, limit, starting_after)
    now, timelines = clock_now(), _timelines([c.pk for c in page["data"]])
    page["data"] = [case_out(c, request.auth, now=now, timelines=timelines) for c in page["data"]]
    return page


class QueueItem(Out):
    """A case as the arbitration queue lists it (the whole case: GET /refunds/{id})."""

    id: Id
    order: Id
    shop: Id
    status: Annotated[str, enum_of(CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL)]
    reason: Annotated[str, enum_of(Reason)]
    requested_amount: Fen
    fast_track: bool
    merchant_timed_out: bool
    overdue: bool
    decide_by: Timestamp | None
    claimed_by: Id | None
    created_at: Timestamp


def queue_item(case: RefundCase, now) -> dict:
    return {
        "id": str(case.pk),
        "order": str(case.order_id),
        "shop": str(case.shop_id),
        "status": case.status,
        "reason": case.reason,
        "requested_amount": case.requested_amount,
        "fast_track": case.fast_track,
        "merchant_timed_out": case.merchant_timed_out,
        "overdue": bool(case.decide_by and case.decide_by < now),
        "decide_by": iso(case.decide_by),
        "claimed_by": str(case.claimed_by_id) if case.claimed_by_id else None,
        "created_at": iso(case.created_at),
    }


@router.get("/arbitration/queue", response=page_of(QueueItem, "QueuePage"))
@raises(Error.WRONG_ROLE, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def queue(request, limit: Limit = 50, starting_after: Cursor = None):
    """Cases waiting for an arbitrator (in_arbitration, in_appeal), earliest `decide_by` first;
    `starting_after` is the last case id of the previous page."""
    require_role(request, Role.ARBITRATOR, Role.ADMIN)
    now = clock_now()
    page = _queue_page(services.arbitration_queue(), limit, starting_after)
    return {"data": [queue_item(c, now) for c in page["data"]], "has_more": page["has_more"]}


def _queue_page(qs, limit: int, starting_after: str | None) -> dict:
    """Keyset paging in the queue's own order (decide_by, id). The cursor is a case id; a case that has
    left the queue since (decided meanwhile) still marks the place, an id that was never a case is 400."""
    check_limit(limit)
    qs = qs.order_by(F("decide_by").asc(nulls_last=True), "id")
    if starting_after:
        after = RefundCase.objects.filter(pk=cursor_pk(starting_after)).values("pk", "decide_by").first()
        if after is None:
            raise DomainError(Error.CURSOR_INVALID, param="starting_after")
        if after["decide_by"] is None:
            qs = qs.filter(decide_by__isnull=True, pk__gt=after["pk"])
        else:
            qs = qs.filter(
                Q(decide_by__gt=after["decide_by"])
                | Q(decide_by=after["decide_by"], pk__gt=after["pk"])
                | Q(decide_by__isnull=True)
            )
    rows = list(qs[: limit + 1])
    return {"data": rows[:limit], "has_more": len(rows) > limit}


@router.get("/refunds/{case_id}", response=CaseOut)
@raises(Error.CASE_NOT_FOUND)
def get_case(request, case_id: PathId):
    """One case: the buyer, the shop's merchant and staff see it; anyone else gets 404."""
    return case_out(services.read_case_for(case_id, request.auth), request.auth)


def act(request, case_id: str, action: str, given: dict[str, Any]) -> dict:
    """Every case action: the case the caller may see, the action through the lifecycle table (the
    case row read once, locked; each webhook endpoint of the merchant read once for all its events)."""
    with webhooks.read_once():
        case = services.act_on(case_id, action, acting_user=request.auth, **given)
    return case_out(case, request.auth)


_FIELD_TYPES: dict[lifecycle.Kind, tuple[Any, Any]] = {
    lifecycle.Kind.TEXT: (str, ...),
    lifecycle.Kind.OPTIONAL_TEXT: (str, ""),
    lifecycle.Kind.AMOUNT: (Amount, ...),
    lifecycle.Kind.OPTIONAL_AMOUNT: (Amount | None, None),
    lifecycle.Kind.CHOICE: (str, ...),
    lifecycle.Kind.FLAG: (StrictBool, ...),
}
# The closed set of each CHOICE field, for the document (the lifecycle row checks the value).
_CHOICES: dict[str, Any] = {"outcome": Annotated[str, enum_of(Outcome)]}
_schemas: dict[str, type[Schema]] = {}


def body_schema(spec: lifecycle.Input) -> type[Schema] | None:
    """The typed request body of an action's input (one schema per name: reject and appeal share ReasonIn)."""
    if not spec.fields:
        return None
    if spec.schema not in _schemas:
        fields = {f.name: _field_type(f) for f in spec.fields}
        _schemas[spec.schema] = create_model(spec.schema, __base__=Schema, **fields)  # type: ignore[call-overload]
    return _schemas[spec.schema]


def _field_type(field: lifecycle.Field) -> tuple[Any, Any]:
    if field.kind == lifecycle.Kind.CHOICE and field.name in _CHOICES:
        return (_CHOICES[field.name], ...)
    return _FIELD_TYPES[field.kind]


def _without_body(action: str) -> Callable:
    def handler(request, case_id: str):
        return act(request, case_id, action, {})

    return handler


def _with_body(action: str, schema: type[Schema], optional: bool) -> Callable:
    """The action with its typed body; a body of optional fields only may be left out."""

    def handler(request, case_id: str, payload: Schema):
        return act(request, case_id, action, payload.model_dump())

    def handler_optional(request, case_id: str, payload: Schema | None = None):
        return act(request, case_id, action, payload.model_dump() if payload else {})

    chosen = handler_optional if optional else handler
    chosen.__annotations__["payload"] = (schema | None) if optional else schema  # ninja reads the body's schema
    return chosen


def _route(action: str, schema: type[Schema] | None) -> None:
    """POST /refunds/{case_id}/<action>, named after the action (its operationId and summary)."""
    optional = all(f.kind == lifecycle.Kind.OPTIONAL_TEXT for f in lifecycle.ACTIONS[action].fields)
    handler = _without_body(action) if schema is None else _with_body(action, schema, optional)
    handler.__name__ = handler.__qualname__ = action
    handler.__doc__ = f"The case action `{action}` (allowed by role and status: see `available_actions`)."
    raises(*ACTION_ERRORS)(handler)
    router.post(f"/refunds/{{case_id}}/{action}", response=CaseOut)(handler)


# Any action: the case must be visible, the role allowed, the status right; and the inputs' own checks.
ACTION_ERRORS = (
    Error.CASE_NOT_FOUND,
    Error.CASE_ROLE_NOT_ALLOWED,
    Error.CASE_ACTION_NOT_ALLOWED,
    Error.OFFER_AMOUNT_INVALID,
    Error.REJECTION_REASON_REQUIRED,
    Error.DECISION_OUTCOME_INVALID,
    Error.DECISION_RULE_UNKNOWN,
    Error.DECISION_RATIONALE_REQUIRED,
    Error.DECISION_AMOUNT_INVALID,
    Error.APPEAL_CONFLICT_OF_INTEREST,
    Error.CASE_ALREADY_CLAIMED,
    Error.APPEAL_ALREADY_USED,
    Error.APPEAL_NEW_EVIDENCE_REQUIRED,
    Error.DECISION_NOT_AGAINST_YOU,
    Error.COMPROMISE_ALREADY_ANSWERED,
    Error.DEADLINE_PASSED,
    Error.OUT_OF_STOCK,
)


for _action in lifecycle.PUBLIC_ACTIONS:
    _route(_action, body_schema(lifecycle.ACTIONS[_action]))


@router.post("/refunds/{case_id}/evidence", response={201: EvidenceOut})
@raises(Error.EVIDENCE_UPLOAD_NOT_ALLOWED, Error.EVIDENCE_CATEGORY_INVALID, Error.EVIDENCE_NOTE_TOO_LONG)
@raises(Error.UPLOAD_FILE_REQUIRED, Error.EVIDENCE_CASE_CLOSED, Error.EVIDENCE_QUOTA_EXCEEDED)
@raises(
    Error.UPLOAD_TOO_LARGE, Error.UPLOAD_IMAGE_TOO_LARGE, Error.UPLOAD_TYPE_UNSUPPORTED, Error.UPLOAD_ACTIVE_CONTENT
)
def upload_evidence(
    request,
    case_id: PathId,
    file: File[UploadedFile] = None,  # type: ignore[assignment]  # missing: the service refuses it (400)
    category: Form[EvidenceCategory] = "problem",
    note: Form[str] = "",
):
    """A party adds evidence (checked by content: PNG, JPEG, WebP, GIF, MP4, WebM, PDF, text; 20 MiB)."""
    case = services.get_case_for(case_id, request.auth)
    item = services.add_evidence(case, acting_user=request.auth, upload=file, category=category, note=note)
    return Status(201, evidence_out(item))


@router.get("/refunds/{case_id}/evidence/manifest", response=ManifestOut)
@raises(Error.CASE_NOT_FOUND)
def manifest(request, case_id: PathId):
    """The evidence hash chain (SHA-256 of each item, chained in upload order)."""
    case = services.get_case_for(case_id, request.auth)
    items = list(case.evidence.order_by("seq"))
    return {
        "items": [{"id": str(e.pk), "seq": e.seq, "sha256": e.sha256, "prev": e.prev, "chain": e.chain} for e in items],
        "head": items[-1].chain if items else None,
    }


@router.get(
    "/refunds/{case_id}/evidence/{evidence_id}/file",
    openapi_extra=download("application/octet-stream", "The evidence file's bytes, as an attachment"),
)
@raises(Error.CASE_NOT_FOUND, Error.EVIDENCE_NOT_FOUND)
def evidence_file(request, case_id: PathId, evidence_id: PathId):
    """The evidence file as uploaded (never altered)."""
    case = services.get_case_for(case_id, request.auth)
    item = case.evidence.filter(pk=int(evidence_id)).first()
    if item is None:
        raise DomainError(Error.EVIDENCE_NOT_FOUND)
    # attachment, nosniff, sandbox CSP; on S3 a redirect to a short-lived presigned URL
    return download_response(item.stored(), download_name(item), item.content_type)


@router.get("/notifications", response=page_of(NotificationOut))
@raises(Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def notifications(request, limit: Limit = 20, starting_after: Cursor = None):
    """The caller's notifications (case updates, deadlines), newest first."""
    qs = Notification.objects.filter(user=request.auth)
    return paginate(
        qs,
        limit,
        starting_after,
        lambda n: {
            "id": str(n.pk),
            "kind": n.kind,
            "text": n.text,
            "case": str(n.case_id) if n.case_id else None,
            "created_at": iso(n.created_at),
            "read": n.read_at is not None,
            "delivered_to": n.delivered_to or [{"channel": "in_app", "to": ""}],
        },
    )
