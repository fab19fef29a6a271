"""Arbitrator accounts, managed by admins on a staff page (an appeal needs a second arbitrator, so
the platform must be able to add one without a shell). Each change is in the audit log; disabling
an arbitrator signs them out everywhere (an inactive user's sessions and tokens stop working) and
hands back the cases they had taken, so no case waits for someone who is gone."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from kameng.accounts.models import Role, User
from kameng.accounts.services import create_user
from kameng.aftersales.models import CaseStatus, RefundCase
from kameng.errors import DomainError, Error
from kameng.security.audit import record


def arbitrators() -> QuerySet[User]:
    return User.objects.filter(role=Role.ARBITRATOR).order_by("username")


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise DomainError(Error.PERMISSION_DENIED)


def create_arbitrator(*, acting_user: User, username: str, password: str, now: datetime) -> User:
    _require_admin(acting_user)
    with transaction.atomic():
        user = create_user(username, password, Role.ARBITRATOR)
        record(
            "user.create",
            actor=acting_user,
            target=f"user:{user.pk}",
            summary=f"created arbitrator {user.username} on the staff page",
            data={"role": user.role},
            at=now,
        )
    return user


def set_active(*, acting_user: User, arbitrator_id: int, active: bool, now: datetime) -> User:
    """Enable or disable an arbitrator; disabling releases the cases they had claimed."""
    _require_admin(acting_user)
    with transaction.atomic():
        user = arbitrators().select_for_update().filter(pk=arbitrator_id).first()
        if user is None:
            raise DomainError(Error.NOT_FOUND)
        if user.is_active == active:
            return user
        user.is_active = active
        user.save(update_fields=["is_active"])
        released = 0
        if not active:
            released = RefundCase.objects.filter(
                claimed_by=user, status__in=[CaseStatus.IN_ARBITRATION, CaseStatus.IN_APPEAL]
            ).update(claimed_by=None, claimed_at=None)
        record(
            "user.enable" if active else "user.disable",
            actor=acting_user,
            target=f"user:{user.pk}",
            summary=f"{'enabled' if active else 'disabled'} arbitrator {user.username}"
            + (f", {released} claimed case(s) released" if released else ""),
            data={"released_cases": released},
            at=now,
        )
    return user
