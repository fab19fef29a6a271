"""Sanction events in the Django admin, read-only: the audit log reads them (kameng.ops.audit)."""

from django.contrib import admin

from kameng.security.admin import ReadOnlyAdmin

from .models import SanctionEvent


@admin.register(SanctionEvent)
class SanctionEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "shop", "from_status", "to_status", "source", "actor")
    list_filter = ("source", "to_status")
