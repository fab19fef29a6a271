from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    name = "kameng.aftersales"
    label = "aftersales"

    def ready(self):
        from . import tasks  # noqa: F401  (registers timer handlers)
