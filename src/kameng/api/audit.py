"""GET /audit: the audit log, admins only."""

from typing import Any

from ninja import Router

from kameng.accounts.models import Role
from kameng.errors import Error
from kameng.ops import audit

from .base import require_role
from .contract import Limit, Out, Timestamp, page_of, raises


class AuditEntry(Out):
    id: str  # "<source>:<id>", e.g. "case:12"
    source: str
    type: str
    actor: str | None
    actor_role: str | None
    at: Timestamp
    target: str | None
    summary: str
    data: dict[str, Any]  # what the source recorded: differs by type


router = Router(tags=["audit"])


@router.get("/audit", response=page_of(AuditEntry))
@raises(Error.WRONG_ROLE, Error.AUDIT_TYPE_INVALID, Error.LIMIT_OUT_OF_RANGE, Error.CURSOR_INVALID)
def audit_log(
    request, q: str = "", actor: str = "", type: str = "", limit: Limit = 20, starting_after: str | None = None
):
    """Who did what and when: case transitions and decisions, money movements, order events,
    sanctions, Django-admin changes and staff actions, newest first. `type` is a source
    (`case`, `money`, `order`, `sanction`, `admin`, `staff`) or a full type (`money.refund`,
    `case.decide`); `actor` a username or `system`; `q` text or an order / case / shop id."""
    require_role(request, Role.ADMIN)
    return audit.search(q=q, actor=actor, type=type, limit=limit, starting_after=starting_after)
