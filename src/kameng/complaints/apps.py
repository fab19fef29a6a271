from django.apps import AppConfig


class ComplaintsConfig(AppConfig):
    name = "kameng.complaints"
    label = "complaints"
    verbose_name = "外部维权材料"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the build_complaint job; it reads models, so after app loading)
