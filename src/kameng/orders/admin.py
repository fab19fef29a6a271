"""Order events in the Django admin, read-only: the audit log reads them (kameng.ops.audit)."""

from django.contrib import admin

from kameng.security.admin import ReadOnlyAdmin

from .models import OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "order", "type", "actor", "actor_role")
    list_filter = ("type",)
