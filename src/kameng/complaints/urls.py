"""The buyer's complaint page: /refunds/<id>/complaint/ (channels, profile form, preview, download)."""

from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("refunds/<int:case_id>/complaint/", views.complaint_page, name="page"),
    path("refunds/<int:case_id>/complaint/download", views.complaint_download, name="download"),
]
