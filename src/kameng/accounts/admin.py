from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kameng.security.audit import record

from . import services
from .models import User


@admin.register(User)
class KamengUserAdmin(UserAdmin):
    list_display = ("username", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("kameng", {"fields": ("role", "language", "real_name", "phone", "address")}),
    )
    actions = ["revoke_tokens"]

    @admin.action(description=_("吊销所选用户的全部令牌和登录会话"))
    def revoke_tokens(self, request, queryset):
        """A stolen token or a lost phone: every API token and page session of these users ends."""
        for user in queryset:
            revoked = services.revoke_everywhere(user)
            record(
                "user.revoke_tokens",
                actor=request.user,
                target=f"user:{user.pk}",
                summary=f"revoked {revoked} token(s) and every session of {user.username}",
            )
        count = queryset.count()
        self.message_user(
            request,
            ngettext("已吊销 %(n)d 个用户的令牌。", "已吊销 %(n)d 个用户的令牌。", count) % {"n": count},
        )
