from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "kameng.complaints"
    label = "complaints"
    verbose_name = _("外部维权材料")

    def ready(self):
        from . import tasks  # noqa: F401  (registers the build_complaint job; it reads models, so after app loading)
