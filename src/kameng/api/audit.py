"""GET /audit: the audit log, admins only."""

from ninja import Router

from kameng.accounts.models import Role
from kameng.ops import audit

from .base import require_role

router = Router(tags=["audit"])


@router.get("/audit", response=dict)
def audit_log(
    request, q: str = "", actor: str = "", type: str = "", limit: int = 20, starting_after: str | None = None
):
    """Who did what and when: case transitions and decisions, money movements, order events,
    sanctions, Django-admin changes and staff actions, newest first. `type` is a source
    (`case`, `money`, `order`, `sanction`, `admin`, `staff`) or a full type (`money.refund`,
    `case.decide`); `actor` a username or `system`; `q` text or an order / case / shop id."""
    require_role(request, Role.ADMIN)
    return audit.search(q=q, actor=actor, type=type, limit=limit, starting_after=starting_after)
