"""The Django admin behind the staff second factor: the one login page (with its TOTP step) is
kameng's own, and an admin whose session has not passed TOTP (when they have it, or when
KAMENG_STAFF_OTP=required) is treated as not signed in to the admin."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from kameng.accounts.otp import second_factor_satisfied


class StaffAdminSite(admin.AdminSite):
    def has_permission(self, request):
        user = request.user
        verified = user.is_authenticated and user.is_verified()
        return super().has_permission(request) and second_factor_satisfied(user, verified)

    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next") or "/django-admin/")
