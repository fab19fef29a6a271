"""django.contrib.admin with kameng's site (kameng.web.admin_site): the staff second factor."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "kameng.web.admin_site.StaffAdminSite"
