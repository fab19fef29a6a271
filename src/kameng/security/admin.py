"""The audit tables in the Django admin: readable, never editable. The apps whose event tables the
audit log reads register them with ReadOnlyAdmin in their own admin.py."""

from django.contrib import admin
from django.contrib.admin.models import LogEntry

from .models import AuditRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to admins, never editable from the UI (append-only tables)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "type", "actor", "actor_name", "target", "summary")
    list_filter = ("type",)
    search_fields = ("type", "target", "summary", "actor_name", "actor__username")


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdmin):
    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "change_message", "user__username")
