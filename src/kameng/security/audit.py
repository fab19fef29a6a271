"""Recording staff actions that have no event table of their own (policy edits, accounts made from
the CLI, backups, restores) into AuditRecord. The audit log that reads them with every other event
table is kameng.ops.audit."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from kameng.clock.services import now as clock_now

from .models import AuditRecord


def record(
    type: str,
    *,
    actor=None,
    actor_name: str = "",
    target: str = "",
    summary: str = "",
    data=None,
    at: datetime | None = None,
) -> AuditRecord:
    """Append one staff action that has no event table of its own (call inside the action's transaction)."""
    if actor is not None and not isinstance(actor, get_user_model()):
        raise TypeError("actor must be a user or None")
    with transaction.atomic():
        return AuditRecord.objects.create(
            type=type,
            actor=actor,
            actor_name=(actor_name or "")[:150],
            target=target[:128],
            summary=summary[:500],
            data=data or {},
            at=at or clock_now(),
        )
