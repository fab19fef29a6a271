"""Refund-case endpoints: open, act, read, queue, evidence, notifications.

The action routes `POST /refunds/{id}/<action>` are generated from the lifecycle table
(kameng.aftersales.lifecycle.ACTIONS): one route per public action, its body schema built from
the action's input, every one answered by `act`."""

from collections.abc import Callable
from typing import Any

from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import create_model

from kameng.accounts.models import Role
from kameng.aftersales import lifecycle, services
from kameng.aftersales.models import CaseEvent, Notification, RefundCase
from kameng.catalog.models import Shop
from kameng.clock.services import now as clock_now
from kameng.errors import DomainError, Error
from kameng.evidence.models import Evidence
from kameng.evidence.services import download_name
from kameng.ops.storage import download_response

from .base import iso, order_bearer, paginate, require_role

router = Router(tags=["refunds"])


class OpenIn(Schema):
    order: str
    reason: str
    description: str
    amount: int


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
    }


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
    data["evidence"] = [evidence_out(e) for e in case.evidence.order_by("seq")]
    data["events"] = [_event_out(*row) for row in case.events.order_by("id").values_list(*_EVENT_FIELDS)]
    return data


_EVENT_FIELDS = ("type", "actor_role", "at", "from_status", "to_status", "data")


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


@router.post("/refunds", response={201: dict}, auth=order_bearer)  # a guest's lookup_token too
def open_case(request, payload: OpenIn):
    case = services.open_case(
        acting_user=request.auth,
        order_id=payload.order,
        reason=payload.reason,
        description=payload.description,
        amount=payload.amount,
    )
    return Status(201, case_out(case, request.auth))


def _by_own_shop(qs, user):
    """A merchant's rows filtered by the shop's id too, not only by a join on its owner: the planner
    then walks (shop_id, -id) for one page, instead of every row by id looking for the shop's few."""
    if user.role != Role.MERCHANT:
        return qs
    return qs.filter(shop_id=Shop.objects.filter(owner=user).values_list("pk", flat=True).first())


@router.get("/refunds", response=dict)
def list_cases(request, status: str = "", limit: int = 20, starting_after: str | None = None):
    qs = _by_own_shop(services.visible_cases(request.auth).select_related("shop"), request.auth)
    if status:
        qs = qs.filter(status=status)
    page = paginate(qs, limit, starting_after)
    now, timelines = clock_now(), _timelines([c.pk for c in page["data"]])
    page["data"] = [case_out(c, request.auth, now=now, timelines=timelines) for c in page["data"]]
    return page


@router.get("/arbitration/queue", response=dict)
def queue(request, limit: int = 50):
    require_role(request, Role.ARBITRATOR, Role.ADMIN)
    limit = max(1, min(limit, 100))
    cases = list(services.arbitration_queue().select_related("shop")[: limit + 1])
    now, timelines = clock_now(), _timelines([c.pk for c in cases[:limit]])
    return {
        "data": [case_out(c, request.auth, now=now, timelines=timelines) for c in cases[:limit]],
        "has_more": len(cases) > limit,
    }


@router.get("/refunds/{case_id}", response=dict)
def get_case(request, case_id: str):
    return case_out(services.get_case_for(case_id, request.auth), request.auth)


def act(request, case_id: str, action: str, given: dict[str, Any]) -> dict:
    """Every case action: the case the caller may see, the action through the lifecycle table."""
    case = services.get_case_for(case_id, request.auth)
    return case_out(services.act(case, action, acting_user=request.auth, **given), request.auth)


_FIELD_TYPES: dict[lifecycle.Kind, tuple[Any, Any]] = {
    lifecycle.Kind.TEXT: (str, ...),
    lifecycle.Kind.OPTIONAL_TEXT: (str, ""),
    lifecycle.Kind.AMOUNT: (int, ...),
    lifecycle.Kind.OPTIONAL_AMOUNT: (int | None, None),
    lifecycle.Kind.CHOICE: (str, ...),
    lifecycle.Kind.FLAG: (bool, ...),
}
_schemas: dict[str, type[Schema]] = {}


def body_schema(spec: lifecycle.Input) -> type[Schema] | None:
    """The typed request body of an action's input (one schema per name: reject and appeal share ReasonIn)."""
    if not spec.fields:
        return None
    if spec.schema not in _schemas:
        fields = {f.name: _FIELD_TYPES[f.kind] for f in spec.fields}
        _schemas[spec.schema] = create_model(spec.schema, __base__=Schema, **fields)  # type: ignore[call-overload]
    return _schemas[spec.schema]


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
    router.post(f"/refunds/{{case_id}}/{action}", response=dict)(handler)


for _action in lifecycle.PUBLIC_ACTIONS:
    _route(_action, body_schema(lifecycle.ACTIONS[_action]))


@router.post("/refunds/{case_id}/evidence", response={201: dict})
def upload_evidence(
    request,
    case_id: str,
    file: File[UploadedFile] = None,  # type: ignore[assignment]  # missing: the service refuses it (400)
    category: Form[str] = "problem",
    note: Form[str] = "",
):
    case = services.get_case_for(case_id, request.auth)
    item = services.add_evidence(case, acting_user=request.auth, upload=file, category=category, note=note)
    return Status(201, evidence_out(item))


@router.get("/refunds/{case_id}/evidence/manifest", response=dict)
def manifest(request, case_id: str):
    case = services.get_case_for(case_id, request.auth)
    items = list(case.evidence.order_by("seq"))
    return {
        "items": [{"id": str(e.pk), "seq": e.seq, "sha256": e.sha256, "prev": e.prev, "chain": e.chain} for e in items],
        "head": items[-1].chain if items else None,
    }


@router.get("/refunds/{case_id}/evidence/{evidence_id}/file")
def evidence_file(request, case_id: str, evidence_id: str):
    case = services.get_case_for(case_id, request.auth)
    item = case.evidence.filter(pk=int(evidence_id) if evidence_id.isdigit() else -1).first()
    if item is None:
        raise DomainError(Error.EVIDENCE_NOT_FOUND)
    # attachment, nosniff, sandbox CSP; on S3 a redirect to a short-lived presigned URL
    return download_response(item.file, download_name(item), item.content_type)


@router.get("/notifications", response=dict)
def notifications(request, limit: int = 20, starting_after: str | None = None):
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
        },
    )
