"""Trust pages. Included before the web pages, so /rules/ is this richer page."""

from django.urls import path

from . import views

urlpatterns = [
    path("rules/", views.rules_page, name="trust-rules"),
    path("merchants/<int:shop_id>/", views.merchant_profile, name="trust-merchant"),
    path("staff/sanctions/", views.staff_sanctions, name="trust-staff-sanctions"),
]
