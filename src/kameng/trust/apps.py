from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "kameng.trust"
    label = "trust"

    def ready(self):
        from . import tasks  # noqa: F401  (registers timer handlers)
