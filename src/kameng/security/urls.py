from django.urls import path

from . import views

urlpatterns = [
    path("staff/audit/", views.audit_page, name="security-audit"),
]
