"""The audit tables in the Django admin: readable, never editable."""

from django.contrib import admin
from django.contrib.admin.models import LogEntry

from .models import AuditRecord


class ReadOnlyAdmin(admin.ModelAdmin):
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


def _register_read_only(model, **options) -> None:
    """The event tables the audit log reads: visible to admins, never editable from the UI."""
    if not admin.site.is_registered(model):
        admin.site.register(model, type(f"{model.__name__}ReadOnlyAdmin", (ReadOnlyAdmin,), options))


def _register_event_tables() -> None:
    from kameng.aftersales.models import CaseEvent
    from kameng.ledger.models import JournalEntry
    from kameng.orders.models import OrderEvent
    from kameng.trust.models import SanctionEvent

    _register_read_only(
        CaseEvent,
        list_display=("at", "case", "type", "actor", "actor_role", "from_status", "to_status"),
        list_filter=("type", "actor_role"),
    )
    _register_read_only(
        JournalEntry,
        list_display=("created_at", "kind", "actor", "order_id", "case_id", "memo"),
        list_filter=("kind",),
        search_fields=("idempotency_key", "memo", "actor"),
    )
    _register_read_only(OrderEvent, list_display=("at", "order", "type", "actor", "actor_role"), list_filter=("type",))
    _register_read_only(
        SanctionEvent,
        list_display=("at", "shop", "from_status", "to_status", "source", "actor"),
        list_filter=("source", "to_status"),
    )


_register_event_tables()
