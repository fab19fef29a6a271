from django.contrib import admin
from django.urls import include, path

from kameng.api.routes import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kameng.ops.urls")),  # /healthz, /metrics
    path("", include("kameng.complaints.urls")),  # /refunds/<id>/complaint/ (before the web pages)
    path("", include("kameng.trust.urls")),
    path(
        "", include("kameng.security.urls")
    ),  # /staff/audit/  # /rules/, /merchants/<id>/, /staff/sanctions/ (before the web pages)
    path("", include("kameng.web.urls")),
]
