from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class KamengUserAdmin(UserAdmin):
    list_display = ("username", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("kameng", {"fields": ("role", "language", "real_name", "phone", "address")}),
    )
