"""Case events in the Django admin, read-only: the audit log reads them (kameng.ops.audit)."""

from django.contrib import admin

from kameng.security.admin import ReadOnlyAdmin

from .models import CaseEvent


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "case", "type", "actor", "actor_role", "from_status", "to_status")
    list_filter = ("type", "actor_role")
