"""Journal entries in the Django admin, read-only: entries are append-only (corrections are reversing entries)."""

from django.contrib import admin

from kameng.security.admin import ReadOnlyAdmin

from .models import JournalEntry


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "actor", "order_id", "case_id", "memo")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "memo", "actor")
