from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sandbox/pay/<int:topup_id>", views.sandbox_pay, name="sandbox-pay"),
]
